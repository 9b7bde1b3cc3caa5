package tenantdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
)

// SharedConns is the shared connection mode (SILO_TENANT_CONN_MODE=shared):
// every tenant on one server is served over the connections of a single
// login that owns no data and holds each tenant's role (RoleFor), at most
// MaxConns of them whatever the number of tenants.
//
// A request's lease is a database bound to one dedicated connection, taken
// from the shared set at the request's first query: Silo runs `SET ROLE` to
// the tenant's role and `USE` its database on it, and when the lease is
// released it runs `SET ROLE NONE` and `USE information_schema` before the
// connection goes back, so that no connection ever waits in the shared set
// with a tenant's role active or a tenant's database selected. A
// connection on which any of these fails is closed, and so is one whose
// lease may have left other session state (see sessionConn).
//
// What this mode isolates is weaker than per-tenant DB users: the login may
// activate every tenant's role, so a statement that runs its own
// `SET ROLE` (a SQL injection that can issue statements) reaches every
// tenant on the server. See docs/SECURITY.md.
type SharedConns struct {
	connector      driver.Connector
	acquireTimeout time.Duration
	slots          chan struct{}    // one per open connection
	idle           chan driver.Conn // open connections, reset, ready to lend

	mu      sync.Mutex // guards closed against a connection coming back
	closed  bool
	returns sync.WaitGroup // connections being reset after their lease; Close waits for them

	opens, waits atomic.Int64
}

// SharedOptions bound the shared connections of one server.
type SharedOptions struct {
	MaxConns       int           // open connections, never exceeded; default 100
	AcquireTimeout time.Duration // wait for a connection when all are lent; default 5s
}

// NewSharedConns returns the shared connections of the login in cfg (its
// DBName is replaced by information_schema, which every account may use
// and which holds no tenant's data).
func NewSharedConns(cfg *mysql.Config, o SharedOptions) (*SharedConns, error) {
	if o.MaxConns <= 0 {
		o.MaxConns = 100
	}
	if o.AcquireTimeout <= 0 {
		o.AcquireTimeout = 5 * time.Second
	}
	c := cfg.Clone()
	c.DBName = neutralDatabase
	c.MultiStatements = false // a statement can never carry a second one
	conn, err := mysql.NewConnector(c)
	if err != nil {
		return nil, err
	}
	return &SharedConns{
		connector: conn, acquireTimeout: o.AcquireTimeout,
		slots: make(chan struct{}, o.MaxConns), idle: make(chan driver.Conn, o.MaxConns),
	}, nil
}

// neutralDatabase is the database a shared connection has selected while
// no tenant holds it.
const neutralDatabase = "information_schema"

// SharedStats are the shared connections' figures.
type SharedStats struct {
	OpenConns int   // open connections
	Idle      int   // of those, waiting to be lent
	Opens     int64 // connections opened since start
	Waits     int64 // requests that found every connection lent and waited
}

// Stats returns current figures.
func (s *SharedConns) Stats() SharedStats {
	return SharedStats{OpenConns: len(s.slots), Idle: len(s.idle), Opens: s.opens.Load(), Waits: s.waits.Load()}
}

// Lease lends a database bound to one shared connection, switched to role
// and database at its first query, for one request. Release it when done.
func (s *SharedConns) Lease(role, database string) (*Lease, error) {
	if err := checkRole(role); err != nil {
		return nil, err
	}
	if err := checkDatabase(database); err != nil {
		return nil, err
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	db := sql.OpenDB(&sessionConnector{s: s, role: role, database: database})
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	return &Lease{DB: sqlx.NewDb(db, "mysql")}, nil
}

// Close refuses new leases, waits for the connections being reset and
// closes the idle ones; a connection still lent is closed when its lease
// is released.
func (s *SharedConns) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.returns.Wait()
	for {
		select {
		case c := <-s.idle:
			s.discard(c)
		default:
			return
		}
	}
}

// get takes an idle connection, or opens one when a slot is free, waiting
// at most acquireTimeout for either.
func (s *SharedConns) get(ctx context.Context) (driver.Conn, error) {
	select {
	case c := <-s.idle:
		return c, nil
	default:
	}
	select {
	case c := <-s.idle:
		return c, nil
	case s.slots <- struct{}{}:
		return s.open(ctx)
	default:
	}
	s.waits.Add(1)
	t := time.NewTimer(s.acquireTimeout)
	defer t.Stop()
	select {
	case c := <-s.idle:
		return c, nil
	case s.slots <- struct{}{}:
		return s.open(ctx)
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
		return nil, ErrNoConnection
	}
}

