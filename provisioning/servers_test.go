package provisioning_test

import (
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/config"
	"github.com/silo-dev/silo/internal/lib/login"
	"github.com/silo-dev/silo/internal/testsupport/testdb"
	"github.com/silo-dev/silo/provisioning"
)

// registered is a Provisioner over e's catalog that reaches every server
// through the registry, as silo serve does (e.prov knows one server).
func (e *env) registered(opts ...func(*provisioning.Options)) (*provisioning.Provisioner, *provisioning.Servers) {
	servers := provisioning.NewServers(e.catalog.Server, e.box)
	e.t.Cleanup(servers.Close)
	o := provisioning.Options{Prefix: e.prefix, CentralDatabase: e.centralDB, BaseDomain: "silo.test", Concurrency: 4,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, f := range opts {
		f(&o)
	}
	guard := login.NewGuard(login.GuardOptions{Cost: 4, PerIPPerMinute: 100, PerEmailPerMinute: 100})
	return provisioning.New(e.catalog, servers, e.box, guard, o), servers
}

// addServerAt registers the server at dsn as name.
func (e *env) addServerAt(t testing.TB, name, dsn string, capacity int) {
	t.Helper()
	cfg, err := config.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	rec := &central.Server{Name: name, Status: central.ServerActive, Capacity: capacity}
	provisioning.SealServer(e.box, rec, cfg)
	if err := e.catalog.AddServer(bg, rec); err != nil {
		t.Fatal(err)
	}
}

func mustExec(t testing.TB, db *sql.DB, stmt string) {
	t.Helper()
	if _, err := db.Exec(stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// The reconciliation check and repair cover every registered server: a
// tenant's database lands on its own server only; a missing DB user and
// wrong grants on the second server are reported and repaired; an orphan
// there is listed once; a server that stops answering is reported while
// the others are still checked.
func TestCheckAndRepairAcrossServers(t *testing.T) {
	t.Parallel()
	priv := testdb.StartMariaDB(t)
	e := newEnv(t)
	e.addServerAt(t, "priv", priv.DSN(), 10)
	p, _ := e.registered()
	onDefault, err := p.Create(bg, provisioning.NewTenant{Slug: "on-default", Name: "x", Server: central.DefaultServer})
	if err != nil {
		t.Fatal(err)
	}
	onPriv, err := p.Create(bg, provisioning.NewTenant{Slug: "on-priv", Name: "x", Server: "priv"})
	if err != nil {
		t.Fatal(err)
	}
	root := testdb.Connect(t, priv.DSN())
	if !testdb.DatabaseExists(t, root, onPriv.DatabaseName) || testdb.DatabaseExists(t, root, onDefault.DatabaseName) ||
		e.databaseExists(onPriv.DatabaseName) || !e.databaseExists(onDefault.DatabaseName) {
		t.Fatal("each tenant's database must be on its own server only")
	}
	check := func() *provisioning.Report {
		t.Helper()
		r, err := p.Check(bg)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := check(); !r.Clean() {
		t.Fatalf("fresh installation: %+v", r)
	}

	mustExec(t, root, "DROP USER '"+onPriv.DBUser+"'@'%'")
	mustExec(t, root, "CREATE DATABASE `"+e.prefix+"orphan`")
	r := check()
	if !slices.Contains(r.MissingUsers, "on-priv: "+onPriv.DBUser) || !slices.Equal(r.OrphanDatabases, []string{e.prefix + "orphan"}) {
		t.Fatalf("second server's problems not reported: %+v", r)
	}
	repaired, err := p.RepairAccounts(bg)
	if err != nil || !slices.Equal(repaired, []string{"on-priv"}) {
		t.Fatalf("repair: %v %v", repaired, err)
	}
	if r := check(); len(r.MissingUsers)+len(r.WrongGrants)+len(r.BrokenUsers) != 0 {
		t.Fatalf("after repair: %+v", r)
	}
	mustExec(t, root, "DROP DATABASE `"+e.prefix+"orphan`")

	priv.Stop()
	r = check()
	if len(r.UnreachableServers) != 1 || !strings.HasPrefix(r.UnreachableServers[0], "priv: ") || r.Clean() {
		t.Fatalf("stopped server not reported: %+v", r)
	}
	if len(r.MissingDatabases)+len(r.MissingUsers)+len(r.OrphanDatabases) != 0 {
		t.Fatalf("the default server's tenants must still check clean: %+v", r)
	}
	if _, err := p.RepairAccounts(bg); err == nil || !strings.Contains(err.Error(), "priv") {
		t.Fatalf("repair with a server down: %v, want an error naming it", err)
	}
}

// A fleet run works on each server with its own workers, side by side: a
// server that stops answering fails its own tenants (promptly, with the
// reason) and the other server's tenants are migrated; the status and the
// results say which server each tenant is on; a later run finishes them.
func TestFleetAcrossServers(t *testing.T) {
	t.Parallel()
	priv := testdb.StartMariaDB(t)
	e := newEnv(t)
	e.addServerAt(t, "priv", priv.DSN(), 10)
	p, _ := e.registered()
	for i := range 3 {
		for _, server := range []string{central.DefaultServer, "priv"} {
			slug := fmt.Sprintf("%s-%d", server, i)
			if _, err := p.Create(bg, provisioning.NewTenant{Slug: slug, Name: slug, Server: server}); err != nil {
				t.Fatal(err)
			}
		}
	}
	upgraded, _ := e.registered(func(o *provisioning.Options) { o.Migrations = extendedMigrations(t) })
	priv.Stop()
	start := time.Now()
	r, err := upgraded.MigrateFleet(bg, provisioning.FleetOptions{Concurrency: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Fatalf("the run took %v with a server down", took)
	}
	for _, res := range r.Results {
		want := provisioning.OutcomeMigrated
		if strings.HasPrefix(res.Slug, "priv-") {
			want = provisioning.OutcomeFailed
		}
		if res.Outcome != want || res.Server == "" || !strings.HasPrefix(res.Slug, res.Server+"-") {
			t.Fatalf("%s: %+v, want %s", res.Slug, res, want)
		}
		if want == provisioning.OutcomeFailed && res.Error == "" {
			t.Fatalf("%s failed without a reason", res.Slug)
		}
	}
	st, err := upgraded.FleetStatus(bg)
	if err != nil {
		t.Fatal(err)
	}
	if d, pr := st.ServerTotals[central.DefaultServer], st.ServerTotals["priv"]; d.UpToDate != 3 || pr.Behind != 3 || pr.Failed != 3 {
		t.Fatalf("status by server: default %+v, priv %+v", d, pr)
	}

	priv.Start()
	r, err = upgraded.MigrateFleet(bg, provisioning.FleetOptions{Concurrency: 2}, nil)
	if err != nil || !r.OK() {
		t.Fatalf("rerun: %v %+v", err, r)
	}
	requireCounts(t, r, map[string]int{provisioning.OutcomeMigrated: 3, provisioning.OutcomeUpToDate: 3})
}
