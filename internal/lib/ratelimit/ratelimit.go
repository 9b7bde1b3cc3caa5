// Package ratelimit limits events per key (a client IP, an email) with token
// buckets from golang.org/x/time/rate, keeping memory bounded however many
// distinct keys an attacker invents.
package ratelimit

import (
	"maps"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Keyed holds one token bucket per key.
type Keyed struct {
	limit   rate.Limit
	burst   int
	maxKeys int
	now     func() time.Time

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// PerMinute returns a limiter allowing n events per minute per key, in bursts
// of up to n. It forgets idle keys once it holds maxKeys, and never holds
// more than 2×maxKeys.
func PerMinute(n, maxKeys int) *Keyed {
	return &Keyed{
		limit:   rate.Limit(float64(n) / 60),
		burst:   n,
		maxKeys: maxKeys,
		now:     time.Now,
		buckets: map[string]*rate.Limiter{},
	}
}

// Allow takes one event for key. When the bucket is empty it returns false
// and how long until the next event would be allowed.
func (k *Keyed) Allow(key string) (bool, time.Duration) {
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	// Only full buckets are idle: they behave exactly like new ones. A
	// bucket that has been drawn on is never forgotten, so cycling through
	// many keys cannot reset a limited key's budget; new keys are refused
	// instead while 2×maxKeys buckets are in use, which bounds memory.
	lim, ok := entry(k.buckets, key, k.maxKeys,
		func(lim *rate.Limiter) bool { return lim.TokensAt(now) >= float64(k.burst) },
		func() *rate.Limiter { return rate.NewLimiter(k.limit, k.burst) })
	if !ok {
		// Every remembered key has drawn on its budget recently:
		// forgetting one would hand it a fresh budget, so new keys wait
		// until buckets refill.
		return false, time.Second
	}
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// entry returns m's state for key, made by fresh when key is new. Every
// limiter remembers about max keys: a new key that finds max of them first
// forgets the idle ones; with twice max still remembered it gets no state
// and ok is false, and the caller decides what that means.
func entry[V any](m map[string]V, key string, max int, idle func(V) bool, fresh func() V) (v V, ok bool) {
	if v, ok = m[key]; ok {
		return v, true
	}
	if len(m) >= max {
		maps.DeleteFunc(m, func(_ string, v V) bool { return idle(v) })
	}
	if len(m) >= 2*max {
		return v, false
	}
	v = fresh()
	m[key] = v
	return v, true
}

// Len is the number of keys currently remembered.
func (k *Keyed) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.buckets)
}
