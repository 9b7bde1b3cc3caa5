package tenantdb

import (
	"container/list"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
	"golang.org/x/sync/semaphore"

	"github.com/silo-dev/silo/internal/apperr"
	"github.com/silo-dev/silo/internal/dberr"
)

// PoolOptions bound the tenant connection pools of one Silo instance.
type PoolOptions struct {
	MaxPools int // open pools (LRU); default 1000
	MaxConns int // open tenant connections across all pools, never exceeded; default 100
	// Per pool at most MaxOpenPerPool open and MaxIdlePerPool idle
	// connections, default 1 and 1: a connection above the idle limit is
	// closed after its query, and reopening costs far more than waiting for
	// the tenant's one connection (measured with cmd/silo-load: 100
	// tenants, cap 100: 1/1 gives 0 evictions and 1.7x the requests/s of 4/1).
	MaxOpenPerPool  int
	MaxIdlePerPool  int
	ConnMaxIdleTime time.Duration // default 30s
	ConnMaxLifetime time.Duration // default 30m
	// AcquireTimeout bounds the wait for a connection slot when MaxConns
	// are all open; the request then fails with DATABASE_UNAVAILABLE.
	AcquireTimeout time.Duration // default 5s
}

func (o *PoolOptions) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.MaxPools, 1000)
	def(&o.MaxConns, 100)
	def(&o.MaxOpenPerPool, 1)
	def(&o.MaxIdlePerPool, 1)
	if o.MaxOpenPerPool > o.MaxConns {
		o.MaxOpenPerPool = o.MaxConns
	}
	if o.MaxIdlePerPool > o.MaxOpenPerPool {
		o.MaxIdlePerPool = o.MaxOpenPerPool
	}
	if o.ConnMaxIdleTime <= 0 {
		o.ConnMaxIdleTime = 30 * time.Second
	}
	if o.ConnMaxLifetime <= 0 {
		o.ConnMaxLifetime = 30 * time.Minute
	}
	if o.AcquireTimeout <= 0 {
		o.AcquireTimeout = 5 * time.Second
	}
}

// PoolStats are the pool manager's figures, for metrics.
type PoolStats struct {
	Pools     int   // open pools
	OpenConns int   // open tenant connections
	InUse     int   // connections in use
	Evictions int64 // pools evicted since start
	Waits     int64 // connection opens that had to wait for a slot
}

// PoolManager keeps one connection pool per tenant, each connected as that
// tenant's own DB user, bounded in number (LRU) and in total connections.
type PoolManager struct {
	opts  PoolOptions
	slots *semaphore.Weighted // one per open tenant connection

	mu        sync.Mutex
	pools     map[string]*pool   // by tenant key
	lru       *list.List         // of *pool, most recent first
	draining  map[*pool]struct{} // evicted pools still leased
	open      int                // open connections
	held      int                // slots taken: open connections and those closed moments ago
	lastWait  time.Time          // when a connection last had to wait for a slot
	evictions int64
	waits     int64
	closed    bool
}

// pool is one tenant's *sqlx.DB with its in-flight lease count.
type pool struct {
	key      string
	db       *sqlx.DB
	elem     *list.Element
	inflight int
	evicted  bool
}

// NewPoolManager returns a PoolManager.
func NewPoolManager(o PoolOptions) *PoolManager {
	o.defaults()
	return &PoolManager{
		opts: o, slots: semaphore.NewWeighted(int64(o.MaxConns)),
		pools: map[string]*pool{}, lru: list.New(), draining: map[*pool]struct{}{},
	}
}

// Lease is a tenant's pool borrowed for one request. Release it when done;
// a pool evicted meanwhile is closed only after its last lease is released.
type Lease struct {
	DB   *sqlx.DB
	pm   *PoolManager
	p    *pool
	once sync.Once
}

// Release returns the lease.
func (l *Lease) Release() { l.once.Do(func() { l.pm.release(l.p) }) }

// Credentials say how to reach one tenant's database.
type Credentials struct {
	Key  string                        // identifies the pool; change it when credentials change
	Open func() (*mysql.Config, error) // the DSN of the tenant's own DB user, asked only to open a pool
}

// ErrClosed is returned by Acquire after Close.
var ErrClosed = apperr.New(apperr.Unavailable, "DATABASE_UNAVAILABLE", "The server is shutting down")

