package tenantdb_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/internal/testsupport/testdb"
	"github.com/silo-dev/silo/tenantdb"
)

// sharedEnv is a server with tenants a and b (each with its own DB user
// and its role granted to the shared login) and the shared connections.
type sharedEnv struct {
	srv    *tenantdb.Server
	root   *sql.DB
	login  string
	shared *tenantdb.SharedConns
	a, b   tenant
	roleA  string
	roleB  string
}

func newSharedEnv(t testing.TB, o tenantdb.SharedOptions) *sharedEnv {
	t.Helper()
	ctx := context.Background()
	cfg := rootConfig(t, testdb.ServerDSN())
	e := &sharedEnv{srv: openServer(t, cfg), root: openRoot(t, cfg)}
	prefix := testdb.Prefix(t)
	e.login = prefix + "shared"
	pw := tenantdb.NewPassword()
	if err := e.srv.EnsureSharedLogin(ctx, e.login, pw); err != nil {
		t.Fatal(err)
	}
	e.a, e.b = newTenant(t, e.srv, e.root, prefix, "a"), newTenant(t, e.srv, e.root, prefix, "b")
	e.roleA, e.roleB = e.role(t, e.a), e.role(t, e.b)
	var err error
	if e.shared, err = tenantdb.NewSharedConns(e.srv.SharedLoginConfig(e.login, pw), o); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.shared.Close)
	return e
}

// role creates tn's role, granted to the shared login.
func (e *sharedEnv) role(t testing.TB, tn tenant) string {
	t.Helper()
	role, err := tenantdb.RoleFor(tn.user)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.FixRole(context.Background(), role, tn.database, e.login); err != nil {
		t.Fatal(err)
	}
	return role
}

func (e *sharedEnv) lease(t *testing.T, role string, tn tenant) *tenantdb.Lease {
	t.Helper()
	l, err := e.shared.Lease(role, tn.database)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Release)
	return l
}

func mysqlErrno(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

// TestSharedLeaseRunsAsTenantRole: a shared lease's queries run as the
// shared login with exactly the tenant's role active, in its database.
func TestSharedLeaseRunsAsTenantRole(t *testing.T) {
	e := newSharedEnv(t, tenantdb.SharedOptions{MaxConns: 4})
	ctx := context.Background()
	for _, c := range []struct {
		role string
		tn   tenant
	}{{e.roleA, e.a}, {e.roleB, e.b}, {e.roleA, e.a}} {
		l := e.lease(t, c.role, c.tn)
		var user, role, database, v string
		err := l.DB.QueryRowContext(ctx, "SELECT SUBSTRING_INDEX(CURRENT_USER(), '@', 1), CURRENT_ROLE(), DATABASE(), v FROM kv WHERE id = 1").Scan(&user, &role, &database, &v)
		if err != nil {
			t.Fatal(err)
		}
		if user != e.login || role != c.role || database != c.tn.database || v != c.tn.database {
			t.Fatalf("ran as %s role %s in %s (v=%s), want %s role %s in %s", user, role, database, v, e.login, c.role, c.tn.database)
		}
		l.Release()
		tenantdb.SettleShared(e.shared)
	}
	if st := e.shared.Stats(); st.Opens != 1 || st.OpenConns != 1 || st.Idle != 1 {
		t.Fatalf("stats %+v, want one connection opened, reused, idle", st)
	}
}

// TestSharedTenantCannotReadOtherTenantByQuery: with a's role active,
// queries naming b's database are refused by the server.
func TestSharedTenantCannotReadOtherTenantByQuery(t *testing.T) {
	e := newSharedEnv(t, tenantdb.SharedOptions{MaxConns: 2})
	ctx := context.Background()
	l := e.lease(t, e.roleA, e.a)
	var v string
	err := l.DB.QueryRowContext(ctx, "SELECT v FROM `"+e.b.database+"`.kv WHERE id = 1").Scan(&v)
	if n := mysqlErrno(err); n != 1142 {
		t.Fatalf("read of b's table with a's role: %v (errno %d), want 1142 (command denied)", err, n)
	}
	err = l.DB.QueryRowContext(ctx, "SELECT v FROM kv UNION ALL SELECT v FROM `"+e.b.database+"`.kv").Scan(&v)
	if n := mysqlErrno(err); n != 1142 {
		t.Fatalf("union with b's table: %v (errno %d), want 1142", err, n)
	}
	_, err = l.DB.ExecContext(ctx, "UPDATE `"+e.b.database+"`.kv SET v = 'x'")
	if n := mysqlErrno(err); n != 1142 {
		t.Fatalf("update of b's table: %v (errno %d), want 1142", err, n)
	}
}

// TestSharedInjectedSetRoleReachesOtherTenant states what the shared mode
// does NOT isolate (docs/SECURITY.md): a statement a SQL injection issues
// on a's session can switch to b's role and database, since the shared
// login holds every tenant's role, and then read b's rows. With a's own DB
// user (the default mode) the same statements are refused. If this test
// fails because the switch is refused, the shared mode isolates better
// than the documentation says: update both.
func TestSharedInjectedSetRoleReachesOtherTenant(t *testing.T) {
	e := newSharedEnv(t, tenantdb.SharedOptions{MaxConns: 2})
	ctx := context.Background()
	l := e.lease(t, e.roleA, e.a)
	conn, err := l.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SET ROLE `"+e.roleB+"`"); err != nil {
		t.Fatalf("shared mode: SET ROLE to b's role refused (%v): the docs say it succeeds", err)
	}
	var v string
	if err := conn.QueryRowContext(ctx, "SELECT v FROM `"+e.b.database+"`.kv WHERE id = 1").Scan(&v); err != nil || v != e.b.database {
		t.Fatalf("shared mode: read of b after SET ROLE: %q, %v; the docs say it succeeds", v, err)
	}
	if _, err := conn.ExecContext(ctx, "USE `"+e.b.database+"`"); err != nil {
		t.Fatalf("shared mode: USE b's database refused: %v", err)
	}

	// The default mode: a's own DB user can do neither.
	own := openTenantUser(t, e.srv, e.a)
	_, err = own.ExecContext(ctx, "SET ROLE `"+e.roleB+"`")
	if n := mysqlErrno(err); n != 1959 && n != 3530 {
		t.Fatalf("own user: SET ROLE to b's role: %v (errno %d), want refused", err, n)
	}
	_, err = own.ExecContext(ctx, "USE `"+e.b.database+"`")
	if n := mysqlErrno(err); n != 1044 {
		t.Fatalf("own user: USE b's database: %v (errno %d), want 1044", err, n)
	}
}

