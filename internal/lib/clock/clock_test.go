package clock_test

import (
	"testing"
	"time"

	"github.com/silo-dev/silo/internal/lib/clock"
)

func TestNowIsStorable(t *testing.T) {
	before := time.Now().Add(-time.Microsecond)
	n := clock.Now()
	if n.Location() != time.UTC {
		t.Errorf("Now() in %v, want UTC", n.Location())
	}
	if n.Nanosecond()%1000 != 0 {
		t.Errorf("Now() = %v keeps nanoseconds that DATETIME(6) would drop", n)
	}
	if n.Before(before) || n.After(time.Now()) {
		t.Errorf("Now() = %v is not the current time", n)
	}
}
