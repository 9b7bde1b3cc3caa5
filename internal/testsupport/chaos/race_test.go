//go:build chaos && race

package chaos

// raceEnabled: the tests run under the race detector, so the silo binary
// they start is built with it too.
const raceEnabled = true
