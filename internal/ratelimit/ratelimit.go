// Package ratelimit limits events per key (a client IP, an email) with token
// buckets from golang.org/x/time/rate, keeping memory bounded however many
// distinct keys an attacker invents.
package ratelimit

import (
	"math"
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
// of up to n, remembering at most maxKeys keys.
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

// sweep forgets full buckets: they behave exactly like new ones. If every
// bucket is in use, it forgets half of them: under a flood of distinct keys
// an attacker gains a fresh bucket, which is no more than a new key gives.
func (k *Keyed) sweep(now time.Time) {
	for key, lim := range k.buckets {
		if lim.TokensAt(now) >= float64(k.burst) {
			delete(k.buckets, key)
		}
	}
	if len(k.buckets) < k.maxKeys {
		return
	}
	drop := int(math.Ceil(float64(len(k.buckets)) / 2))
	for key := range k.buckets {
		if drop == 0 {
			break
		}
		delete(k.buckets, key)
		drop--
	}
}

// Len is the number of keys currently remembered.
func (k *Keyed) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.buckets)
}
