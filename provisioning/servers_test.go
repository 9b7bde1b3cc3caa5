package provisioning_test

import (
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
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
// tenant's database lands on its own server only; a wrong grant and a
// missing DB user on the second server are reported and repaired; an
// orphan there is listed once; a server that stops answering is reported while
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

	// A grant beyond the tenant's own database, on the second server.
	mustExec(t, root, "CREATE DATABASE `"+e.prefix+"orphan`")
	mustExec(t, root, "GRANT SELECT ON `"+e.prefix+"orphan`.* TO '"+onPriv.DBUser+"'@'%'")
	r := check()
	if len(r.WrongGrants) != 1 || !strings.HasPrefix(r.WrongGrants[0], "on-priv: "+onPriv.DBUser+": ") {
		t.Fatalf("second server's wrong grant not reported: %+v", r)
	}
	if repaired, err := p.RepairAccounts(bg); err != nil || !slices.Equal(repaired, []string{"on-priv"}) {
		t.Fatalf("repair of the grant: %v %v", repaired, err)
	}
	// A dropped DB user, and the orphan.
	mustExec(t, root, "DROP USER '"+onPriv.DBUser+"'@'%'")
	r = check()
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

// Two processes (each with its own central connections and its own
// server connections) start a fleet run at once over tenants on two
// servers: every migration is applied exactly once, whoever applied it.
func TestFleetRunnersAtOnceAcrossServers(t *testing.T) {
	t.Parallel()
	priv := testdb.StartMariaDB(t)
	e := newEnv(t)
	e.addServerAt(t, "priv", priv.DSN(), 10)
	p, _ := e.registered()
	var slugs []string
	for i := range 4 {
		for _, server := range []string{central.DefaultServer, "priv"} {
			slug := fmt.Sprintf("%s-%d", server, i)
			if _, err := p.Create(bg, provisioning.NewTenant{Slug: slug, Name: slug, Server: server}); err != nil {
				t.Fatal(err)
			}
			slugs = append(slugs, slug)
		}
	}
	ext := func(o *provisioning.Options) { o.Migrations = extendedMigrations(t) }
	first, _ := e.registered(ext)
	catalog2, _ := e.secondProcess()
	servers2 := provisioning.NewServers(catalog2.Server, e.box)
	t.Cleanup(servers2.Close)
	second := provisioning.New(catalog2, servers2, e.box, login.NewGuard(login.GuardOptions{Cost: 4}), provisioning.Options{
		Prefix: e.prefix, CentralDatabase: e.centralDB, Migrations: extendedMigrations(t), Log: slog.New(slog.DiscardHandler)})
	var wg sync.WaitGroup
	reports := make([]*provisioning.FleetReport, 2)
	for i, runner := range []*provisioning.Provisioner{first, second} {
		wg.Go(func() {
			r, err := runner.MigrateFleet(bg, provisioning.FleetOptions{Concurrency: 2}, nil)
			if err != nil {
				t.Error(err)
			}
			reports[i] = r
		})
	}
	wg.Wait()
	migrated := map[string]int{}
	for i, r := range reports {
		if r == nil || !r.OK() {
			t.Fatalf("runner %d: %+v", i, r)
		}
		for _, res := range r.Results {
			if res.Outcome == provisioning.OutcomeMigrated {
				migrated[res.Slug]++
			}
		}
	}
	privRoot := testdb.Connect(t, priv.DSN())
	for _, slug := range slugs {
		if migrated[slug] == 0 {
			t.Fatalf("nobody migrated %s", slug)
		}
		db := e.dbName(slug)
		var rows int
		q := "SELECT COUNT(*) FROM `" + db + "`.goose_db_version WHERE is_applied AND version_id IN (?, ?)"
		root := e.central.DB
		if strings.HasPrefix(slug, "priv-") {
			root = privRoot
		}
		if err := root.QueryRow(q, nickVersion, idxVersion).Scan(&rows); err != nil || rows != 2 {
			t.Fatalf("%s: %d version rows of the two new migrations (%v), want exactly 2", slug, rows, err)
		}
	}
}

// Requests that find a server not yet open connect to it at once; each
// gets a server it can use: the one kept, never one another request
// closed on finding it had lost the race (which answered "sql: database
// is closed" to tenant creations started together).
func TestServersOpenedAtOnceStayOpen(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	servers := provisioning.NewServers(e.catalog.Server, e.box)
	t.Cleanup(servers.Close)
	const n = 16
	got := make([]provisioning.Server, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			got[i], errs[i] = servers.Get(bg, central.DefaultServer)
		}()
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Get %d: %v", i, errs[i])
		}
		if _, err := got[i].Databases(bg, e.prefix); err != nil {
			t.Errorf("the server Get %d returned: %v", i, err)
		}
	}
}
