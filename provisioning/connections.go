package provisioning

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/internal/lib/secretbox"
	"github.com/silo-dev/silo/tenantdb"
)

// Connections leases tenants' pooled database connections, connecting as
// each tenant's own DB user to the server its database is on; the
// password is decrypted only when a pool opens. Each registered server has
// its own pools and its own cap on open connections (the server's
// connsMax, else the instance's SILO_TENANT_CONNS_MAX), so that a server
// that stops answering holds up only its own tenants' requests.
type Connections struct {
	opts      tenantdb.PoolOptions // for each server's pools; MaxConns is the default cap
	box       *secretbox.Box
	lookup    ServerLookup // the registry, as this instance last read it
	ioTimeout time.Duration
	// shared opens a server's connections of the shared connection mode;
	// nil in the per-tenant mode.
	shared func(ctx context.Context, rec *central.Server, cfg *mysql.Config, capacity int) (*tenantdb.SharedConns, error)

	mu      sync.RWMutex
	servers map[string]*serverConns
	closed  bool
}

// serverConns are one server's tenant connections, as its registry entry
// was when they opened: a changed DSN or cap replaces them.
type serverConns struct {
	dsn    string
	sealed string
	cap    int
	cfg    *mysql.Config // the admin DSN, password included: tenant DSNs derive from it
	pools  *tenantdb.PoolManager
	shared *tenantdb.SharedConns
}

// NewConnections returns Connections whose per-server pools follow opts,
// for the servers lookup finds.
//
// ioTimeout, when not 0, bounds each read and write on a tenant connection:
// a request's context cancels its queries, but database/sql's Commit takes
// no context, so without this a COMMIT to a server that stopped answering
// would hold the request for the driver's default (30 s).
func NewConnections(opts tenantdb.PoolOptions, box *secretbox.Box, lookup ServerLookup, ioTimeout time.Duration) *Connections {
	if opts.MaxConns <= 0 {
		opts.MaxConns = 100
	}
	return &Connections{opts: opts, box: box, lookup: lookup, ioTimeout: ioTimeout, servers: map[string]*serverConns{}}
}

// UseShared switches c to the shared connection mode: every lease is a
// connection of the tenant's server's shared login (opened by open)
// switched to the tenant's role (tenantdb.RoleFor its DB user) and
// database.
func (c *Connections) UseShared(open func(ctx context.Context, rec *central.Server, cfg *mysql.Config, capacity int) (*tenantdb.SharedConns, error)) *Connections {
	c.shared = open
	return c
}

func poolKey(t *central.Tenant) string { return t.ID + "/" + t.DBUser }

// Forget closes t's pool (once its leases are released), so that the next
// request connects afresh: after its DB account was repaired.
func (c *Connections) Forget(t *central.Tenant) {
	c.mu.RLock()
	sc := c.servers[t.Server]
	c.mu.RUnlock()
	if sc != nil && sc.pools != nil {
		sc.pools.Forget(poolKey(t))
	}
}

// Lease borrows t's pool for one request; release the lease when done.
func (c *Connections) Lease(ctx context.Context, t *central.Tenant) (*tenantdb.Lease, error) {
	sc, err := c.of(ctx, t.Server)
	if err != nil {
		return nil, err
	}
	if sc.shared != nil {
		role, err := tenantdb.RoleFor(t.DBUser)
		if err != nil {
			return nil, apperr.Wrap(apperr.Internal, "INTERNAL", "Internal server error", err)
		}
		return sc.shared.Lease(role, t.DatabaseName)
	}
	return sc.pools.Acquire(tenantdb.Credentials{
		Key: poolKey(t),
		Open: func() (*mysql.Config, error) {
			pw, err := c.box.Open(t.DBPasswordEnc, []byte(t.DBUser))
			if err != nil {
				return nil, apperr.Wrap(apperr.Internal, "INTERNAL", "Internal server error", err)
			}
			cfg := tenantdb.TenantConfig(sc.cfg, t.DatabaseName, t.DBUser, string(pw))
			if c.ioTimeout > 0 {
				cfg.ReadTimeout, cfg.WriteTimeout = c.ioTimeout, c.ioTimeout
			}
			return cfg, nil
		},
	})
}