// openTenantUser connects as tn's own DB user on one connection.
func openTenantUser(t *testing.T, srv *tenantdb.Server, tn tenant) *sql.Conn {
	t.Helper()
	cfg, err := tn.creds.Open()
	if err != nil {
		t.Fatal(err)
	}
	db, err := tenantdb.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// TestSharedConnectionResetOnRelease: a lease that ran plain statements
// gives its connection back with no role and information_schema selected.
func TestSharedConnectionResetOnRelease(t *testing.T) {
	e := newSharedEnv(t, tenantdb.SharedOptions{MaxConns: 1})
	ctx := context.Background()
	l := e.lease(t, e.roleA, e.a)
	if _, err := l.DB.ExecContext(ctx, "UPDATE kv SET v = ? WHERE id = 1", e.a.database); err != nil {
		t.Fatal(err)
	}
	tx, err := l.DB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	whoamiTx := tx.QueryRowContext(ctx, "SELECT v FROM kv WHERE id = 1")
	var v string
	if err := whoamiTx.Scan(&v); err != nil || v != e.a.database {
		t.Fatalf("a's row in a transaction: %q, %v", v, err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	l.Release()
	tenantdb.SettleShared(e.shared)
	role, database, inTx, err := tenantdb.IdleSession(ctx, e.shared)
	if err != nil {
		t.Fatal(err)
	}
	if role != "NONE" || database != "information_schema" || inTx != 0 {
		t.Fatalf("returned connection: role %s, database %s, in transaction %d; want NONE, information_schema, 0", role, database, inTx)
	}
	if st := e.shared.Stats(); st.Opens != 1 || st.Idle != 1 {
		t.Fatalf("stats %+v, want the one connection back", st)
	}
}

// TestSharedConnectionClosedAfterSessionChange: a lease that ran anything
// that may leave session state (its own SET ROLE or USE, a transaction
// left open, a session or user variable, a named lock) never gives its
// connection back: it is closed, and the open transaction with it.
func TestSharedConnectionClosedAfterSessionChange(t *testing.T) {
	e := newSharedEnv(t, tenantdb.SharedOptions{MaxConns: 1})
	ctx := context.Background()
	for _, stmts := range [][]string{
		{"SET ROLE `" + e.roleB + "`", "USE `" + e.b.database + "`", "START TRANSACTION", "UPDATE kv SET v = 'changed' WHERE id = 1"},
		{"SET SESSION sql_mode = ''"},
		{"SELECT @x := v FROM kv"},
		{"SELECT GET_LOCK('x', 0)"},
		{"/* comment */ SELECT 1"},
	} {
		l := e.lease(t, e.roleA, e.a)
		conn, err := l.DB.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range stmts {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		conn.Close()
		l.Release()
		if st := e.shared.Stats(); st.OpenConns != 0 || st.Idle != 0 {
			t.Fatalf("after %q: stats %+v, want the connection closed", stmts, st)
		}
	}
	var v string
	if err := e.root.QueryRowContext(ctx, "SELECT v FROM `"+e.b.database+"`.kv WHERE id = 1").Scan(&v); err != nil || v != e.b.database {
		t.Fatalf("b's row after the abandoned update: %q, %v", v, err)
	}
}

// TestSharedMissingRoleClosesConnection: a tenant whose role is missing
// (not yet repaired) answers TENANT_UNAVAILABLE, and the connection that
// failed to switch is closed, its slot free.
func TestSharedMissingRoleClosesConnection(t *testing.T) {
	e := newSharedEnv(t, tenantdb.SharedOptions{MaxConns: 1})
	ctx := context.Background()
	if err := e.srv.DropRole(ctx, e.roleB); err != nil {
		t.Fatal(err)
	}
	l := e.lease(t, e.roleB, e.b)
	var one int
	err := l.DB.QueryRowContext(ctx, "SELECT 1").Scan(&one)
	var ae *tenantdb.AccountError
	if !apperr.Is(err, "TENANT_UNAVAILABLE") || !errors.As(err, &ae) || ae.Reason != "role_missing" {
		t.Fatalf("query with a missing role: %v, want TENANT_UNAVAILABLE role_missing", err)
	}
	if st := e.shared.Stats(); st.OpenConns != 0 {
		t.Fatalf("stats %+v: the failed connection was not closed", st)
	}
	l.Release()
	whoamiShared(t, e.lease(t, e.roleA, e.a), e)
}

func whoamiShared(t *testing.T, l *tenantdb.Lease, e *sharedEnv) {
	t.Helper()
	var v string
	if err := l.DB.QueryRowContext(context.Background(), "SELECT v FROM kv WHERE id = 1").Scan(&v); err != nil || v != e.a.database {
		t.Fatalf("a's row: %q, %v", v, err)
	}
}

// TestSharedConnsBounded: leases beyond MaxConns wait for a connection and
// fail with DATABASE_UNAVAILABLE after AcquireTimeout; the server never
// sees more than MaxConns connections of the login.
func TestSharedConnsBounded(t *testing.T) {
	e := newSharedEnv(t, tenantdb.SharedOptions{MaxConns: 2, AcquireTimeout: 200 * time.Millisecond})
	ctx := context.Background()
	var held []func()
	for range 2 {
		l := e.lease(t, e.roleA, e.a)
		c, err := l.DB.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, func() { c.Close(); l.Release() })
	}
	_, err := e.lease(t, e.roleB, e.b).DB.Conn(ctx)
	if !errors.Is(err, tenantdb.ErrNoConnection) {
		t.Fatalf("third lease with two connections lent: %v, want ErrNoConnection", err)
	}
	if n := serverConns(t, e.root, userIs(e.login)); n != 2 {
		t.Fatalf("%d server connections of the login, want 2", n)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		time.Sleep(50 * time.Millisecond)
		held[0]()
	})
	l := e.lease(t, e.roleB, e.b)
	var v string
	if err := l.DB.QueryRowContext(ctx, "SELECT v FROM kv WHERE id = 1").Scan(&v); err != nil || v != e.b.database {
		t.Fatalf("b's row once a connection came back: %q, %v", v, err)
	}
	wg.Wait()
	held[1]()
	if n := serverConns(t, e.root, userIs(e.login)); n > 2 {
		t.Fatalf("%d server connections of the login, cap 2", n)
	}
}
