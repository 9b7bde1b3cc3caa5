package migrations_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/pressly/goose/v3"

	"github.com/silo-dev/silo/config"
	"github.com/silo-dev/silo/internal/testsupport/testdb"
	"github.com/silo-dev/silo/migrations"
)

// newDatabase creates a fresh, uniquely named database that is dropped when
// tb ends, and returns its configuration.
func newDatabase(tb testing.TB) *mysql.Config {
	tb.Helper()
	name := testdb.Name("mig")
	testdb.DropOnCleanup(tb, name)
	server := testdb.Server(tb)
	defer server.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := server.ExecContext(ctx, "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		tb.Fatalf("create database %s: %v", name, err)
	}
	cfg, err := config.ParseDSN(testdb.ServerDSN())
	if err != nil {
		tb.Fatal(err)
	}
	cfg.DBName = name
	return cfg
}

// open opens a pool on cfg; the caller (or goose) closes it.
func open(tb testing.TB, cfg *mysql.Config) *sql.DB {
	tb.Helper()
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		tb.Fatalf("connector: %v", err)
	}
	return sql.OpenDB(conn)
}

// openDB opens a pool on a fresh database, closed when tb ends.
func openDB(tb testing.TB) (*sql.DB, *mysql.Config) {
	tb.Helper()
	cfg := newDatabase(tb)
	db := open(tb, cfg)
	tb.Cleanup(func() { db.Close() })
	return db, cfg
}

// conn takes one session out of db, returned to the pool when tb ends.
func conn(tb testing.TB, db *sql.DB) *sql.Conn {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := db.Conn(ctx)
	if err != nil {
		tb.Fatalf("conn: %v", err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// uniqueKey is a lock key no other test (or process) uses.
func uniqueKey(tb testing.TB) string {
	tb.Helper()
	return "test:" + tb.Name() + ":" + testdb.Name("lock")
}

func ctxTimeout(tb testing.TB, d time.Duration) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}

func TestSessionLocker(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	ctx := ctxTimeout(t, 30*time.Second)
	key := uniqueKey(t)
	a := migrations.NewSessionLocker(key, time.Minute)
	b := migrations.NewSessionLocker(key, time.Second)
	connA, connB := conn(t, db), conn(t, db)

	if err := a.SessionLock(ctx, connA); err != nil {
		t.Fatalf("A lock: %v", err)
	}
	start := time.Now()
	if err := b.SessionLock(ctx, connB); !errors.Is(err, migrations.ErrLockTimeout) {
		t.Fatalf("B lock while A holds it: error = %v, want ErrLockTimeout", err)
	}
	if waited := time.Since(start); waited < 900*time.Millisecond {
		t.Errorf("B gave up after %v, want about its 1s timeout", waited)
	}
	if err := b.SessionUnlock(ctx, connB); err == nil {
		t.Error("B unlocked a lock A holds")
	}
	if err := a.SessionUnlock(ctx, connA); err != nil {
		t.Fatalf("A unlock: %v", err)
	}
	if err := b.SessionLock(ctx, connB); err != nil {
		t.Fatalf("B lock after A unlocked: %v", err)
	}
	if err := migrations.NewSessionLocker(key, time.Second).SessionLock(ctx, connA); !errors.Is(err, migrations.ErrLockTimeout) {
		t.Errorf("A lock while B holds it: error = %v, want ErrLockTimeout", err)
	}
	if err := b.SessionUnlock(ctx, connB); err != nil {
		t.Fatalf("B unlock: %v", err)
	}
	if err := b.SessionUnlock(ctx, connB); err == nil {
		t.Error("second unlock succeeded")
	}
}

func TestSessionLockerUnlockWithoutLock(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	ctx := ctxTimeout(t, 10*time.Second)
	l := migrations.NewSessionLocker(uniqueKey(t), time.Second)
	if err := l.SessionUnlock(ctx, conn(t, db)); err == nil {
		t.Error("unlock of a lock nobody holds succeeded")
	}
}

func TestSessionLockerDifferentKeysIndependent(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	ctx := ctxTimeout(t, 10*time.Second)
	a := migrations.NewSessionLocker(uniqueKey(t)+"-a", time.Second)
	b := migrations.NewSessionLocker(uniqueKey(t)+"-b", time.Second)
	connA, connB := conn(t, db), conn(t, db)
	if err := a.SessionLock(ctx, connA); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.SessionUnlock(context.Background(), connA) })
	start := time.Now()
	if err := b.SessionLock(ctx, connB); err != nil {
		t.Fatalf("lock on another key blocked: %v", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("lock on another key took %v", d)
	}
	if err := b.SessionUnlock(ctx, connB); err != nil {
		t.Fatal(err)
	}
}

func TestSessionLockerSubSecondTimeoutWaits(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	ctx := ctxTimeout(t, 10*time.Second)
	key := uniqueKey(t)
	holder := migrations.NewSessionLocker(key, time.Second)
	connA, connB := conn(t, db), conn(t, db)
	if err := holder.SessionLock(ctx, connA); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = holder.SessionUnlock(context.Background(), connA) })
	start := time.Now()
	err := migrations.NewSessionLocker(key, 10*time.Millisecond).SessionLock(ctx, connB)
	if !errors.Is(err, migrations.ErrLockTimeout) {
		t.Fatalf("error = %v, want ErrLockTimeout", err)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("a sub-second timeout waited %v, want it rounded up to 1s", d)
	}
}

