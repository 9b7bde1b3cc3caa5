//go:build race

package docexamples_test

// raceEnabled: the tests run under the race detector, so the silo binary
// they run is built with it too.
const raceEnabled = true
