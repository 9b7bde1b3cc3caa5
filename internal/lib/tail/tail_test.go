package tail_test

import (
	"testing"
	"time"

	"github.com/silo-dev/silo/internal/lib/tail"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestTakesConsecutiveIDs(t *testing.T) {
	c := tail.New(10, 1, time.Second)
	if n := c.Take([]int64{11, 12, 13}, t0); n != 3 || c.Pos() != 13 {
		t.Fatalf("Take = %d, Pos = %d; want 3, 13", n, c.Pos())
	}
	if n := c.Take(nil, t0); n != 0 || c.Pos() != 13 {
		t.Fatalf("Take(nil) = %d, Pos = %d; want 0, 13", n, c.Pos())
	}
}

// A row committed after a later one is delivered, in order, once the gap
// fills; nothing after the gap goes out before it.
func TestWaitsForALateRow(t *testing.T) {
	c := tail.New(10, 1, 5*time.Second)
	if n := c.Take([]int64{11, 13, 14}, t0); n != 1 || c.Pos() != 11 {
		t.Fatalf("Take = %d, Pos = %d; want 1, 11 (13 waits for 12)", n, c.Pos())
	}
	if n := c.Take([]int64{13, 14}, t0.Add(4*time.Second)); n != 0 || c.Pos() != 11 {
		t.Fatalf("within the grace: Take = %d, Pos = %d; want 0, 11", n, c.Pos())
	}
	if n := c.Take([]int64{12, 13, 14}, t0.Add(4*time.Second)); n != 3 || c.Pos() != 14 {
		t.Fatalf("gap filled: Take = %d, Pos = %d; want 3, 14", n, c.Pos())
	}
}

// A gap that stays open for the grace period (a rolled-back insert) is
// passed; the grace counts from the first time the gap was seen.
func TestPassesAGapAfterTheGrace(t *testing.T) {
	c := tail.New(0, 1, 5*time.Second)
	if n := c.Take([]int64{2, 3, 5}, t0); n != 0 || c.Pos() != 0 {
		t.Fatalf("Take = %d, Pos = %d; want 0, 0", n, c.Pos())
	}
	// Both gaps (before 2, before 5) were first seen at t0: both pass now.
	if n := c.Take([]int64{2, 3, 5, 6}, t0.Add(5*time.Second)); n != 4 || c.Pos() != 6 {
		t.Fatalf("after the grace: Take = %d, Pos = %d; want 4, 6", n, c.Pos())
	}
	// A new gap starts its own wait.
	if n := c.Take([]int64{8}, t0.Add(6*time.Second)); n != 0 {
		t.Fatalf("new gap: Take = %d; want 0", n)
	}
	if n := c.Take([]int64{8}, t0.Add(11*time.Second)); n != 1 || c.Pos() != 8 {
		t.Fatalf("new gap after its grace: Take = %d, Pos = %d; want 1, 8", n, c.Pos())
	}
}

func TestSkip(t *testing.T) {
	c := tail.New(3, 1, time.Hour)
	c.Skip(2)
	if c.Pos() != 3 {
		t.Fatalf("Skip back: Pos = %d, want 3", c.Pos())
	}
	c.Skip(99)
	if n := c.Take([]int64{100}, t0); n != 1 || c.Pos() != 100 {
		t.Fatalf("after Skip(99): Take = %d, Pos = %d; want 1, 100", n, c.Pos())
	}
}

// On a cluster whose ids step by 3, the next id of a writer is 3 on.
func TestStep(t *testing.T) {
	c := tail.New(4, 3, time.Hour)
	if n := c.Take([]int64{7, 10, 13}, t0); n != 3 || c.Pos() != 13 {
		t.Fatalf("Take = %d, Pos = %d; want 3, 13", n, c.Pos())
	}
	if n := c.Take([]int64{17}, t0); n != 0 || c.Pos() != 13 {
		t.Fatalf("Take(17) = %d, Pos = %d; want 0, 13 (16 may come)", n, c.Pos())
	}
}