// TestSessionLockerReleasedWhenSessionEnds: a crashed runner's lock goes
// away with its connection.
func TestSessionLockerReleasedWhenSessionEnds(t *testing.T) {
	t.Parallel()
	db, cfg := openDB(t)
	ctx := ctxTimeout(t, 30*time.Second)
	key := uniqueKey(t)

	crashed := open(t, cfg)
	connA, err := crashed.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrations.NewSessionLocker(key, time.Second).SessionLock(ctx, connA); err != nil {
		t.Fatal(err)
	}
	// End the session without unlocking.
	crashed.SetMaxIdleConns(0)
	connA.Close()
	crashed.Close()

	if err := migrations.NewSessionLocker(key, 10*time.Second).SessionLock(ctx, conn(t, db)); err != nil {
		t.Fatalf("lock of a closed session was not released: %v", err)
	}
}

func TestSessionLockerContextCanceled(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	ctx := ctxTimeout(t, 30*time.Second)
	key := uniqueKey(t)
	connA := conn(t, db)
	if err := migrations.NewSessionLocker(key, time.Second).SessionLock(ctx, connA); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = migrations.NewSessionLocker(key, time.Second).SessionUnlock(context.Background(), connA) })

	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := migrations.NewSessionLocker(key, time.Minute).SessionLock(short, conn(t, db))
	if err == nil {
		t.Fatal("lock acquired while another session holds it")
	}
	if errors.Is(err, migrations.ErrLockTimeout) {
		t.Errorf("canceled wait reported as ErrLockTimeout: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("canceled wait returned after %v", d)
	}
}

func TestLockName(t *testing.T) {
	t.Parallel()
	keys := []string{
		"", "central", "central:127.0.0.1:3306/silo_central",
		strings.Repeat("k", 64), strings.Repeat("long key ", 1000), "ünïcødé 🙂",
	}
	seen := map[string]string{}
	for _, key := range keys {
		name := migrations.LockName(key)
		if len(name) > 64 {
			t.Errorf("LockName(%.20q) = %q has %d characters, MySQL allows 64", key, name, len(name))
		}
		if name == "" {
			t.Errorf("LockName(%.20q) is empty", key)
		}
		if !strings.HasPrefix(name, "silo:migrate:") {
			t.Errorf("LockName(%.20q) = %q lacks the silo:migrate: prefix", key, name)
		}
		if again := migrations.LockName(key); again != name {
			t.Errorf("LockName(%.20q) not stable: %q then %q", key, name, again)
		}
		if other, dup := seen[name]; dup {
			t.Errorf("keys %.20q and %.20q share lock name %q", key, other, name)
		}
		seen[name] = key
	}
	if migrations.LockName("central:a/x") == migrations.LockName("central:a/y") {
		t.Error("different databases share a lock name")
	}
}

