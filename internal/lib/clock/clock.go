// Package clock is the one source of the times Silo writes to its
// databases: UTC, truncated to the microsecond that DATETIME(6) keeps, so
// that a value read back compares equal to the value written. It imports
// nothing of Silo's.
package clock

import "time"

// Now is the current time as Silo stores it.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Clock gives the time Silo stores. Services hold one so that tests can
// fix it; System is the real one.
type Clock func() time.Time

// System is the real clock: Now.
var System Clock = Now
