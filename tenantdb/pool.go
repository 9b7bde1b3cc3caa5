package tenantdb

import (
	"container/list"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
	"golang.org/x/sync/semaphore"

	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/internal/lib/dberr"
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
//
// A connection that finds every slot taken waits on the slots semaphore,
// which hands a freed slot to the longest waiter. Slots free when
// connections close; when the slots that are about to free (lagging,
// doomed) are fewer than the waiters, idle pools holding connections are
// evicted, least recently used first, at the moment a waiter arrives or a
// lease leaves a pool idle: no one polls.
type PoolManager struct {
	opts  PoolOptions
	slots *semaphore.Weighted // one per open tenant connection
	wg    sync.WaitGroup      // pool closes and slot releases under way; Close waits for them

	mu        sync.Mutex
	pools     map[string]*pool   // by tenant key
	lru       *list.List         // of *pool, most recent first
	draining  map[*pool]struct{} // evicted pools still leased
	open      int                // open connections
	held      int                // slots taken: open connections and those closed moments ago
	waiting   int                // connections waiting for a slot
	lagging   int                // slots of connections closed moments ago, about to free
	doomed    int                // open connections of pools being closed, about to free their slots
	lastWait  time.Time          // when a connection last had to wait for a slot
	evictions int64
	waits     int64
	closed    bool
}

// pool is one tenant's *sqlx.DB with its in-flight lease count. open and
// doomed are guarded by PoolManager.mu.
type pool struct {
	key      string
	db       *sqlx.DB
	elem     *list.Element
	inflight int
	open     int  // open connections
	doomed   int  // of those, how many were open when the pool started closing
	evicted  bool // out of the manager
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
// In the shared connection mode (SharedConns) DB is bound to one shared
// connection, which Release resets and gives back.
type Lease struct {
	DB       *sqlx.DB
	pm       *PoolManager // nil for a shared connection's lease
	p        *pool
	released atomic.Bool
}

// Release returns the lease; releasing it again does nothing.
func (l *Lease) Release() {
	if !l.released.CompareAndSwap(false, true) {
		return
	}
	if l.pm == nil {
		_ = l.DB.Close()
		return
	}
	l.pm.release(l.p)
}

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
	lease := &Lease{pm: pm} // allocated before the lock every request takes
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
		p = &pool{key: creds.Key}
		if p.db, err = pm.openPool(cfg, p); err != nil {
			return nil, err
		}
		p.elem = pm.lru.PushFront(p)
		pm.pools[creds.Key] = p
		pm.evictOverflow()
	} else {
		pm.lru.MoveToFront(p.elem)
	}
	p.inflight++
	lease.DB, lease.p = p.db, p
	return lease, nil
}

func (pm *PoolManager) openPool(cfg *mysql.Config, p *pool) (*sqlx.DB, error) {
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(&boundedConnector{Connector: conn, pm: pm, p: p})
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
		pm.closePool(p)
	} else {
		pm.draining[p] = struct{}{}
	}
}

// closePool closes p, which has no lease left, in a goroutine that Close
// waits for. The caller holds pm.mu and the manager is not closed.
func (pm *PoolManager) closePool(p *pool) {
	pm.doom(p)
	pm.wg.Go(func() { p.db.Close() })
}

// doom counts p's open connections as about to close. The caller holds
// pm.mu.
func (pm *PoolManager) doom(p *pool) {
	p.doomed = p.open
	pm.doomed += p.open
}

func (pm *PoolManager) release(p *pool) {
	pm.mu.Lock()
	p.inflight--
	switch {
	case p.inflight > 0:
	case !p.evicted:
		pm.reclaimForWaiters()
	case pm.closed:
		// A lease that outlived Close: its holder closes the pool, as no
		// goroutine may outlive Close.
		delete(pm.draining, p)
		pm.doom(p)
		pm.mu.Unlock()
		p.db.Close()
		return
	default:
		delete(pm.draining, p)
		pm.closePool(p)
	}
	pm.mu.Unlock()
}

// reclaimOne evicts the least recently used idle pool that holds
// connections, so that closing them frees slots for a tenant that needs
// one. It reports false if there is none. The caller holds pm.mu.
func (pm *PoolManager) reclaimOne() bool {
	for e := pm.lru.Back(); e != nil; e = e.Prev() {
		if p := e.Value.(*pool); p.inflight == 0 && p.open > 0 {
			pm.evict(p)
			return true
		}
	}
	return false
}