// migrationFiles lists the central migration files in version order.
func migrationFiles(tb testing.TB) []string {
	tb.Helper()
	names, err := fs.Glob(migrations.Central(), "*.sql")
	if err != nil {
		tb.Fatal(err)
	}
	sort.Strings(names)
	if len(names) == 0 {
		tb.Fatal("no central migrations embedded")
	}
	return names
}

var fileName = regexp.MustCompile(`^(\d{5})_[a-z0-9_]+\.sql$`)

func TestCentralMigrationFiles(t *testing.T) {
	t.Parallel()
	fsys := migrations.Central()
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			t.Errorf("unexpected entry %q among the migrations", e.Name())
		}
	}
	for i, name := range migrationFiles(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m := fileName.FindStringSubmatch(name)
			if m == nil {
				t.Fatalf("file name %q is not NNNNN_name.sql", name)
			}
			if v, _ := strconv.Atoi(m[1]); v != i+1 {
				t.Errorf("version %d, want %d (versions must be sequential)", v, i+1)
			}
			b, err := fs.ReadFile(fsys, name)
			if err != nil {
				t.Fatal(err)
			}
			text := string(b)
			up := strings.Index(text, "-- +goose Up")
			down := strings.Index(text, "-- +goose Down")
			if up < 0 {
				t.Error(`missing "-- +goose Up"`)
			}
			if down < 0 {
				t.Error(`missing "-- +goose Down"`)
			}
			if up >= 0 && down >= 0 {
				if down < up {
					t.Error("Down section comes before Up")
				}
				if strings.Count(text, "-- +goose Up") != 1 || strings.Count(text, "-- +goose Down") != 1 {
					t.Error("more than one Up or Down annotation")
				}
				if strings.TrimSpace(text[up+len("-- +goose Up"):down]) == "" {
					t.Error("empty Up section")
				}
				if strings.TrimSpace(text[down+len("-- +goose Down"):]) == "" {
					t.Error("empty Down section")
				}
			}
		})
	}
}

// newProvider returns a provider on a fresh pool for cfg; closing it (at
// cleanup) closes the pool.
func newProvider(tb testing.TB, cfg *mysql.Config) *migrations.Provider {
	tb.Helper()
	db := open(tb, cfg)
	p, err := migrations.NewProvider(db, migrations.Central(), "", "central:"+cfg.Addr+"/"+cfg.DBName)
	if err != nil {
		db.Close()
		tb.Fatalf("NewProvider: %v", err)
	}
	tb.Cleanup(func() { p.Close() })
	return p
}

