package central

import (
	"context"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// TenantCache answers tenant lookups by slug and by custom domain, and
// database-server lookups by name, from memory. It holds the whole catalog (minus deleted tenants), so an unknown
// slug or domain is answered without touching the central database however
// many random names a client invents. It reloads when the catalog version
// moves: at once after a change made through this instance's Catalog, and
// within one poll interval after a change made by another instance.
type TenantCache struct {
	catalog *Catalog

	snap atomic.Pointer[snapshot]
	// changes counts catalog changes seen (this instance's, and other
	// instances' found by Run); a snapshot is current while its gen, the
	// count when its load began, is still the count.
	changes  atomic.Int64
	reload   singleflight.Group
	failedAt atomic.Int64 // unix nanoseconds of the last failed reload

	hits, misses atomic.Int64
}

type snapshot struct {
	gen      int64
	version  int64
	bySlug   map[string]*Tenant
	byDomain map[string]*Tenant
	servers  map[string]*Server
}

// reloadTimeout bounds one reload of the catalog.
const reloadTimeout = time.Second

// NewTenantCache returns a cache over catalog; call Run to follow other
// instances' changes.
func NewTenantCache(catalog *Catalog) *TenantCache {
	c := &TenantCache{catalog: catalog}
	catalog.OnChange(func() { c.changes.Add(1) })
	return c
}

// BySlug returns the tenant with slug, or ErrTenantNotFound.
func (c *TenantCache) BySlug(ctx context.Context, slug string) (*Tenant, error) {
	s, err := c.current(ctx)
	if err != nil {
		return nil, err
	}
	return c.found(s.bySlug[slug])
}

// Server returns the registered database server name, or
// ErrServerNotFound.
func (c *TenantCache) Server(ctx context.Context, name string) (*Server, error) {
	s, err := c.current(ctx)
	if err != nil {
		return nil, err
	}
	if srv := s.servers[name]; srv != nil {
		return srv, nil
	}
	return nil, ErrServerNotFound
}

// ByDomain returns the tenant a custom domain is mapped to, or ErrTenantNotFound.
func (c *TenantCache) ByDomain(ctx context.Context, domain string) (*Tenant, error) {
	s, err := c.current(ctx)
	if err != nil {
		return nil, err
	}
	return c.found(s.byDomain[domain])
}

func (c *TenantCache) found(t *Tenant) (*Tenant, error) {
	if t == nil {
		c.misses.Add(1)
		return nil, ErrTenantNotFound
	}
	c.hits.Add(1)
	return t, nil
}

// Stats returns lookups answered with a tenant (hits) and without (misses).
func (c *TenantCache) Stats() (hits, misses int64) { return c.hits.Load(), c.misses.Load() }

// current returns the snapshot, reloading it first if a change happened
// since its load began. Concurrent reloads are coalesced into one query; a
// request that joins a reload begun before the change it must see waits
// for the next one.
func (c *TenantCache) current(ctx context.Context) (*snapshot, error) {
	want := c.changes.Load()
	s := c.snap.Load()
	if s != nil && s.gen >= want {
		return s, nil
	}
	if s != nil && time.Since(time.Unix(0, c.failedAt.Load())) < time.Second {
		// The central DB failed us a moment ago: serve the last snapshot
		// rather than make every request wait for it again.
		return s, nil
	}
	for attempt := 0; attempt < 3; attempt++ {
		v, err, _ := c.reload.Do("reload", func() (any, error) {
			gen := c.changes.Load()
			// A reload serves many requests: it does not die with the one
			// that started it, but it is bounded, so a hanging central DB
			// costs each request at most reloadTimeout before the last
			// snapshot answers.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reloadTimeout)
			defer cancel()
			s, err := c.load(rctx)
			if err != nil {
				c.failedAt.Store(time.Now().UnixNano())
				return nil, err
			}
			s.gen = gen
			if old := c.snap.Load(); old == nil || old.gen <= gen {
				c.snap.Store(s)
			}
			return s, nil
		})
		if err != nil {
			// Keep serving the last snapshot through a central-DB outage.
			if s := c.snap.Load(); s != nil {
				return s, nil
			}
			return nil, err
		}
		if s := v.(*snapshot); s.gen >= want {
			return s, nil
		}
	}
	return c.snap.Load(), nil
}

func (c *TenantCache) load(ctx context.Context) (*snapshot, error) {
	version, err := c.catalog.Version(ctx)
	if err != nil {
		return nil, err
	}
	ts, err := c.catalog.TenantsByStatus(ctx, StatusProvisioning, StatusActive, StatusSuspended, StatusFailed)
	if err != nil {
		return nil, err
	}
	servers, err := c.catalog.Servers(ctx)
	if err != nil {
		return nil, err
	}
	s := &snapshot{version: version, bySlug: make(map[string]*Tenant, len(ts)), byDomain: map[string]*Tenant{},
		servers: make(map[string]*Server, len(servers))}
	for i := range servers {
		s.servers[servers[i].Name] = &servers[i]
	}
	byID := make(map[string]*Tenant, len(ts))
	for i := range ts {
		s.bySlug[ts[i].Slug] = &ts[i]
		byID[ts[i].ID] = &ts[i]
	}
	var domains []struct {
		TenantID string `db:"tenant_id"`
		Domain   string `db:"domain"`
	}
	if err := c.catalog.db.SelectContext(ctx, &domains, "SELECT tenant_id, domain FROM tenant_domains"); err != nil {
		return nil, translate(err)
	}
	for _, d := range domains {
		if t := byID[d.TenantID]; t != nil {
			t.Domains = append(t.Domains, d.Domain)
			s.byDomain[d.Domain] = t
		}
	}
	return s, nil
}

// Run polls the catalog version every interval until ctx ends and marks
// the cache stale when another instance changed the catalog.
func (c *TenantCache) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		v, err := c.catalog.Version(ctx)
		if err != nil {
			continue // the central DB is away; keep the last snapshot
		}
		if s := c.snap.Load(); s == nil || s.version != v {
			c.changes.Add(1)
		}
	}
}