// reclaimForWaiters evicts idle pools until the slots about to free cover
// the connections waiting for one, or no idle pool holds a connection.
// It runs whenever either side changes: when a connection starts waiting
// and when a lease leaves a pool idle. The caller holds pm.mu.
func (pm *PoolManager) reclaimForWaiters() {
	for pm.waiting > pm.lagging+pm.doomed && pm.reclaimOne() {
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

// Close closes every pool and refuses new leases. It returns once the
// pools without a lease are closed and their connections' slots are back;
// a pool still leased is closed by the Release of its last lease.
func (pm *PoolManager) Close() {
	pm.mu.Lock()
	for _, p := range pm.pools {
		pm.evict(p)
	}
	pm.closed = true
	pm.mu.Unlock()
	pm.wg.Wait()
}

// ErrNoConnection is returned when no tenant connection slot frees up in time.
var ErrNoConnection = apperr.New(apperr.Unavailable, "DATABASE_UNAVAILABLE", "All tenant database connections are busy, retry later")

// boundedConnector takes a global slot for every connection it opens and
// gives it back when the connection closes, so that all pools together
// never hold more than MaxConns connections.
type boundedConnector struct {
	driver.Connector
	pm *PoolManager
	p  *pool
}

func (c *boundedConnector) Connect(ctx context.Context) (driver.Conn, error) {
	pm := c.pm
	if err := pm.takeSlot(ctx); err != nil {
		return nil, err
	}
	conn, err := c.Connector.Connect(ctx)
	pm.mu.Lock()
	if err != nil {
		pm.held--
		pm.mu.Unlock()
		pm.slots.Release(1)
		return nil, accountError(err)
	}
	pm.open++
	c.p.open++
	pm.mu.Unlock()
	return &boundedConn{Conn: conn, pm: pm, p: c.p}, nil
}

// takeSlot takes a connection slot. When none is free, or others already
// wait, it waits in turn (see waitForSlot).
func (pm *PoolManager) takeSlot(ctx context.Context) error {
	pm.mu.Lock()
	if pm.waiting == 0 && pm.slots.TryAcquire(1) {
		pm.tookSlot()
		pm.mu.Unlock()
		return nil
	}
	pm.waits++
	pm.waiting++
	pm.lastWait = time.Now()
	pm.reclaimForWaiters()
	pm.mu.Unlock()
	err := pm.waitForSlot(ctx)
	pm.mu.Lock()
	pm.waiting--
	if err == nil {
		pm.tookSlot()
	}
	pm.mu.Unlock()
	return err
}

// tookSlot counts a slot taken. Under pressure (someone waited within the
// last second), it keeps a few slots free or about to free ahead of
// demand: a closed connection holds its slot for serverCloseLag, which a
// request should not have to wait out in full. Without pressure,
// connections stay open: tenants that fit are never churned. The caller
// holds pm.mu.
func (pm *PoolManager) tookSlot() {
	pm.held++
	if pm.opts.MaxConns-pm.held+pm.lagging+pm.doomed < headroom(pm.opts.MaxConns) && time.Since(pm.lastWait) < time.Second {
		pm.reclaimOne()
	}
}

// waitForSlot waits until the slots semaphore hands this connection a slot,
// for at most AcquireTimeout. A slot frees when a connection closes:
// connections above a pool's idle limit close within moments of their
// query, and idle pools of other tenants are evicted for the waiters (see
// reclaimForWaiters).
func (pm *PoolManager) waitForSlot(ctx context.Context) error {
	wctx, cancel := context.WithTimeout(ctx, pm.opts.AcquireTimeout)
	defer cancel()
	err := pm.slots.Acquire(wctx, 1)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	default:
		return ErrNoConnection
	}
}

// boundedConn releases its slot once when closed.
type boundedConn struct {
	driver.Conn
	pm     *PoolManager
	p      *pool
	closed sync.Once
}

func (c *boundedConn) Close() error {
	err := c.Conn.Close()
	c.closed.Do(c.freeSlot)
	return err
}

// freeSlot gives the connection's slot back. The server ends its side of
// the session a moment after the client hangs up, so the slot is held that
// long (in a timer Close waits for), so that the server never sees more
// than MaxConns of our connections at once. Once the manager is closed,
// only leases that outlived Close open connections, and the slot is given
// back at once.
func (c *boundedConn) freeSlot() {
	pm := c.pm
	pm.mu.Lock()
	pm.open--
	c.p.open--
	if c.p.doomed > 0 {
		c.p.doomed--
		pm.doomed--
	}
	if pm.closed {
		pm.held--
		pm.mu.Unlock()
		pm.slots.Release(1)
		return
	}
	pm.lagging++
	pm.wg.Add(1)
	pm.mu.Unlock()
	time.AfterFunc(serverCloseLag, func() {
		defer pm.wg.Done()
		pm.mu.Lock()
		pm.lagging--
		pm.held--
		pm.mu.Unlock()
		pm.slots.Release(1)
	})
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