// Acquire leases the pool for creds, opening it if needed. Pools are cheap
// to open (no connection is made until a query needs one; creds.Open only
// decrypts and builds a DSN), so concurrent first requests simply share the
// one pool created under the lock.
func (pm *PoolManager) Acquire(creds Credentials) (*Lease, error) {
	pm.mu.Lock()
	defer pm.mu.Unlock()
	if pm.closed {
		return nil, ErrClosed
	}
	p, ok := pm.pools[creds.Key]
	if !ok {
		cfg, err := creds.Open()
		if err != nil {
			return nil, err
		}
		db, err := pm.openPool(cfg)
		if err != nil {
			return nil, err
		}
		p = &pool{key: creds.Key, db: db}
		p.elem = pm.lru.PushFront(p)
		pm.pools[creds.Key] = p
		pm.evictOverflow()
	} else {
		pm.lru.MoveToFront(p.elem)
	}
	p.inflight++
	return &Lease{DB: p.db, pm: pm, p: p}, nil
}

func (pm *PoolManager) openPool(cfg *mysql.Config) (*sqlx.DB, error) {
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(&boundedConnector{Connector: conn, pm: pm})
	db.SetMaxOpenConns(pm.opts.MaxOpenPerPool)
	db.SetMaxIdleConns(pm.opts.MaxIdlePerPool)
	db.SetConnMaxIdleTime(pm.opts.ConnMaxIdleTime)
	db.SetConnMaxLifetime(pm.opts.ConnMaxLifetime)
	return sqlx.NewDb(db, "mysql"), nil
}

// evictOverflow removes least recently used pools beyond MaxPools. The
// caller holds pm.mu.
func (pm *PoolManager) evictOverflow() {
	for pm.lru.Len() > pm.opts.MaxPools {
		pm.evict(pm.lru.Back().Value.(*pool))
	}
}

// evict removes p from the manager; it is closed now if idle, else when its
// last lease is released. The caller holds pm.mu.
func (pm *PoolManager) evict(p *pool) {
	pm.lru.Remove(p.elem)
	delete(pm.pools, p.key)
	p.evicted = true
	pm.evictions++
	if p.inflight == 0 {
		go p.db.Close()
	} else {
		pm.draining[p] = struct{}{}
	}
}

func (pm *PoolManager) release(p *pool) {
	pm.mu.Lock()
	defer pm.mu.Unlock()
	p.inflight--
	if p.evicted && p.inflight == 0 {
		delete(pm.draining, p)
		go p.db.Close()
	}
}

// reclaim evicts idle pools, least recently used first, so that their idle
// connections free slots for a tenant that needs one. It evicts at most
// n pools.
func (pm *PoolManager) reclaim(n int) {
	pm.mu.Lock()
	defer pm.mu.Unlock()
	for e := pm.lru.Back(); e != nil && n > 0; {
		prev := e.Prev()
		if p := e.Value.(*pool); p.inflight == 0 {
			pm.evict(p)
			n--
		}
		e = prev
	}
}

// Forget closes the pool for key (after its leases), e.g. when a tenant is
// suspended or its credentials change.
func (pm *PoolManager) Forget(key string) {
	pm.mu.Lock()
	defer pm.mu.Unlock()
	if p, ok := pm.pools[key]; ok {
		pm.evict(p)
	}
}

// Stats returns current figures.
func (pm *PoolManager) Stats() PoolStats {
	pm.mu.Lock()
	defer pm.mu.Unlock()
	s := PoolStats{Pools: pm.lru.Len(), OpenConns: pm.open, Evictions: pm.evictions, Waits: pm.waits}
	for e := pm.lru.Front(); e != nil; e = e.Next() {
		s.InUse += e.Value.(*pool).db.Stats().InUse
	}
	for p := range pm.draining {
		s.InUse += p.db.Stats().InUse
	}
	return s
}

// Close closes every pool (leased ones when released) and refuses new leases.
func (pm *PoolManager) Close() {
	pm.mu.Lock()
	defer pm.mu.Unlock()
	pm.closed = true
	for _, p := range pm.pools {
		pm.evict(p)
	}
}

// ErrNoConnection is returned when no tenant connection slot frees up in time.
var ErrNoConnection = apperr.New(apperr.Unavailable, "DATABASE_UNAVAILABLE", "All tenant database connections are busy, retry later")

// boundedConnector takes a global slot for every connection it opens and
// gives it back when the connection closes, so that all pools together
// never hold more than MaxConns connections.
type boundedConnector struct {
	driver.Connector
	pm *PoolManager
}