// open opens a connection in the slot the caller took.
func (s *SharedConns) open(ctx context.Context) (driver.Conn, error) {
	c, err := s.connector.Connect(ctx)
	if err != nil {
		<-s.slots
		return nil, err
	}
	s.opens.Add(1)
	return c, nil
}

// put gives a reset connection back, or closes it after Close.
func (s *SharedConns) put(c driver.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		s.discard(c)
		return
	}
	s.idle <- c // never blocks: at most cap(slots) connections exist
}

// discard closes c and frees its slot.
func (s *SharedConns) discard(c driver.Conn) {
	_ = c.Close()
	<-s.slots
}

// exec runs one statement without arguments on c.
func exec(ctx context.Context, c driver.Conn, query string) error {
	_, err := c.(driver.ExecerContext).ExecContext(ctx, query, nil)
	return err
}

// sessionConnector hands a lease's database its one shared connection,
// switched to the tenant.
type sessionConnector struct {
	s              *SharedConns
	role, database string
}

func (sc *sessionConnector) Driver() driver.Driver { return sc.s.connector.Driver() }

// Connect takes a shared connection and switches it to the tenant; on any
// error the connection is closed. A connection the server dropped while
// idle is replaced (a few times).
func (sc *sessionConnector) Connect(ctx context.Context) (driver.Conn, error) {
	for attempt := 0; ; attempt++ {
		c, err := sc.s.get(ctx)
		if err != nil {
			return nil, err
		}
		err = exec(ctx, c, "SET ROLE `"+sc.role+"`")
		if err == nil {
			err = exec(ctx, c, "USE `"+sc.database+"`")
		}
		if err == nil {
			return &sessionConn{Conn: c, s: sc.s}, nil
		}
		sc.s.discard(c) // a connection that failed to switch is never lent again
		if !errors.Is(err, driver.ErrBadConn) || attempt >= 2 {
			return nil, roleError(err)
		}
	}
}

// roleError turns the server's refusal of a tenant's role (not created, or
// not granted to the shared login: run `silo tenant repair`) into
// TENANT_UNAVAILABLE, like a refused tenant account.
func roleError(err error) error {
	var me *mysql.MySQLError
	if errors.As(err, &me) && (me.Number == 1959 || me.Number == 3530) {
		e := *errTenantAccount
		e.Err = &AccountError{Reason: "role_missing", Err: err}
		return &e
	}
	return accountError(err)
}

// resetOrDiscard returns c to the shared set once no tenant's role or
// database is left on it; if that fails, c is closed instead.
func (s *SharedConns) resetOrDiscard(c driver.Conn) {
	if v, ok := c.(driver.Validator); ok && !v.IsValid() {
		s.discard(c)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), resetTimeout)
	defer cancel()
	for _, q := range []string{"SET ROLE NONE", "USE " + neutralDatabase} {
		if err := exec(ctx, c, q); err != nil {
			s.discard(c)
			return
		}
	}
	s.put(c)
}

// resetTimeout bounds the reset of a returned connection.
const resetTimeout = 5 * time.Second

// sessionConn is a shared connection lent to one lease. Closing it (when
// the lease's database closes, or database/sql drops a broken connection)
// resets it and gives it back, if the lease left no other session state
// behind: it ran only plain statements (plainStatement) and no
// transaction is open. Otherwise the connection is closed, so that no
// session variable, user variable, named lock or open transaction of one
// tenant reaches the next.
type sessionConn struct {
	driver.Conn
	s       *SharedConns
	once    sync.Once
	tainted atomic.Bool  // a statement that may leave session state ran
	openTx  atomic.Int32 // transactions begun and not yet ended
}

func (c *sessionConn) Close() error {
	c.once.Do(func() {
		if c.tainted.Load() || c.openTx.Load() != 0 {
			c.s.discard(c.Conn)
			return
		}
		c.s.giveBack(c.Conn)
	})
	return nil
}

// giveBack resets c and returns it in a goroutine that Close waits for,
// so that the request that released it does not wait for the reset's
// round trips; after Close, c is closed at once.
func (s *SharedConns) giveBack(c driver.Conn) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.discard(c)
		return
	}
	s.returns.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.returns.Done()
		s.resetOrDiscard(c)
	}()
}

