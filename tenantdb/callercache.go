package tenantdb

import (
	"container/list"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// CallerCache keeps authenticated callers in memory, per tenant: a user
// with its active flag, roles and permissions (keyed by user id), or an API
// key with the permissions its chain of creators leaves it (keyed by the
// key's hash), so that a request with a known caller reads nothing from the
// tenant database to authenticate.
//
// It holds at most a fixed number of entries (least recently used dropped
// first) and each for at most its TTL. An entry is tagged with its tenant's
// generation, counted up by every change to what the tenant's callers may
// do: at once by this instance's own changes (Store methods that change
// authorization), and by AuthChanged when another instance's change is
// polled from the central database. An entry of an older generation is
// never served.
//
// The cache trusts itself only while it follows the other instances:
// AuthFollowed says every change committed before a time has been reported,
// and entries are stored and served only within followWindow of the last
// such time. When polls stop (the central database is away, or no poller
// runs at all), every request reads its caller from the tenant database
// again, as without a cache.
type CallerCache struct {
	ttl      time.Duration
	shards   [cacheShards]cacheShard
	seed     maphash.Seed
	followed atomic.Int64 // unix nanoseconds: every change before it is known
	now      func() time.Time

	hits, misses atomic.Int64
}

// followWindow is how long after the start of its last successful poll the
// cache keeps trusting its entries. A change committed before a poll began
// is reported by that poll, so an instance serves nothing older than a
// change committed followWindow ago: under the 1 s promised to other
// instances, while tolerating polls (every 250 ms) that take up to 650 ms.
const followWindow = 900 * time.Millisecond

const cacheShards = 16

type cacheShard struct {
	mu      sync.Mutex
	max     int
	lru     *list.List // of *cacheEntry, most recently used first
	entries map[cacheKey]*list.Element
	gens    map[string]uint64 // tenant id → generation; absent = 0
}

type cacheKey struct {
	tenant string
	kind   byte // 'u' user id, 'k' API key hash
	id     string
}

type cacheEntry struct {
	key     cacheKey
	gen     uint64
	expires int64 // unix nanoseconds
	user    *cachedUser
	apiKey  *cachedKey
}

// cachedUser is a user as Authenticate found it (password hash left out).
type cachedUser struct {
	user         User
	roles, perms []string
}

// cachedKey is an API key as AuthenticateKey found it.
type cachedKey struct {
	key      APIKey
	perms    []string
	chain    int
	lastUsed atomic.Int64 // unix nanoseconds of the last recorded use
}

// NewCallerCache returns a cache of at most entries callers, each kept at
// most ttl. It serves nothing until AuthFollowed is first called.
func NewCallerCache(entries int, ttl time.Duration) *CallerCache {
	c := &CallerCache{ttl: ttl, seed: maphash.MakeSeed(), now: time.Now}
	per := max(1, entries/cacheShards)
	for i := range c.shards {
		c.shards[i] = cacheShard{max: per, lru: list.New(), entries: map[cacheKey]*list.Element{}, gens: map[string]uint64{}}
	}
	return c
}

// AuthChanged drops every cached caller of the tenant: what its callers
// may do has changed.
func (c *CallerCache) AuthChanged(tenantID string) {
	if c == nil {
		return
	}
	s := c.shard(tenantID)
	s.mu.Lock()
	s.gens[tenantID]++
	s.mu.Unlock()
}

// AuthFollowed records that every change committed before at has been
// reported through AuthChanged.
func (c *CallerCache) AuthFollowed(at time.Time) {
	if c == nil {
		return
	}
	for {
		old := c.followed.Load()
		if at.UnixNano() <= old || c.followed.CompareAndSwap(old, at.UnixNano()) {
			return
		}
	}
}

// Stats returns the authentications answered from the cache (hits) and
// those read from the tenant database while the cache was in use (misses).
func (c *CallerCache) Stats() (hits, misses int64) {
	if c == nil {
		return 0, 0
	}
	return c.hits.Load(), c.misses.Load()
}

// Len returns the number of entries held.
func (c *CallerCache) Len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += s.lru.Len()
		s.mu.Unlock()
	}
	return n
}

func (c *CallerCache) shard(tenantID string) *cacheShard {
	return &c.shards[maphash.String(c.seed, tenantID)%cacheShards]
}

// trusted reports whether the cache may be used now.
func (c *CallerCache) trusted(now time.Time) bool {
	return c != nil && c.ttl > 0 && now.UnixNano()-c.followed.Load() < int64(followWindow)
}

// lookup returns the live entry for key, or nil and the tenant's current
// generation, which a read from the database must be stored under (see
// store). ok is false when the cache must not be used at all.
func (c *CallerCache) lookup(key cacheKey) (e *cacheEntry, gen uint64, ok bool) {
	if c == nil || key.tenant == "" {
		return nil, 0, false
	}
	now := c.now()
	if !c.trusted(now) {
		return nil, 0, false
	}
	s := c.shard(key.tenant)
	s.mu.Lock()
	defer s.mu.Unlock()
	gen = s.gens[key.tenant]
	if el, found := s.entries[key]; found {
		e = el.Value.(*cacheEntry)
		if e.gen == gen && now.UnixNano() < e.expires {
			s.lru.MoveToFront(el)
			c.hits.Add(1)
			return e, gen, true
		}
		s.lru.Remove(el)
		delete(s.entries, key)
	}
	c.misses.Add(1)
	return nil, gen, true
}

// store keeps e, read from the database under generation gen, unless the
// tenant's authorization changed since (its generation moved) or the cache
// stopped following meanwhile.
func (c *CallerCache) store(e *cacheEntry, gen uint64, expires time.Time) {
	now := c.now()
	if !c.trusted(now) {
		return
	}
	e.gen = gen
	// (Compared as times: UnixNano overflows past the year 2262.)
	e.expires = earliest(now.Add(c.ttl), expires).UnixNano()
	s := c.shard(e.key.tenant)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gens[e.key.tenant] != gen {
		return
	}
	if el, found := s.entries[e.key]; found {
		s.lru.Remove(el)
	}
	s.entries[e.key] = s.lru.PushFront(e)
	for s.lru.Len() > s.max {
		old := s.lru.Back()
		s.lru.Remove(old)
		delete(s.entries, old.Value.(*cacheEntry).key)
	}
}
