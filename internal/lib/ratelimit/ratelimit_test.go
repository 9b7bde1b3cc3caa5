package ratelimit_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/silo-dev/silo/internal/lib/ratelimit"
)

// allowN calls Allow n times for key and fails unless every call is allowed
// with no wait.
func allowN(tb testing.TB, l *ratelimit.Keyed, key string, n int) {
	tb.Helper()
	for i := range n {
		ok, wait := l.Allow(key)
		if !ok {
			tb.Fatalf("Allow(%q) #%d denied (wait %v), want allowed", key, i+1, wait)
		}
		if wait != 0 {
			tb.Errorf("Allow(%q) #%d allowed with wait %v, want 0", key, i+1, wait)
		}
	}
}

// denied calls Allow for key, fails unless it is denied, and returns the wait.
func denied(tb testing.TB, l *ratelimit.Keyed, key string) time.Duration {
	tb.Helper()
	ok, wait := l.Allow(key)
	if ok {
		tb.Fatalf("Allow(%q) allowed, want denied", key)
	}
	return wait
}

func TestBurstThenDenied(t *testing.T) {
	t.Parallel()
	// Leeway for the time that passes between the burst and the check.
	const slack = 50 * time.Millisecond
	for _, n := range []int{1, 2, 5, 20, 60} {
		t.Run(fmt.Sprintf("%d per minute", n), func(t *testing.T) {
			t.Parallel()
			l := ratelimit.PerMinute(n, 100)
			allowN(t, l, "k", n)
			wait := denied(t, l, "k")
			interval := time.Minute / time.Duration(n)
			if wait <= 0 {
				t.Errorf("retry-after = %v, want > 0", wait)
			}
			if wait > interval+slack {
				t.Errorf("retry-after = %v, want at most %v (60s/%d)", wait, interval, n)
			}
			if wait < interval-time.Second {
				t.Errorf("retry-after = %v, want about %v (60s/%d)", wait, interval, n)
			}
		})
	}
}

func TestDeniedAttemptsDoNotConsume(t *testing.T) {
	t.Parallel()
	l := ratelimit.PerMinute(3, 100)
	allowN(t, l, "k", 3)
	first := denied(t, l, "k")
	for range 20 {
		if w := denied(t, l, "k"); w > first {
			t.Fatalf("retry-after grew from %v to %v: denied attempts are being charged", first, w)
		}
	}
	if first > 20*time.Second {
		t.Errorf("retry-after = %v, want at most 20s", first)
	}
}

func TestKeysAreIndependent(t *testing.T) {
	t.Parallel()
	l := ratelimit.PerMinute(2, 100)
	allowN(t, l, "alice", 2)
	denied(t, l, "alice")
	allowN(t, l, "bob", 2)
	denied(t, l, "bob")
	allowN(t, l, "", 2) // the empty key is a key like any other
	denied(t, l, "alice")
	if got := l.Len(); got != 3 {
		t.Errorf("Len() = %d, want 3", got)
	}
}

func TestLimitersAreIndependent(t *testing.T) {
	t.Parallel()
	a := ratelimit.PerMinute(1, 10)
	b := ratelimit.PerMinute(1, 10)
	allowN(t, a, "k", 1)
	denied(t, a, "k")
	allowN(t, b, "k", 1)
}

func TestMemoryBounded(t *testing.T) {
	t.Parallel()
	const maxKeys = 100
	l := ratelimit.PerMinute(5, maxKeys)
	allowed, denied := 0, 0
	for i := range 10_000 {
		key := fmt.Sprintf("10.0.%d.%d", i/256, i%256)
		if ok, wait := l.Allow(key); ok {
			allowed++
		} else {
			denied++
			if wait <= 0 {
				t.Fatalf("denied key %q without a retry-after", key)
			}
		}
		if n := l.Len(); n > 2*maxKeys {
			t.Fatalf("after %d keys Len() = %d, want <= %d", i+1, n, 2*maxKeys)
		}
	}
	// Buckets drawn on within the last minute are all remembered, so once
	// 2×maxKeys are in use, new keys are refused rather than old ones forgotten.
	if allowed != 2*maxKeys || denied != 10_000-2*maxKeys {
		t.Errorf("allowed %d, denied %d; want %d allowed", allowed, denied, 2*maxKeys)
	}
}

// A flood of new keys must not make the limiter forget a limited key.
func TestFloodCannotResetLimitedKey(t *testing.T) {
	t.Parallel()
	l := ratelimit.PerMinute(3, 50)
	allowN(t, l, "victim@example.com", 3)
	denied(t, l, "victim@example.com")
	for i := range 5_000 {
		l.Allow(fmt.Sprintf("junk-%d@example.com", i))
	}
	denied(t, l, "victim@example.com")
}

func TestMemoryBoundedConcurrent(t *testing.T) {
	t.Parallel()
	const maxKeys = 100
	l := ratelimit.PerMinute(3, maxKeys)
	var wg sync.WaitGroup
	var over atomic.Int64
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1_000 {
				l.Allow(fmt.Sprintf("g%d-%d", g, i))
				if n := l.Len(); n > 2*maxKeys {
					over.Store(int64(n))
				}
			}
		}()
	}
	wg.Wait()
	if n := over.Load(); n != 0 {
		t.Errorf("Len() reached %d, want <= %d", n, 2*maxKeys)
	}
}

func TestConcurrentSameKey(t *testing.T) {
	t.Parallel()
	const n = 50
	l := ratelimit.PerMinute(n, 100)
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if ok, _ := l.Allow("shared"); ok {
					allowed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	// 200 attempts against a burst of 50; refill adds under one token per
	// second, so only a slow machine sees more than the burst.
	if got := allowed.Load(); got < n || got > n+2 {
		t.Errorf("%d of 200 concurrent attempts allowed, want %d", got, n)
	}
}