// errServerDisabled answers for the tenants of a disabled server.
func errServerDisabled(name string) error {
	return apperr.New(apperr.Unavailable, "DATABASE_UNAVAILABLE", "The tenant's database server ("+name+") is disabled")
}

// of returns the connections of the server name, opening them (or
// replacing them, when its registry entry changed) as needed.
func (c *Connections) of(ctx context.Context, name string) (*serverConns, error) {
	rec, err := c.lookup(ctx, name)
	if errors.Is(err, central.ErrServerNotFound) {
		return nil, unavailableServer(name, err) // removed from the registry under its tenant
	}
	if err != nil {
		return nil, err
	}
	if rec.Status == central.ServerDisabled {
		return nil, errServerDisabled(name)
	}
	capacity := rec.ConnsMax
	if capacity <= 0 {
		capacity = c.opts.MaxConns
	}
	c.mu.RLock()
	sc := c.servers[name]
	c.mu.RUnlock()
	if sc != nil && sc.dsn == rec.DSN && sc.sealed == string(rec.PasswordEnc) && sc.cap == capacity {
		return sc, nil
	}
	return c.replace(ctx, rec, capacity)
}

// replace opens a server's connections as rec describes them and closes
// the ones they replace (leased pools close when their leases end).
func (c *Connections) replace(ctx context.Context, rec *central.Server, capacity int) (*serverConns, error) {
	cfg, err := ServerConfig(c.box, rec)
	if err != nil {
		return nil, apperr.Wrap(apperr.Internal, "INTERNAL", "Internal server error", err)
	}
	sc := &serverConns{dsn: rec.DSN, sealed: string(rec.PasswordEnc), cap: capacity, cfg: cfg}
	if c.shared != nil {
		if sc.shared, err = c.shared(ctx, rec, cfg, capacity); err != nil {
			return nil, unavailableServer(rec.Name, err)
		}
	} else {
		o := c.opts
		o.MaxConns = capacity
		sc.pools = tenantdb.NewPoolManager(o)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		sc.close()
		return nil, tenantdb.ErrClosed
	}
	old := c.servers[rec.Name]
	if old != nil && old.dsn == sc.dsn && old.sealed == sc.sealed && old.cap == sc.cap {
		c.mu.Unlock() // another request got there first
		sc.close()
		return old, nil
	}
	c.servers[rec.Name] = sc
	c.mu.Unlock()
	if old != nil {
		old.close()
	}
	return sc, nil
}

func (sc *serverConns) close() {
	if sc.pools != nil {
		sc.pools.Close()
	}
	if sc.shared != nil {
		sc.shared.Close()
	}
}

// Stats sums every server's figures (in the shared mode, its shared
// connections').
func (c *Connections) Stats() tenantdb.PoolStats {
	var s tenantdb.PoolStats
	for _, st := range c.StatsByServer() {
		s.Pools += st.Pools
		s.OpenConns += st.OpenConns
		s.InUse += st.InUse
		s.Evictions += st.Evictions
		s.Waits += st.Waits
	}
	return s
}

// StatsByServer are the figures of each server this instance connected to.
func (c *Connections) StatsByServer() map[string]tenantdb.PoolStats {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make(map[string]tenantdb.PoolStats, len(c.servers))
	for name, sc := range c.servers {
		if sc.pools != nil {
			out[name] = sc.pools.Stats()
			continue
		}
		st := sc.shared.Stats()
		out[name] = tenantdb.PoolStats{OpenConns: st.OpenConns, InUse: st.OpenConns - st.Idle, Waits: st.Waits}
	}
	return out
}

// SharedStats are the shared connection mode's figures of the server
// name; false when this instance holds no shared connections there.
func (c *Connections) SharedStats(name string) (tenantdb.SharedStats, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if sc := c.servers[name]; sc != nil && sc.shared != nil {
		return sc.shared.Stats(), true
	}
	return tenantdb.SharedStats{}, false
}

// Close closes every server's connections and refuses new leases.
func (c *Connections) Close() {
	c.mu.Lock()
	servers := c.servers
	c.servers, c.closed = map[string]*serverConns{}, true
	c.mu.Unlock()
	for _, sc := range servers {
		sc.close()
	}
}
