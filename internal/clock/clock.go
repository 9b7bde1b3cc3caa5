// Package clock is the one source of the times Silo writes to its
// databases: UTC, truncated to the microsecond that DATETIME(6) keeps, so
// that a value read back compares equal to the value written. It imports
// nothing of Silo's.
package clock

import "time"

// Now is the current time as Silo stores it.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
