//go:build chaos && !race

package chaos

// raceEnabled: the tests run without the race detector.
const raceEnabled = false