// tables lists the base tables of cfg's database.
func tables(tb testing.TB, db *sql.DB, name string) []string {
	tb.Helper()
	rows, err := db.QueryContext(context.Background(),
		"SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_type = 'BASE TABLE' ORDER BY table_name", name)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			tb.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

func requireVersion(tb testing.TB, p *migrations.Provider, want int64) {
	tb.Helper()
	v, err := p.GetDBVersion(context.Background())
	if err != nil {
		tb.Fatalf("GetDBVersion: %v", err)
	}
	if v != want {
		tb.Fatalf("database version = %d, want %d", v, want)
	}
}

func TestProviderUpStatusDown(t *testing.T) {
	t.Parallel()
	cfg := newDatabase(t)
	db := open(t, cfg)
	t.Cleanup(func() { db.Close() })
	ctx := ctxTimeout(t, 50*time.Second)
	p := newProvider(t, cfg)
	n := int64(len(migrationFiles(t)))

	if got := len(p.ListSources()); int64(got) != n {
		t.Fatalf("provider has %d sources, want %d", got, n)
	}
	pending, err := p.HasPending(ctx)
	if err != nil || !pending {
		t.Fatalf("HasPending on an empty database = %v, %v; want true", pending, err)
	}

	res, err := p.Up(ctx)
	if err != nil {
		t.Fatalf("Up: %v", err)
	}
	if int64(len(res)) != n {
		t.Fatalf("Up applied %d migrations, want %d", len(res), n)
	}
	for i, r := range res {
		if r.Error != nil {
			t.Errorf("migration %d: %v", r.Source.Version, r.Error)
		}
		if r.Source.Version != int64(i+1) || r.Direction != "up" {
			t.Errorf("result %d = version %d %s", i, r.Source.Version, r.Direction)
		}
	}
	requireVersion(t, p, n)
	got := "," + strings.Join(tables(t, db, cfg.DBName), ",") + ","
	for _, want := range []string{"central_locks", "goose_db_version", "refresh_tokens", "users", "tenants", "audit_log"} {
		if !strings.Contains(got, ","+want+",") {
			t.Errorf("tables after Up = %s, missing %s", got, want)
		}
	}
	var lockRows int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM central_locks WHERE name = 'admins'").Scan(&lockRows); err != nil || lockRows != 1 {
		t.Errorf("seeded admins lock row: count %d, %v", lockRows, err)
	}

	status, err := p.Status(ctx)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if int64(len(status)) != n {
		t.Fatalf("Status lists %d migrations, want %d", len(status), n)
	}
	for _, s := range status {
		if s.State != goose.StateApplied {
			t.Errorf("migration %d state = %s, want applied", s.Source.Version, s.State)
		}
		if s.AppliedAt.IsZero() {
			t.Errorf("migration %d has no applied time", s.Source.Version)
		}
	}

	down, err := p.Down(ctx)
	if err != nil {
		t.Fatalf("Down: %v", err)
	}
	if down.Source.Version != n || down.Error != nil || down.Direction != "down" {
		t.Errorf("Down rolled back %d (%s, %v), want %d", down.Source.Version, down.Direction, down.Error, n)
	}
	requireVersion(t, p, n-1)
	status, err = p.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range status {
		want := goose.StateApplied
		if s.Source.Version == n {
			want = goose.StatePending
		}
		if s.State != want {
			t.Errorf("after Down, migration %d state = %s, want %s", s.Source.Version, s.State, want)
		}
	}

	res, err = p.Up(ctx)
	if err != nil {
		t.Fatalf("Up after Down: %v", err)
	}
	if len(res) != 1 || res[0].Source.Version != n {
		t.Errorf("Up after Down applied %d migrations, want only version %d", len(res), n)
	}
	requireVersion(t, p, n)

	res, err = p.Up(ctx)
	if err != nil {
		t.Fatalf("second Up: %v", err)
	}
	if len(res) != 0 {
		t.Errorf("second Up applied %d migrations, want none", len(res))
	}
	requireVersion(t, p, n)

	// Every Down section works: roll everything back, then forward again.
	all, err := p.DownTo(ctx, 0)
	if err != nil {
		t.Fatalf("DownTo(0): %v", err)
	}
	if int64(len(all)) != n {
		t.Errorf("DownTo(0) rolled back %d migrations, want %d", len(all), n)
	}
	requireVersion(t, p, 0)
	if got := tables(t, db, cfg.DBName); strings.Join(got, ",") != "goose_db_version" {
		t.Errorf("tables after rolling everything back = %v, want only goose_db_version", got)
	}
	if _, err := p.Down(ctx); !errors.Is(err, goose.ErrNoNextVersion) {
		t.Errorf("Down with nothing applied: error = %v, want ErrNoNextVersion", err)
	}
	if res, err := p.Up(ctx); err != nil || int64(len(res)) != n {
		t.Fatalf("Up after full rollback: %d applied, %v", len(res), err)
	}
	requireVersion(t, p, n)
}

