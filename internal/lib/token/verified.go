package token

import (
	"hash/maphash"
	"sync"
	"time"
)

// Clock makes Keys read the time from now (tests move it).
func Clock(now func() time.Time) Option {
	return func(k *Keys) { k.now = now }
}

// verifyLeeway is the clock skew Verify allows on exp, nbf and iat.
const verifyLeeway = 30 * time.Second

// Cached returns Keys that verify as k does, and remember up to entries
// tokens they accepted (by their exact text and audience) until the
// tokens expire: a client that sends the same token with every request
// costs one signature check and one claims parse per token, not per
// request. Only tokens that passed every check are kept, so garbage costs
// the full check each time and fills nothing. What Verify decides beyond
// the token's own claims (a retired key, the lifetime policy) is fixed
// for the life of Keys, so a remembered answer stays right until exp.
func (k *Keys) Cached(entries int) *Keys {
	c := *k
	c.verified = newVerifiedCache(entries)
	return &c
}

// verifiedCache holds accepted tokens' claims in shards, each evicting
// its oldest entry when full.
type verifiedCache struct {
	seed   maphash.Seed
	shards [16]verifiedShard
}

type verifiedKey struct{ raw, audience string }

type verifiedShard struct {
	mu     sync.Mutex
	claims map[verifiedKey]*Claims
	order  []verifiedKey // a ring: order[next] is the oldest once full
	next   int
}

func newVerifiedCache(entries int) *verifiedCache {
	per := max(entries/16, 1)
	c := &verifiedCache{seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i] = verifiedShard{claims: make(map[verifiedKey]*Claims, per), order: make([]verifiedKey, 0, per)}
	}
	return c
}

func (c *verifiedCache) shard(raw string) *verifiedShard {
	return &c.shards[maphash.String(c.seed, raw)%uint64(len(c.shards))]
}

// get returns a copy of the claims of an accepted token, unless it has
// expired since (exp plus the leeway before now).
func (c *verifiedCache) get(raw, audience string, now time.Time) (*Claims, bool) {
	s := c.shard(raw)
	s.mu.Lock()
	claims, ok := s.claims[verifiedKey{raw, audience}]
	s.mu.Unlock()
	if !ok || now.After(claims.ExpiresAt.Add(verifyLeeway)) {
		return nil, false
	}
	cp := *claims
	return &cp, true
}

func (c *verifiedCache) put(raw, audience string, claims *Claims) {
	key := verifiedKey{raw, audience}
	cp := *claims
	s := c.shard(raw)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.claims[key]; ok {
		return
	}
	if len(s.order) < cap(s.order) {
		s.order = append(s.order, key)
	} else {
		delete(s.claims, s.order[s.next])
		s.order[s.next] = key
		s.next = (s.next + 1) % len(s.order)
	}
	s.claims[key] = &cp
}