func (c *boundedConnector) Connect(ctx context.Context) (driver.Conn, error) {
	pm := c.pm
	if !pm.slots.TryAcquire(1) {
		pm.mu.Lock()
		pm.waits++
		pm.lastWait = time.Now()
		pm.mu.Unlock()
		if err := pm.waitForSlot(ctx); err != nil {
			return nil, err
		}
	}
	pm.mu.Lock()
	pm.held++
	// Under pressure (someone waited within the last second), keep a few
	// slots free ahead of demand: a closed connection holds its slot for
	// serverCloseLag, which a request should not have to wait out. Without
	// pressure, connections stay open: tenants that fit are never churned.
	if pm.opts.MaxConns-pm.held < headroom(pm.opts.MaxConns) && time.Since(pm.lastWait) < time.Second {
		go pm.reclaim(1)
	}
	pm.mu.Unlock()
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		pm.mu.Lock()
		pm.held--
		pm.mu.Unlock()
		pm.slots.Release(1)
		return nil, accountError(err)
	}
	pm.mu.Lock()
	pm.open++
	pm.mu.Unlock()
	return &boundedConn{Conn: conn, pm: pm}, nil
}

// waitForSlot waits for a free connection slot. Connections above a
// pool's idle limit close within moments of their query; if none frees up,
// idle connections of other tenants hold the slots, so the least recently
// used idle pool is closed, one at a time, until a slot frees or the
// AcquireTimeout passes.
func (pm *PoolManager) waitForSlot(ctx context.Context) error {
	deadline := time.Now().Add(pm.opts.AcquireTimeout)
	for {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Millisecond)
		err := pm.slots.Acquire(wctx, 1)
		cancel()
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case time.Now().After(deadline):
			return ErrNoConnection
		}
		pm.reclaim(1)
	}
}

// boundedConn releases its slot once when closed.
type boundedConn struct {
	driver.Conn
	pm     *PoolManager
	closed sync.Once
}

func (c *boundedConn) Close() error {
	err := c.Conn.Close()
	c.closed.Do(func() {
		// The server ends its side of the session a moment after the
		// client hangs up; hold the slot that long so that the server never
		// sees more than MaxConns of our connections at once.
		c.pm.mu.Lock()
		c.pm.open--
		c.pm.mu.Unlock()
		time.AfterFunc(serverCloseLag, func() {
			c.pm.mu.Lock()
			c.pm.held--
			c.pm.mu.Unlock()
			c.pm.slots.Release(1)
		})
	})
	return err
}

// headroom is how many slots the manager tries to keep free.
func headroom(maxConns int) int { return max(1, maxConns/8) }

// serverCloseLag is how long a closed connection keeps its slot.
const serverCloseLag = 20 * time.Millisecond

// IsUnavailable reports whether err means the tenant's database cannot be
// reached now (for a 503).
func IsUnavailable(err error) bool {
	return errors.Is(err, ErrNoConnection) || dberr.IsUnavailable(err)
}

// The server's refusals of the tenant's own account (see AccountError) are
// turned into TENANT_UNAVAILABLE where connections are opened and queries
// run, so that every tenant request answers 503 with the cause logged,
// whichever handler ran the query.
//
// The driver's connection implements these optional interfaces; forwarding
// them keeps database/sql on its fast paths (one round trip per query with
// interpolated parameters, session reset, validity checks).
var (
	_ driver.ConnBeginTx        = (*boundedConn)(nil)
	_ driver.ConnPrepareContext = (*boundedConn)(nil)
	_ driver.QueryerContext     = (*boundedConn)(nil)
	_ driver.ExecerContext      = (*boundedConn)(nil)
	_ driver.Pinger             = (*boundedConn)(nil)
	_ driver.SessionResetter    = (*boundedConn)(nil)
	_ driver.Validator          = (*boundedConn)(nil)
	_ driver.NamedValueChecker  = (*boundedConn)(nil)
)

func (c *boundedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
	return tx, accountError(err)
}

func (c *boundedConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	return st, accountError(err)
}

func (c *boundedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
	return rows, accountError(err)
}

func (c *boundedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	res, err := c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
	return res, accountError(err)
}

func (c *boundedConn) Ping(ctx context.Context) error { return c.Conn.(driver.Pinger).Ping(ctx) }

func (c *boundedConn) ResetSession(ctx context.Context) error {
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c *boundedConn) IsValid() bool { return c.Conn.(driver.Validator).IsValid() }

func (c *boundedConn) CheckNamedValue(nv *driver.NamedValue) error {
	return c.Conn.(driver.NamedValueChecker).CheckNamedValue(nv)
}
