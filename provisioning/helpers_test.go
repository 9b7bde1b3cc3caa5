package provisioning_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/internal/lib/login"
	"github.com/silo-dev/silo/internal/lib/secretbox"
	"github.com/silo-dev/silo/internal/testsupport/testdb"
	"github.com/silo-dev/silo/provisioning"
	"github.com/silo-dev/silo/tenantdb"
)

// env is a provisioner on its own central database and tenant prefix.
type env struct {
	t         testing.TB
	prov      *provisioning.Provisioner
	catalog   *central.Catalog
	server    *tenantdb.Server
	central   *sqlx.DB
	centralDB string
	prefix    string
	box       *secretbox.Box
}

// newEnv starts a provisioner; opts may name the central database (set
// CentralDatabase; Prefix is already set), else it gets a fresh name.
func newEnv(t testing.TB, opts ...func(*provisioning.Options)) *env {
	t.Helper()
	ctx := context.Background()
	prefix := testdb.Prefix(t)
	o := provisioning.Options{Prefix: prefix, BaseDomain: "silo.test", Concurrency: 4, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, f := range opts {
		f(&o)
	}
	cfg := testdb.Central(t)
	if o.CentralDatabase != "" {
		cfg.DBName = o.CentralDatabase
		testdb.DropOnCleanup(t, cfg.DBName)
	}
	o.CentralDatabase = cfg.DBName
	if _, err := central.NewMigrator(cfg).Up(ctx); err != nil {
		t.Fatal(err)
	}
	db, err := central.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	server, err := tenantdb.OpenServer(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	box, _ := secretbox.New(bytes.Repeat([]byte{1}, 32))
	catalog := central.NewCatalog(db, cfg.DBName)
	locks, err := central.OpenLockPool(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { locks.Close() })
	catalog.UseLockPool(locks)
	if err := provisioning.RegisterDefault(ctx, catalog, box, cfg, provisioning.DefaultCapacity); err != nil {
		t.Fatal(err)
	}
	guard := login.NewGuard(login.GuardOptions{Cost: 4, PerIPPerMinute: 100, PerEmailPerMinute: 100})
	return &env{
		t: t, prov: provisioning.New(catalog, provisioning.OneServer(server), box, guard, o), catalog: catalog, server: server,
		central: db, centralDB: cfg.DBName, prefix: prefix, box: box,
	}
}

// tenantConn connects as the tenant's own DB user.
func (e *env) tenantConn(t *central.Tenant, database string) (*sqlx.DB, error) {
	pw, err := e.box.Open(t.DBPasswordEnc, []byte(t.DBUser))
	if err != nil {
		e.t.Fatal(err)
	}
	cfg := e.server.TenantConfig(database, t.DBUser, string(pw))
	return tenantdb.Open(context.Background(), cfg)
}

func (e *env) databaseExists(name string) bool { return testdb.DatabaseExists(e.t, e.central, name) }

func (e *env) userExists(name string) bool { return testdb.UserExists(e.t, e.central, name) }

func (e *env) count(query string, args ...any) int {
	var n int
	if err := e.central.Get(&n, query, args...); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// requireClean fails unless the reconciliation check finds nothing.
func (e *env) requireClean() {
	e.t.Helper()
	r, err := e.prov.Check(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	if !r.Clean() {
		e.t.Fatalf("reconciliation found problems: %+v", r)
	}
}

func isMySQLError(err error, number uint16) bool {
	me, ok := err.(*mysql.MySQLError)
	return ok && me.Number == number
}