func TestProviderConcurrentUp(t *testing.T) {
	t.Parallel()
	cfg := newDatabase(t)
	ctx := ctxTimeout(t, 50*time.Second)
	n := len(migrationFiles(t))
	const runners = 3
	providers := make([]*migrations.Provider, runners)
	for i := range providers {
		providers[i] = newProvider(t, cfg)
	}
	var wg sync.WaitGroup
	applied := make([]int, runners)
	errs := make([]error, runners)
	for i, p := range providers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := migrations.Up(ctx, p)
			applied[i], errs[i] = len(res), err
		}()
	}
	wg.Wait()
	total := 0
	for i := range runners {
		if errs[i] != nil {
			t.Errorf("runner %d: %v", i, errs[i])
		}
		total += applied[i]
	}
	if total != n {
		t.Errorf("runners applied %v migrations in total %d, want each of the %d exactly once", applied, total, n)
	}
	requireVersion(t, providers[0], int64(n))
}

func TestProviderClosesDB(t *testing.T) {
	t.Parallel()
	cfg := newDatabase(t)
	db := open(t, cfg)
	p, err := migrations.NewProvider(db, migrations.Central(), "", fmt.Sprintf("central:%s/%s", cfg.Addr, cfg.DBName))
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	if err := p.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := db.PingContext(context.Background()); err == nil {
		t.Error("db still open after closing the provider")
	}
}

func TestProviderWaitsForLock(t *testing.T) {
	t.Parallel()
	cfg := newDatabase(t)
	db := open(t, cfg)
	t.Cleanup(func() { db.Close() })
	ctx := ctxTimeout(t, 30*time.Second)
	lockKey := "central:" + cfg.Addr + "/" + cfg.DBName

	// Another runner holds the migration lock.
	holder := conn(t, db)
	l := migrations.NewSessionLocker(lockKey, time.Second)
	if err := l.SessionLock(ctx, holder); err != nil {
		t.Fatal(err)
	}
	p := newProvider(t, cfg)
	done := make(chan error, 1)
	go func() {
		_, err := p.Up(ctx)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Up finished while another session held the lock: %v", err)
	case <-time.After(700 * time.Millisecond):
	}
	if err := l.SessionUnlock(ctx, holder); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Up after the lock was released: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("Up did not finish after the lock was released")
	}
	requireVersion(t, p, int64(len(migrationFiles(t))))
}

// A runner killed between goose's CREATE TABLE of the version table and its
// zero-row INSERT (MySQL commits the DDL at once) leaves an empty version
// table; the next Up writes the zero row and migrates, instead of failing
// with "missing zero version migration" forever.
func TestUpRepairsEmptyVersionTable(t *testing.T) {
	t.Parallel()
	cfg := newDatabase(t)
	ctx := ctxTimeout(t, 50*time.Second)
	db := open(t, cfg)
	_, err := db.ExecContext(ctx, `CREATE TABLE goose_db_version (
		id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
		version_id bigint NOT NULL,
		is_applied boolean NOT NULL,
		tstamp datetime NULL default CURRENT_TIMESTAMP,
		PRIMARY KEY(id))`)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	p := newProvider(t, cfg)
	res, err := migrations.Up(ctx, p)
	if err != nil {
		t.Fatalf("Up on an empty version table: %v", err)
	}
	if n := len(migrationFiles(t)); len(res) != n {
		t.Fatalf("applied %d migrations, want %d", len(res), n)
	}
	requireVersion(t, p, int64(len(res)))
}

// A migration's context outlives its parent's cancellation by the grace,
// then ends; stop ends it at once.
func TestUncancelled(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	run, stop := migrations.Uncancelled(parent, 50*time.Millisecond)
	defer stop()
	cancel()
	if err := run.Err(); err != nil {
		t.Fatalf("cancelling the parent ended the migration's context at once: %v", err)
	}
	select {
	case <-run.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the migration's context outlived the grace")
	}

	run, stop = migrations.Uncancelled(context.Background(), time.Hour)
	stop()
	if run.Err() == nil {
		t.Fatal("stop left the migration's context running")
	}
}
