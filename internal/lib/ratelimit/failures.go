package ratelimit

import (
	"sync"
	"time"
)

// Failures is a failures-only budget per key: a token bucket of n tokens
// refilling at n per minute, from which an attempt takes a token before it
// runs (so that parallel attempts cannot overshoot) and gives it back with
// Refund when it did not fail. Only failed attempts therefore use the
// budget, and an attempt is refused, before it costs anything, while the
// key's failures have used it up.
type Failures struct {
	interval time.Duration // time for one token to come back
	burst    float64
	maxKeys  int
	now      func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// NewFailures returns a budget of n failures per minute per key, in bursts
// of up to n. Like PerMinute, it forgets full buckets once it holds maxKeys
// and never holds more than 2×maxKeys.
func NewFailures(n, maxKeys int) *Failures {
	return &Failures{interval: time.Minute / time.Duration(max(n, 1)), burst: float64(n), maxKeys: maxKeys,
		now: time.Now, buckets: map[string]*bucket{}}
}

func (f *Failures) fill(b *bucket, now time.Time) {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(f.burst, b.tokens+float64(d)/float64(f.interval))
	}
	b.at = now
}

// Take takes one token for key. With none left it returns false and how
// long until one is back.
func (f *Failures) Take(key string) (bool, time.Duration) {
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := entry(f.buckets, key, f.maxKeys,
		func(b *bucket) bool { f.fill(b, now); return b.tokens >= f.burst },
		func() *bucket { return &bucket{tokens: f.burst, at: now} })
	if !ok {
		// As in Keyed: forgetting a drawn-on key would hand it a fresh
		// budget, so new keys wait.
		return false, time.Second
	}
	f.fill(b, now)
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) * float64(f.interval))
	}
	b.tokens--
	return true, 0
}

// Refund gives back the token an attempt took with Take when it did not
// fail.
func (f *Failures) Refund(key string) {
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	if b, ok := f.buckets[key]; ok {
		f.fill(b, now)
		b.tokens = min(f.burst, b.tokens+1)
	}
}

// Len is the number of keys currently remembered.
func (f *Failures) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.buckets)
}

// Backoff throttles the failures at one key (an account) from every source
// together. The first Free failures within Window of each other cost
// nothing; from then on each failure locks the key for Base·2^(n−Free),
// capped at Max, and attempts during the lock are refused. Once the key is
// at its free budget at most one attempt runs at a time, so that a
// parallel burst cannot overshoot the budget.
type Backoff struct {
	Free              int
	Base, Max, Window time.Duration
	MaxKeys           int
	now               func() time.Time

	mu      sync.Mutex
	strikes map[string]*strike
}

type strike struct {
	failures, pending int
	last, until       time.Time
}

// NewBackoff returns a Backoff with the given free failures, a 1 s base
// lock, a 15 min cap and window, remembering about maxKeys keys.
func NewBackoff(free, maxKeys int) *Backoff {
	return &Backoff{Free: free, Base: time.Second, Max: 15 * time.Minute, Window: 15 * time.Minute,
		MaxKeys: maxKeys, now: time.Now, strikes: map[string]*strike{}}
}

// Take admits one attempt at key, or returns false and how long until the
// next attempt may run. Every admitted attempt must end with Done.
func (b *Backoff) Take(key string) (bool, time.Duration) {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := entry(b.strikes, key, b.MaxKeys,
		func(s *strike) bool { return s.pending == 0 && now.Sub(s.last) > b.Window && !now.Before(s.until) },
		func() *strike { return &strike{} })
	if !ok {
		// Full of keys with recent failures: this key is not counted
		// (the per-source budgets still hold), rather than every new
		// account being refused.
		return true, 0
	}
	if s.pending == 0 && now.Sub(s.last) > b.Window {
		s.failures, s.until = 0, time.Time{}
	}
	if now.Before(s.until) {
		return false, s.until.Sub(now)
	}
	if s.pending > 0 && s.failures+s.pending >= b.Free {
		return false, b.Base
	}
	s.pending++
	return true, 0
}

// Done ends an attempt admitted by Take; failed says whether it failed.
func (b *Backoff) Done(key string, failed bool) {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.strikes[key]
	if !ok {
		return
	}
	if s.pending > 0 {
		s.pending--
	}
	if !failed {
		return
	}
	s.failures++
	s.last = now
	if over := s.failures - b.Free; over >= 0 {
		lock := b.Max
		if over < 30 && b.Base<<over < b.Max {
			lock = b.Base << over
		}
		s.until = now.Add(lock)
	}
}

// Len is the number of keys currently remembered.
func (b *Backoff) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.strikes)
}
