// Package ratelimit limits events per key (a client IP, an email) with token
// buckets from golang.org/x/time/rate, keeping memory bounded however many
// distinct keys an attacker invents.
package ratelimit

import (
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
	lim, ok := k.buckets[key]
	if !ok {
		if len(k.buckets) >= k.maxKeys {
			k.sweep(now)
		}
		if len(k.buckets) >= 2*k.maxKeys {
			// Every remembered key has drawn on its budget recently:
			// forgetting one would hand it a fresh budget, so new keys wait
			// until buckets refill.
			return false, time.Second
		}
		lim = rate.NewLimiter(k.limit, k.burst)
		k.buckets[key] = lim
	}
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweep forgets full buckets, which behave exactly like new ones. It never
// forgets a bucket that has been drawn on, so cycling through many keys
// cannot reset a limited key's budget; Allow refuses new keys instead while
// 2×maxKeys buckets are in use, which bounds memory.
func (k *Keyed) sweep(now time.Time) {
	for key, lim := range k.buckets {
		if lim.TokensAt(now) >= float64(k.burst) {
			delete(k.buckets, key)
		}
	}
}

// Len is the number of keys currently remembered.
func (k *Keyed) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.buckets)
}
