package tenantdb_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"golang.org/x/sync/errgroup"

	"github.com/silo-dev/silo/config"
	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/internal/lib/dberr"
	"github.com/silo-dev/silo/internal/lib/processlist"
	"github.com/silo-dev/silo/internal/testsupport/testdb"
	"github.com/silo-dev/silo/tenantdb"
)

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

// rootConfig is the admin DSN of the server at dsn, parsed as Silo does.
func rootConfig(t testing.TB, dsn string) *mysql.Config {
	t.Helper()
	cfg, err := config.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("parse %s: %v", dsn, err)
	}
	cfg.DBName = ""
	return cfg
}

// openRoot opens a root pool on the server of cfg, closed when t ends.
func openRoot(t testing.TB, cfg *mysql.Config) *sql.DB {
	t.Helper()
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	t.Cleanup(func() { db.Close() })
	return db
}

func openServer(t testing.TB, cfg *mysql.Config) *tenantdb.Server {
	t.Helper()
	srv, err := tenantdb.OpenServer(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// tenant is one tenant database with its own DB user; creds count how
// often the pool manager asks for the DSN.
type tenant struct {
	database, user string
	creds          tenantdb.Credentials
	opens          *atomic.Int32
}

// newTenant creates database prefix+"d"+name with a table kv (one row,
// id 1) and DB user prefix+"u"+name granted the tenant privileges on it.
func newTenant(t testing.TB, srv *tenantdb.Server, root *sql.DB, prefix, name string) tenant {
	t.Helper()
	ctx := context.Background()
	tn := tenant{database: prefix + "d" + name, user: prefix + "u" + name, opens: new(atomic.Int32)}
	pw := tenantdb.NewPassword()
	if err := srv.CreateDatabase(ctx, tn.database); err != nil {
		t.Fatal(err)
	}
	if err := srv.CreateUser(ctx, tn.user, pw); err != nil {
		t.Fatal(err)
	}
	if err := srv.Grant(ctx, tn.user, tn.database); err != nil {
		t.Fatal(err)
	}
	if _, err := root.ExecContext(ctx, "CREATE TABLE `"+tn.database+"`.kv (id INT PRIMARY KEY, v VARCHAR(64) NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	if _, err := root.ExecContext(ctx, "INSERT INTO `"+tn.database+"`.kv VALUES (1, ?)", tn.database); err != nil {
		t.Fatal(err)
	}
	cfg := srv.TenantConfig(tn.database, tn.user, pw)
	tn.creds = tenantdb.Credentials{Key: tn.database, Open: func() (*mysql.Config, error) {
		tn.opens.Add(1)
		return cfg, nil
	}}
	return tn
}

// whoami runs a query through db as the tenant and checks it ran as the
// tenant's DB user in the tenant's database.
func whoami(t testing.TB, db interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, tn tenant) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var user, database, v string
	err := db.QueryRowContext(ctx, "SELECT SUBSTRING_INDEX(CURRENT_USER(), '@', 1), DATABASE(), v FROM kv WHERE id = 1").Scan(&user, &database, &v)
	if err != nil {
		t.Fatalf("query as %s: %v", tn.user, err)
	}
	if user != tn.user || database != tn.database || v != tn.database {
		t.Fatalf("query ran as %s in %s (v=%s), want %s in %s", user, database, v, tn.user, tn.database)
	}
}

// serverConns counts the server's connections of DB users that match.
func serverConns(t testing.TB, root *sql.DB, match func(user string) bool) int {
	t.Helper()
	n, err := processlist.Count(context.Background(), root, func(user, _ string) bool { return match(user) })
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// userIs and userStartsWith match a process's DB user for serverConns.
func userIs(name string) func(string) bool { return func(u string) bool { return u == name } }

func userStartsWith(prefix string) func(string) bool {
	return func(u string) bool { return strings.HasPrefix(u, prefix) }
}

// eventually retries check until it returns nil or timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not true after %v: %v", what, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// closedDB reports nil once db has been closed.
func closedDB(db *sql.DB) func() error {
	return func() error {
		err := db.Ping()
		if err != nil && strings.Contains(err.Error(), "database is closed") {
			return nil
		}
		return fmt.Errorf("pool still open (ping: %v)", err)
	}
}

// noServerConns reports nil once the server holds no connection of user.
func noServerConns(t testing.TB, root *sql.DB, user string) func() error {
	return func() error {
		if n := serverConns(t, root, userIs(user)); n != 0 {
			return fmt.Errorf("%d server connections of %s", n, user)
		}
		return nil
	}
}

func openConnsZero(pm *tenantdb.PoolManager) func() error {
	return func() error {
		if s := pm.Stats(); s.OpenConns != 0 {
			return fmt.Errorf("stats %+v", s)
		}
		return nil
	}
}

// ---------------------------------------------------------------------------
// Basic leasing
// ---------------------------------------------------------------------------

func TestPoolAcquireQueryRelease(t *testing.T) {
	t.Parallel()
	cfg := rootConfig(t, testdb.ServerDSN())
	root := openRoot(t, cfg)
	srv := openServer(t, cfg)
	prefix := testdb.Prefix(t)
	tn := newTenant(t, srv, root, prefix, "a")

	pm := tenantdb.NewPoolManager(tenantdb.PoolOptions{})
	t.Cleanup(pm.Close)
	lease, err := pm.Acquire(tn.creds)
	if err != nil {
		t.Fatal(err)
	}
	whoami(t, lease.DB, tn)
	// The tenant's own DB user may write its rows...
	if _, err := lease.DB.Exec("INSERT INTO kv VALUES (2, 'two')"); err != nil {
		t.Fatal(err)
	}
	// ...but nothing outside its database.
	if _, err := lease.DB.Exec("SELECT 1 FROM mysql.user LIMIT 1"); err == nil {
		t.Fatal("tenant user could read mysql.user")
	}
	s := pm.Stats()
	if s.Pools != 1 || s.OpenConns != 1 || s.InUse != 0 {
		t.Fatalf("stats after one query = %+v, want 1 pool, 1 open connection, none in use", s)
	}
	lease.Release()
	lease.Release() // idempotent

	// The pool stays open for the next request, with its idle connection.
	lease, err = pm.Acquire(tn.creds)
	if err != nil {
		t.Fatal(err)
	}
	whoami(t, lease.DB, tn)
	lease.Release()
	if n := tn.opens.Load(); n != 1 {
		t.Fatalf("Credentials.Open called %d times, want 1", n)
	}
	if s := pm.Stats(); s.Pools != 1 || s.OpenConns != 1 || s.Evictions != 0 || s.Waits != 0 {
		t.Fatalf("stats = %+v", s)
	}
	if n := serverConns(t, root, userIs(tn.user)); n != 1 {
		t.Fatalf("server holds %d connections of %s, want 1", n, tn.user)
	}

	// A failing Credentials.Open fails Acquire and opens no pool.
	boom := errors.New("boom")
	if _, err := pm.Acquire(tenantdb.Credentials{Key: "broken", Open: func() (*mysql.Config, error) { return nil, boom }}); !errors.Is(err, boom) {
		t.Fatalf("Acquire with failing Open = %v, want boom", err)
	}
	if s := pm.Stats(); s.Pools != 1 {
		t.Fatalf("pools = %d after a failed Acquire, want 1", s.Pools)
	}
}

func TestPoolConcurrentFirstAcquire(t *testing.T) {
	t.Parallel()
	cfg := rootConfig(t, testdb.ServerDSN())
	root := openRoot(t, cfg)
	srv := openServer(t, cfg)
	prefix := testdb.Prefix(t)
	tn := newTenant(t, srv, root, prefix, "a")
	slowOpen := tn.creds.Open
	tn.creds.Open = func() (*mysql.Config, error) {
		time.Sleep(20 * time.Millisecond) // widen the window for a second opener
		return slowOpen()
	}

	pm := tenantdb.NewPoolManager(tenantdb.PoolOptions{})
	t.Cleanup(pm.Close)
	const n = 50
	start := make(chan struct{})
	leases := make([]*tenantdb.Lease, n)
	var g errgroup.Group
	for i := range n {
		g.Go(func() error {
			<-start
			l, err := pm.Acquire(tn.creds)
			if err != nil {
				return err
			}
			leases[i] = l
			var one int
			return l.DB.QueryRow("SELECT 1 FROM kv WHERE id = 1").Scan(&one)
		})
	}
	close(start)
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if got := tn.opens.Load(); got != 1 {
		t.Fatalf("Credentials.Open called %d times, want 1", got)
	}
	s := pm.Stats()
	if s.Pools != 1 {
		t.Fatalf("pools = %d, want 1", s.Pools)
	}
	if s.OpenConns < 1 || s.OpenConns > 10 { // MaxOpenPerPool defaults to 10
		t.Fatalf("open connections = %d, want 1..10", s.OpenConns)
	}
	for i, l := range leases {
		if l.DB != leases[0].DB {
			t.Fatalf("lease %d has another pool", i)
		}
		l.Release()
	}
	whoami(t, leases[0].DB, tn)
}

// ---------------------------------------------------------------------------
// LRU eviction
// ---------------------------------------------------------------------------

func TestPoolLRUEviction(t *testing.T) {
	t.Parallel()
	cfg := rootConfig(t, testdb.ServerDSN())
	root := openRoot(t, cfg)
	srv := openServer(t, cfg)
	prefix := testdb.Prefix(t)
	tenants := make([]tenant, 5)
	for i := range tenants {
		tenants[i] = newTenant(t, srv, root, prefix, strconv.Itoa(i))
	}

	pm := tenantdb.NewPoolManager(tenantdb.PoolOptions{MaxPools: 3})
	t.Cleanup(pm.Close)
	dbs := make([]*sql.DB, len(tenants))
	for i, tn := range tenants {
		l, err := pm.Acquire(tn.creds)
		if err != nil {
			t.Fatal(err)
		}
		whoami(t, l.DB, tn)
		dbs[i] = l.DB.DB
		l.Release()
	}
	if s := pm.Stats(); s.Pools != 3 || s.Evictions != 2 {
		t.Fatalf("after 5 tenants with MaxPools=3: stats = %+v, want 3 pools and 2 evictions", s)
	}
	// The two least recently used pools were closed, with their connections.
	for i := range 2 {
		eventually(t, 5*time.Second, "evicted pool "+strconv.Itoa(i)+" closed", closedDB(dbs[i]))
		eventually(t, 5*time.Second, "server connections of evicted tenant "+strconv.Itoa(i), noServerConns(t, root, tenants[i].user))
	}
	eventually(t, 5*time.Second, "open connections = 3", func() error {
		if s := pm.Stats(); s.OpenConns != 3 {
			return fmt.Errorf("stats %+v", s)
		}
		return nil
	})
	// The three most recent are still pooled: no new Open.
	for i := 2; i < 5; i++ {
		l, err := pm.Acquire(tenants[i].creds)
		if err != nil {
			t.Fatal(err)
		}
		if l.DB.DB != dbs[i] {
			t.Fatalf("tenant %d got a new pool", i)
		}
		l.Release()
		if n := tenants[i].opens.Load(); n != 1 {
			t.Fatalf("tenant %d: Open called %d times, want 1", i, n)
		}
	}

	// Tenant 2 is now least recently used. Hold a lease on it while tenant 0
	// comes back and evicts it: the lease keeps working until released.
	held, err := pm.Acquire(tenants[2].creds)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{3, 4} { // make 2 the LRU again
		l, err := pm.Acquire(tenants[i].creds)
		if err != nil {
			t.Fatal(err)
		}
		l.Release()
	}
	l0, err := pm.Acquire(tenants[0].creds)
	if err != nil {
		t.Fatal(err)
	}
	whoami(t, l0.DB, tenants[0])
	l0.Release()
	if n := tenants[0].opens.Load(); n != 2 {
		t.Fatalf("evicted tenant 0 reacquired: Open called %d times, want 2", n)
	}
	if s := pm.Stats(); s.Pools != 3 || s.Evictions != 3 {
		t.Fatalf("stats = %+v, want 3 pools, 3 evictions", s)
	}
	time.Sleep(100 * time.Millisecond) // a wrongly scheduled close would land now
	whoami(t, held.DB, tenants[2])
	tx, err := held.DB.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("UPDATE kv SET v = v WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := closedDB(held.DB.DB)(); err == nil {
		t.Fatal("evicted pool with a lease was closed")
	}
	held.Release()
	eventually(t, 5*time.Second, "evicted pool closed after its lease", closedDB(held.DB.DB))
	eventually(t, 5*time.Second, "server connections of evicted tenant 2", noServerConns(t, root, tenants[2].user))

	// Acquiring it again opens a new pool.
	l2, err := pm.Acquire(tenants[2].creds)
	if err != nil {
		t.Fatal(err)
	}
	if l2.DB == held.DB {
		t.Fatal("reacquired an evicted pool")
	}
	whoami(t, l2.DB, tenants[2])
	l2.Release()

	// Forget closes a pool; the next Acquire asks for credentials again.
	opens := tenants[2].opens.Load()
	pm.Forget(tenants[2].creds.Key)
	eventually(t, 5*time.Second, "forgotten pool closed", closedDB(l2.DB.DB))
	l2, err = pm.Acquire(tenants[2].creds)
	if err != nil {
		t.Fatal(err)
	}
	l2.Release()
	if n := tenants[2].opens.Load(); n != opens+1 {
		t.Fatalf("after Forget: Open called %d times, want %d", n, opens+1)
	}
}

// ---------------------------------------------------------------------------
// The global bound on tenant connections
// ---------------------------------------------------------------------------

// TestPoolGlobalBound drives random traffic for 2,000 tenant DB users through
// a manager with MaxConns=50 and checks, on the server, that they never
// hold more than 50 connections.
func TestPoolGlobalBound(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 2,000 DB users")
	}
	t.Parallel()
	const (
		users    = 2000
		maxConns = 50
		workers  = 64
		batch    = 100
	)
	duration := 5 * time.Second
	ctx := context.Background()
	cfg := rootConfig(t, testdb.ServerDSN())
	root := openRoot(t, cfg)
	srv := openServer(t, cfg)
	prefix := testdb.Prefix(t)

	// One small database; the 2,000 users all read it.
	database := prefix + "d"
	if err := srv.CreateDatabase(ctx, database); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Exec("CREATE TABLE `" + database + "`.kv (id INT PRIMARY KEY, v VARCHAR(64) NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Exec("INSERT INTO `" + database + "`.kv SELECT seq, CONCAT('v', seq) FROM seq_1_to_100"); err != nil {
		// The SEQUENCE engine may be missing: insert one by one.
		for i := 1; i <= 100; i++ {
			if _, err := root.Exec("INSERT INTO `"+database+"`.kv VALUES (?, ?)", i, "v"+strconv.Itoa(i)); err != nil {
				t.Fatal(err)
			}
		}
	}

	begin := time.Now()
	names := make([]string, users)
	passwords := make([]string, users)
	for i := range names {
		names[i] = prefix + "u" + strconv.Itoa(i)
		passwords[i] = tenantdb.NewPassword()
	}
	// Drop the users in batches (faster than testdb.Prefix's one by one,
	// which then finds none). Cleanups run last-in first-out, so this runs
	// before Prefix's.
	t.Cleanup(func() {
		begin := time.Now()
		var g errgroup.Group
		g.SetLimit(4)
		for lo := 0; lo < users; lo += batch {
			g.Go(func() error {
				var b strings.Builder
				args := make([]any, 0, 2*batch)
				b.WriteString("DROP USER IF EXISTS ")
				for i := lo; i < min(lo+batch, users); i++ {
					if i > lo {
						b.WriteString(", ")
					}
					b.WriteString("?@'%'")
					args = append(args, names[i])
				}
				_, err := root.Exec(b.String(), args...)
				return err
			})
		}
		if err := g.Wait(); err != nil {
			t.Errorf("drop users: %v", err)
		}
		t.Logf("dropped %d users in %v", users, time.Since(begin).Round(time.Millisecond))
	})
	var g errgroup.Group
	g.SetLimit(4)
	for lo := 0; lo < users; lo += batch {
		g.Go(func() error {
			var create, grant strings.Builder
			var createArgs, grantArgs []any
			create.WriteString("CREATE USER ")
			grant.WriteString("GRANT SELECT ON " + tenantdb.GrantTarget(database) + " TO ")
			for i := lo; i < min(lo+batch, users); i++ {
				if i > lo {
					create.WriteString(", ")
					grant.WriteString(", ")
				}
				create.WriteString("?@'%' IDENTIFIED BY ?")
				grant.WriteString("?@'%'")
				createArgs = append(createArgs, names[i], passwords[i])
				grantArgs = append(grantArgs, names[i])
			}
			if _, err := root.Exec(create.String(), createArgs...); err != nil {
				return err
			}
			_, err := root.Exec(grant.String(), grantArgs...)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("create users: %v", err)
	}
	t.Logf("created %d users in %v", users, time.Since(begin).Round(time.Millisecond))

	creds := make([]tenantdb.Credentials, users)
	for i := range creds {
		tcfg := srv.TenantConfig(database, names[i], passwords[i])
		creds[i] = tenantdb.Credentials{Key: names[i], Open: func() (*mysql.Config, error) { return tcfg, nil }}
	}
	pm := tenantdb.NewPoolManager(tenantdb.PoolOptions{MaxPools: 500, MaxConns: maxConns, MaxOpenPerPool: 4})
	t.Cleanup(pm.Close)

	// The monitor samples the server's connections of these users, and the
	// manager's own count, until the traffic stops.
	mon := openRoot(t, cfg)
	mon.SetMaxOpenConns(1)
	ofTest := userStartsWith(prefix + "u")
	var (
		maxServer, maxOpen, samples int
		monErr                      error
	)
	stopMon := make(chan struct{})
	monDone := make(chan struct{})
	go func() {
		defer close(monDone)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopMon:
				return
			case <-tick.C:
			}
			n, err := processlist.Count(context.Background(), mon, func(user, _ string) bool { return ofTest(user) })
			if err != nil {
				monErr = err
				return
			}
			samples++
			maxServer = max(maxServer, n)
			maxOpen = max(maxOpen, pm.Stats().OpenConns)
		}
	}()

	var (
		queries, failures atomic.Int64
		errMu             sync.Mutex
		errs              []error
	)
	deadline := time.Now().Add(duration)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				i := rand.IntN(users)
				err := func() error {
					lease, err := pm.Acquire(creds[i])
					if err != nil {
						return err
					}
					defer lease.Release()
					qctx, cancel := context.WithTimeout(ctx, 15*time.Second)
					defer cancel()
					switch rand.IntN(3) {
					case 0:
						var x int
						return lease.DB.QueryRowContext(qctx, "SELECT SLEEP(0.001)").Scan(&x)
					case 1:
						id := 1 + rand.IntN(100)
						var v string
						if err := lease.DB.QueryRowContext(qctx, "SELECT v FROM kv WHERE id = ?", id).Scan(&v); err != nil {
							return err
						}
						if v != "v"+strconv.Itoa(id) {
							return fmt.Errorf("row %d = %q", id, v)
						}
					default:
						var who string
						if err := lease.DB.QueryRowContext(qctx, "SELECT SUBSTRING_INDEX(CURRENT_USER(), '@', 1)").Scan(&who); err != nil {
							return err
						}
						if who != names[i] {
							return fmt.Errorf("pool of %s connected as %s", names[i], who)
						}
					}
					return nil
				}()
				queries.Add(1)
				if err != nil {
					failures.Add(1)
					errMu.Lock()
					if len(errs) < 10 {
						errs = append(errs, fmt.Errorf("%s: %w", names[i], err))
					}
					errMu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	close(stopMon)
	<-monDone

	s := pm.Stats()
	t.Logf("%d queries (%d failed) by %d workers over %d users in %v; stats %+v", queries.Load(), failures.Load(), workers, users, duration, s)
	t.Logf("monitor: %d samples, max %d server-side connections, max %d open per the manager (bound %d)", samples, maxServer, maxOpen, maxConns)
	if monErr != nil {
		t.Fatalf("monitor: %v", monErr)
	}
	if samples < 20 {
		t.Errorf("monitor took only %d samples", samples)
	}
	if maxServer > maxConns {
		t.Errorf("server saw %d connections of the tenant users, bound is %d", maxServer, maxConns)
	}
	if maxOpen > maxConns {
		t.Errorf("manager counted %d open connections, bound is %d", maxOpen, maxConns)
	}
	if maxServer < maxConns/2 {
		t.Errorf("server saw at most %d connections: the bound of %d was not approached", maxServer, maxConns)
	}
	if failures.Load() != 0 {
		t.Errorf("%d of %d queries failed; first: %v", failures.Load(), queries.Load(), errors.Join(errs...))
	}
	if s.Waits == 0 {
		t.Error("no connection had to wait for a slot: the bound was not exercised")
	}
	if s.Evictions == 0 {
		t.Error("no pool was evicted")
	}

	// Closing the manager closes every connection.
	pm.Close()
	eventually(t, 10*time.Second, "manager's connections closed", openConnsZero(pm))
	eventually(t, 10*time.Second, "server connections closed", func() error {
		if n := serverConns(t, root, ofTest); n != 0 {
			return fmt.Errorf("%d server connections left", n)
		}
		return nil
	})
}

// ---------------------------------------------------------------------------
// Outage
// ---------------------------------------------------------------------------

// TestPoolOutage stops a private server under a manager: queries fail fast
// as DATABASE_UNAVAILABLE, and the same manager recovers once the server
// is back.
func TestPoolOutage(t *testing.T) {
	t.Parallel()
	m := testdb.StartMariaDB(t)
	ctx := context.Background()
	cfg := rootConfig(t, m.DSN())
	root := openRoot(t, cfg)
	srv := openServer(t, cfg)
	tn := newTenant(t, srv, root, "shop_", "1")

	pm := tenantdb.NewPoolManager(tenantdb.PoolOptions{})
	t.Cleanup(pm.Close)
	held, err := pm.Acquire(tn.creds)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	whoami(t, held.DB, tn)

	// A query running when the server goes down.
	type result struct {
		err  error
		took time.Duration
	}
	running := make(chan result, 1)
	go func() {
		begin := time.Now()
		var x int
		err := held.DB.QueryRowContext(ctx, "SELECT SLEEP(30)").Scan(&x)
		running <- result{err, time.Since(begin)}
	}()
	eventually(t, 10*time.Second, "sleeping query on the server", func() error {
		n, err := processlist.Count(context.Background(), root, func(_, info string) bool { return strings.HasPrefix(info, "SELECT SLEEP(30)") })
		if err != nil {
			return err
		}
		if n == 0 {
			return errors.New("not yet")
		}
		return nil
	})

	m.Stop()
	checkUnavailable := func(what string, err error, took time.Duration) {
		t.Helper()
		t.Logf("%s failed after %v: %v", what, took.Round(time.Millisecond), err)
		if err == nil {
			t.Fatalf("%s succeeded with the server down", what)
		}
		if !tenantdb.IsUnavailable(err) {
			t.Errorf("%s: IsUnavailable(%v) = false", what, err)
		}
		if tr := dberr.Translate(err); !apperr.Is(tr, "DATABASE_UNAVAILABLE") {
			t.Errorf("%s: Translate(%v) = %v, want DATABASE_UNAVAILABLE", what, err, tr)
		}
		if took > 10*time.Second {
			t.Errorf("%s took %v to fail", what, took)
		}
	}
	select {
	case r := <-running:
		checkUnavailable("query in flight at shutdown", r.err, r.took)
	case <-time.After(20 * time.Second):
		t.Fatal("query in flight at shutdown still hangs 20s later")
	}

	for i := range 3 {
		// Through the held lease and through a fresh one on the same pool.
		begin := time.Now()
		var v string
		err := held.DB.QueryRowContext(ctx, "SELECT v FROM kv WHERE id = 1").Scan(&v)
		checkUnavailable(fmt.Sprintf("query %d on the held lease", i), err, time.Since(begin))

		begin = time.Now()
		l, err := pm.Acquire(tn.creds)
		if err != nil {
			t.Fatalf("Acquire with the server down: %v", err) // no connection is made
		}
		_, err = l.DB.ExecContext(ctx, "UPDATE kv SET v = v WHERE id = 1")
		l.Release()
		checkUnavailable(fmt.Sprintf("update %d on a new lease", i), err, time.Since(begin))
	}
	if n := tn.opens.Load(); n != 1 {
		t.Fatalf("Open called %d times, want 1 (the pool survives the outage)", n)
	}
	// Failed connects give their slots back.
	eventually(t, 5*time.Second, "no open connections while the server is down", openConnsZero(pm))

	m.Start()
	restarted := time.Now()
	eventually(t, 5*time.Second, "queries through the same manager after restart", func() error {
		l, err := pm.Acquire(tn.creds)
		if err != nil {
			return err
		}
		defer l.Release()
		var v string
		return l.DB.QueryRowContext(ctx, "SELECT v FROM kv WHERE id = 1").Scan(&v)
	})
	t.Logf("recovered %v after the server answered", time.Since(restarted).Round(time.Millisecond))
	whoami(t, held.DB, tn)
	if s := pm.Stats(); s.Pools != 1 || s.OpenConns < 1 {
		t.Fatalf("stats after recovery = %+v", s)
	}
}

// ---------------------------------------------------------------------------
// Close
// ---------------------------------------------------------------------------

func TestPoolClose(t *testing.T) {
	t.Parallel()
	cfg := rootConfig(t, testdb.ServerDSN())
	root := openRoot(t, cfg)
	srv := openServer(t, cfg)
	prefix := testdb.Prefix(t)
	a := newTenant(t, srv, root, prefix, "a")
	b := newTenant(t, srv, root, prefix, "b")

	pm := tenantdb.NewPoolManager(tenantdb.PoolOptions{})
	held, err := pm.Acquire(a.creds)
	if err != nil {
		t.Fatal(err)
	}
	whoami(t, held.DB, a)
	lb, err := pm.Acquire(b.creds)
	if err != nil {
		t.Fatal(err)
	}
	whoami(t, lb.DB, b)
	lb.Release()

	pm.Close()
	if s := pm.Stats(); s.Pools != 0 {
		t.Fatalf("pools = %d after Close, want 0", s.Pools)
	}
	// The idle pool closes now...
	eventually(t, 5*time.Second, "idle pool closed", closedDB(lb.DB.DB))
	eventually(t, 5*time.Second, "server connections of the idle pool", noServerConns(t, root, b.user))
	// ...the leased one only after its lease.
	whoami(t, held.DB, a)
	if err := closedDB(held.DB.DB)(); err == nil {
		t.Fatal("Close closed a pool with a lease")
	}
	held.Release()
	eventually(t, 5*time.Second, "leased pool closed after release", closedDB(held.DB.DB))
	eventually(t, 5*time.Second, "server connections of the leased pool", noServerConns(t, root, a.user))
	eventually(t, 5*time.Second, "no open connections", openConnsZero(pm))
}
