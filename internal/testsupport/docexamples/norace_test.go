//go:build !race

package docexamples_test

// raceEnabled: the tests run without the race detector.
const raceEnabled = false
