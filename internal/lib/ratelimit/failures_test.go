package ratelimit_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/silo-dev/silo/internal/lib/ratelimit"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestFailuresRefundedAttemptsAreFree(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	f := ratelimit.NewFailures(2, 100)
	ratelimit.SetClock(f, nil, c.now)
	for range 50 {
		if ok, _ := f.Take("k"); !ok {
			t.Fatal("refunded attempts used the budget")
		}
		f.Refund("k")
	}
	for range 2 {
		if ok, _ := f.Take("k"); !ok {
			t.Fatal("failure within the budget refused")
		}
	}
	ok, wait := f.Take("k")
	if ok || wait <= 0 || wait > 30*time.Second {
		t.Fatalf("third failure: ok %v, wait %v; want refused with a wait of at most 30s", ok, wait)
	}
	c.t = c.t.Add(30 * time.Second)
	if ok, _ := f.Take("k"); !ok {
		t.Fatal("token not back after 30s at 2 a minute")
	}
	if ok, _ := f.Take("other"); !ok {
		t.Fatal("keys are not independent")
	}
}

func TestFailuresMemoryBounded(t *testing.T) {
	t.Parallel()
	f := ratelimit.NewFailures(1, 10)
	for i := range 1000 {
		f.Take(fmt.Sprint(i))
	}
	if n := f.Len(); n > 20 {
		t.Fatalf("%d keys remembered, want at most 20", n)
	}
	if ok, _ := f.Take("0"); ok {
		t.Fatal("a spent key got a fresh budget after a flood of new keys")
	}
}

func TestBackoffDoubles(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	b := ratelimit.NewBackoff(3, 100)
	ratelimit.SetClock(nil, b, c.now)
	fail := func() {
		t.Helper()
		if ok, wait := b.Take("acct"); !ok {
			t.Fatalf("refused (wait %v), want admitted", wait)
		}
		b.Done("acct", true)
	}
	for range 2 {
		fail()
	}
	// A success neither counts nor resets.
	if ok, _ := b.Take("acct"); !ok {
		t.Fatal("refused within the free budget")
	}
	b.Done("acct", false)
	want := time.Second
	for range 5 {
		fail()
		ok, wait := b.Take("acct")
		if ok || wait != want {
			t.Fatalf("after a failure over the budget: ok %v, wait %v; want refused for %v", ok, wait, want)
		}
		c.t = c.t.Add(wait)
		want *= 2
	}
	c.t = c.t.Add(time.Hour)
	for range 3 {
		fail() // the window passed: the budget is whole again
	}
}

func TestBackoffOneAtATimeOverBudget(t *testing.T) {
	t.Parallel()
	b := ratelimit.NewBackoff(2, 100)
	admitted := 0
	for range 100 {
		if ok, _ := b.Take("acct"); ok {
			admitted++
		}
	}
	if admitted != 2 {
		t.Fatalf("%d attempts in flight admitted, want 2 (the free budget)", admitted)
	}
}