// check marks c tainted unless query is a plain statement.
func (c *sessionConn) check(query string) {
	if !plainStatement(query) {
		c.tainted.Store(true)
	}
}

// plainStatement reports whether query is one SELECT, INSERT, UPDATE,
// DELETE or REPLACE that reads or sets no variable and takes no named
// lock: in autocommit mode such a statement leaves nothing in the session.
// Anything else (SET, START TRANSACTION, a leading comment, `@`, GET_LOCK)
// is not plain, and the connection is closed after the lease.
func plainStatement(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n")
	word := q
	if i := strings.IndexAny(q, " \t\r\n("); i >= 0 {
		word = q[:i]
	}
	switch strings.ToUpper(word) {
	case "SELECT", "INSERT", "UPDATE", "DELETE", "REPLACE":
	default:
		return false
	}
	code := strings.ToLower(withoutStrings(q))
	return !strings.Contains(code, "@") && !strings.Contains(code, "get_lock") &&
		!strings.Contains(code, "into outfile") && !strings.Contains(code, "into dumpfile")
}

// withoutStrings is query with the contents of its quoted strings and
// identifiers left out ('…', "…", `…`), so that an `@` in a literal does
// not count. An unterminated quote drops the rest.
func withoutStrings(query string) string {
	var b strings.Builder
	var quote byte
	for i := 0; i < len(query); i++ {
		ch := query[i]
		switch {
		case quote == 0 && (ch == '\'' || ch == '"' || ch == '`'):
			quote = ch
			b.WriteByte(ch)
		case quote == 0:
			b.WriteByte(ch)
		case ch == '\\' && quote != '`':
			i++ // an escaped character
		case ch == quote:
			quote = 0
			b.WriteByte(ch)
		}
	}
	return b.String()
}

var (
	_ driver.ConnBeginTx        = (*sessionConn)(nil)
	_ driver.ConnPrepareContext = (*sessionConn)(nil)
	_ driver.QueryerContext     = (*sessionConn)(nil)
	_ driver.ExecerContext      = (*sessionConn)(nil)
	_ driver.Pinger             = (*sessionConn)(nil)
	_ driver.SessionResetter    = (*sessionConn)(nil)
	_ driver.Validator          = (*sessionConn)(nil)
	_ driver.NamedValueChecker  = (*sessionConn)(nil)
)

func (c *sessionConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
	if err != nil {
		c.tainted.Store(true)
		return nil, err
	}
	c.openTx.Add(1)
	return &sessionTx{Tx: tx, c: c}, nil
}

func (c *sessionConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	c.check(query)
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

func (c *sessionConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	c.check(query)
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
}

func (c *sessionConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	c.check(query)
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
}

// sessionTx counts its transaction ended once committed or rolled back;
// a failed end leaves the connection to be closed.
type sessionTx struct {
	driver.Tx
	c    *sessionConn
	once sync.Once
}

func (t *sessionTx) end(err error) error {
	t.once.Do(func() {
		if err != nil {
			t.c.tainted.Store(true)
		}
		t.c.openTx.Add(-1)
	})
	return err
}

func (t *sessionTx) Commit() error   { return t.end(t.Tx.Commit()) }
func (t *sessionTx) Rollback() error { return t.end(t.Tx.Rollback()) }

func (c *sessionConn) Ping(ctx context.Context) error { return c.Conn.(driver.Pinger).Ping(ctx) }

func (c *sessionConn) ResetSession(ctx context.Context) error {
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c *sessionConn) IsValid() bool { return c.Conn.(driver.Validator).IsValid() }

func (c *sessionConn) CheckNamedValue(nv *driver.NamedValue) error {
	return c.Conn.(driver.NamedValueChecker).CheckNamedValue(nv)
}

// RoleFor is the name of the role that holds the tenant privileges of the
// tenant whose DB user is user, in the shared connection mode: the user's
// name and "_r" (at most 32 characters, as MySQL 8 requires).
func RoleFor(user string) (string, error) {
	role := user + "_r"
	if err := checkRole(role); err != nil {
		return "", err
	}
	return role, nil
}

func checkRole(name string) error {
	if !userPattern.MatchString(name) {
		return fmt.Errorf("invalid tenant role name %q", name)
	}
	return nil
}
