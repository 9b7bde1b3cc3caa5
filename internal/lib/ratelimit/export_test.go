package ratelimit

import "time"

// SetClock makes f and b read the time from now (tests only).
func SetClock(f *Failures, b *Backoff, now func() time.Time) {
	if f != nil {
		f.now = now
	}
	if b != nil {
		b.now = now
	}
}
