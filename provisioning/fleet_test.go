package provisioning_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/config"
	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/internal/lib/login"
	"github.com/silo-dev/silo/internal/testsupport/testdb"
	"github.com/silo-dev/silo/migrations"
	"github.com/silo-dev/silo/provisioning"
	"github.com/silo-dev/silo/tenantdb"
)

// The fleet tests provision tenants with the shipped tenant migrations and
// then migrate them with a second Provisioner (as a newer binary would be)
// whose migration set has two more, test-only migrations: one adds
// users.nickname, the next indexes it.

var (
	baseVersion = migrations.Latest(migrations.Tenant())
	nickVersion = baseVersion + 1 // adds users.nickname
	idxVersion  = baseVersion + 2 // indexes it; the extended set's latest
)

// extendedMigrations is every shipped tenant migration plus the two test ones.
func extendedMigrations(t testing.TB) fs.FS {
	t.Helper()
	base := migrations.Tenant()
	m := fstest.MapFS{}
	entries, err := fs.ReadDir(base, ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := fs.ReadFile(base, e.Name())
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = &fstest.MapFile{Data: b}
	}
	m[fmt.Sprintf("%05d_add_nickname.sql", nickVersion)] = &fstest.MapFile{Data: []byte(
		"-- +goose Up\nALTER TABLE users ADD COLUMN nickname VARCHAR(50) NULL;\n\n" +
			"-- +goose Down\nALTER TABLE users DROP COLUMN nickname;\n")}
	m[fmt.Sprintf("%05d_index_nickname.sql", idxVersion)] = &fstest.MapFile{Data: []byte(
		"-- +goose Up\nCREATE INDEX users_nickname ON users (nickname);\n\n" +
			"-- +goose Down\nDROP INDEX users_nickname ON users;\n")}
	return m
}

// countingServer is the real server, counting the calls that open a
// connection to a tenant database for a fleet run.
type countingServer struct {
	*tenantdb.Server
	migrateTo atomic.Int64
	version   atomic.Int64
}

func (s *countingServer) MigrateTo(ctx context.Context, database string, set migrations.Set, up bool, to int64) (int64, error) {
	s.migrateTo.Add(1)
	return s.Server.MigrateTo(ctx, database, set, up, to)
}

func (s *countingServer) Version(ctx context.Context, database string, set migrations.Set) (int64, error) {
	s.version.Add(1)
	return s.Server.Version(ctx, database, set)
}

// NewMigrator counts the fleet workers' calls too.
func (s *countingServer) NewMigrator() (tenantdb.MigrationConn, error) {
	m, err := s.Server.NewMigrator()
	if err != nil {
		return nil, err
	}
	return &countingMigrator{MigrationConn: m, s: s}, nil
}

// countingMigrator counts a fleet worker's calls in its countingServer.
type countingMigrator struct {
	tenantdb.MigrationConn
	s *countingServer
}

func (m *countingMigrator) MigrateTo(ctx context.Context, database string, set migrations.Set, up bool, to int64) (int64, error) {
	m.s.migrateTo.Add(1)
	return m.MigrationConn.MigrateTo(ctx, database, set, up, to)
}

func (m *countingMigrator) Version(ctx context.Context, database string, set migrations.Set) (int64, error) {
	m.s.version.Add(1)
	return m.MigrationConn.Version(ctx, database, set)
}

// calls is how many per-tenant calls on a tenant database the fleet runs made.
func (s *countingServer) calls() int64 { return s.migrateTo.Load() + s.version.Load() }

// upgraded is a Provisioner over the same catalog, server and box as e's
// whose migrations are the extended set.
func (e *env) upgraded(opts ...func(*provisioning.Options)) (*provisioning.Provisioner, *countingServer) {
	srv := &countingServer{Server: e.server}
	return e.provisionerOn(e.catalog, srv, extendedMigrations(e.t), opts...), srv
}

func (e *env) provisionerOn(catalog provisioning.Catalog, srv provisioning.Server, fsys fs.FS, opts ...func(*provisioning.Options)) *provisioning.Provisioner {
	o := provisioning.Options{Prefix: e.prefix, BaseDomain: "silo.test", Concurrency: 4,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Migrations: fsys}
	for _, f := range opts {
		f(&o)
	}
	guard := login.NewGuard(login.GuardOptions{Cost: 4, PerIPPerMinute: 100, PerEmailPerMinute: 100})
	return provisioning.New(catalog, provisioning.OneServer(srv), e.box, guard, o)
}

// secondProcess is a catalog and a server with pools of their own, as
// another silo process would have them.
func (e *env) secondProcess() (*central.Catalog, *tenantdb.Server) {
	e.t.Helper()
	cfg, err := config.ParseDSN(testdb.ServerDSN())
	if err != nil {
		e.t.Fatal(err)
	}
	cfg.DBName = e.centralDB
	db, err := central.Open(bg, cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { db.Close() })
	srv, err := tenantdb.OpenServer(bg, cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { srv.Close() })
	return central.NewCatalog(db, e.centralDB), srv
}

// createTenants provisions the tenants with e's (base) provisioner, a few
// at once (see TestCreateManyAtOnce); their catalog order among themselves
// is then arbitrary.
func (e *env) createTenants(slugs ...string) {
	e.t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(slugs))
	gate := make(chan struct{}, 8)
	for i, slug := range slugs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			gate <- struct{}{}
			defer func() { <-gate }()
			_, errs[i] = e.prov.Create(bg, provisioning.NewTenant{Slug: slug, Name: slug})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		e.t.Fatal(err)
	}
}

// dbName is a tenant's database name (tenants created by Create).
func (e *env) dbName(slug string) string {
	return e.prefix + strings.ReplaceAll(slug, "-", "_")
}

// rootExec runs DDL as root on one of the test's own tenant databases.
func (e *env) rootExec(database, stmt string) {
	e.t.Helper()
	if !strings.HasPrefix(database, e.prefix) || !tenantdb.ValidDatabase(database) {
		e.t.Fatalf("refusing to touch %q: not the test's", database)
	}
	if _, err := e.central.Exec(strings.ReplaceAll(stmt, "{db}", "`"+database+"`")); err != nil {
		e.t.Fatalf("%s: %v", stmt, err)
	}
}

// catalogVersion reads a tenant's schema_version and migration_error as root.
func (e *env) catalogVersion(slug string) (int64, *string) {
	e.t.Helper()
	var row struct {
		V   int64   `db:"schema_version"`
		Err *string `db:"migration_error"`
	}
	if err := e.central.Get(&row, "SELECT schema_version, migration_error FROM tenants WHERE slug = ?", slug); err != nil {
		e.t.Fatalf("catalog row of %s: %v", slug, err)
	}
	return row.V, row.Err
}

func (e *env) setCatalogVersion(slug string, v int64) {
	e.t.Helper()
	if _, err := e.central.Exec("UPDATE tenants SET schema_version = ? WHERE slug = ?", v, slug); err != nil {
		e.t.Fatal(err)
	}
	if got, _ := e.catalogVersion(slug); got != v {
		e.t.Fatalf("schema_version of %s is %d after setting %d", slug, got, v)
	}
}

func (e *env) hasColumn(database, table, column string) bool {
	return e.count("SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?",
		database, table, column) == 1
}

func (e *env) hasIndex(database, table, index string) bool {
	return e.count("SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = ?",
		database, table, index) > 0
}

// gooseRows counts the applied rows per version in a database's goose table.
func (e *env) gooseRows(database string) map[int64]int {
	e.t.Helper()
	if !tenantdb.ValidDatabase(database) {
		e.t.Fatalf("bad database name %q", database)
	}
	var rows []struct {
		V int64 `db:"version_id"`
		N int   `db:"n"`
	}
	if err := e.central.Select(&rows, "SELECT version_id, COUNT(*) AS n FROM `"+database+"`.goose_db_version WHERE is_applied GROUP BY version_id"); err != nil {
		e.t.Fatalf("goose table of %s: %v", database, err)
	}
	out := map[int64]int{}
	for _, r := range rows {
		out[r.V] = r.N
	}
	return out
}

// requireSchema fails unless database is at version v, as the goose table
// and information_schema both show: each applied migration recorded once.
func (e *env) requireSchema(database string, v int64) {
	e.t.Helper()
	rows := e.gooseRows(database)
	for version := int64(1); version <= idxVersion; version++ {
		want := 0
		if version <= v {
			want = 1
		}
		if rows[version] != want {
			e.t.Fatalf("%s: goose_db_version has %d rows of version %d, want %d (all: %v)", database, rows[version], version, want, rows)
		}
	}
	if got := e.hasColumn(database, "users", "nickname"); got != (v >= nickVersion) {
		e.t.Fatalf("%s at version %d: users.nickname exists = %v", database, v, got)
	}
	if got := e.hasIndex(database, "users", "users_nickname"); got != (v >= idxVersion) {
		e.t.Fatalf("%s at version %d: index users_nickname exists = %v", database, v, got)
	}
}

// results indexes a report by slug, failing on a tenant reported twice or
// counts that do not add up.
func results(t testing.TB, r *provisioning.FleetReport) map[string]provisioning.TenantResult {
	t.Helper()
	out := map[string]provisioning.TenantResult{}
	counts := map[string]int{}
	for _, res := range r.Results {
		if _, dup := out[res.Slug]; dup {
			t.Fatalf("%s reported twice: %+v", res.Slug, r.Results)
		}
		out[res.Slug] = res
		counts[res.Outcome]++
	}
	if !mapsEqual(counts, r.Counts) {
		t.Fatalf("Counts = %v, results add up to %v", r.Counts, counts)
	}
	return out
}

func requireCounts(t testing.TB, r *provisioning.FleetReport, want map[string]int) {
	t.Helper()
	if !mapsEqual(r.Counts, want) {
		t.Fatalf("Counts = %v, want %v; results: %+v", r.Counts, want, r.Results)
	}
}

func mapsEqual(a, b map[string]int) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

func requireResult(t testing.TB, res provisioning.TenantResult, outcome string, from, to int64) {
	t.Helper()
	if res.Outcome != outcome || res.From != from || res.To != to {
		t.Fatalf("%s: %s %d -> %d, want %s %d -> %d (%+v)", res.Slug, res.Outcome, res.From, res.To, outcome, from, to, res)
	}
	if outcome != provisioning.OutcomeFailed && res.Error != "" {
		t.Fatalf("%s: %s with error %q", res.Slug, outcome, res.Error)
	}
}

func slugs(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%02d", prefix, i)
	}
	return out
}

func migrate(t testing.TB, p *provisioning.Provisioner, o provisioning.FleetOptions) *provisioning.FleetReport {
	t.Helper()
	r, err := p.MigrateFleet(bg, o, nil)
	if err != nil {
		t.Fatalf("MigrateFleet(%+v): %v", o, err)
	}
	return r
}

func TestFleetMigrates30Tenants(t *testing.T) {
	t.Parallel()
	const n = 30
	e := newEnv(t)
	all := slugs("fleet", n)
	e.createTenants(all...)
	p, srv := e.upgraded()
	if p.Latest() != idxVersion {
		t.Fatalf("Latest = %d, want %d", p.Latest(), idxVersion)
	}

	st, err := p.FleetStatus(bg)
	if err != nil {
		t.Fatal(err)
	}
	if st.LatestVersion != idxVersion || st.Totals != (provisioning.FleetTotals{Tenants: n, Behind: n}) {
		t.Fatalf("status before: latest %d, totals %+v", st.LatestVersion, st.Totals)
	}
	for _, ts := range st.Tenants {
		if ts.SchemaVersion != baseVersion || ts.Pending != 2 || ts.LatestVersion != idxVersion || ts.Status != central.StatusActive {
			t.Fatalf("status before: %+v", ts)
		}
	}

	var mu sync.Mutex
	var seen []string
	start := time.Now()
	first, err := p.MigrateFleet(bg, provisioning.FleetOptions{Concurrency: 8}, func(r provisioning.TenantResult) {
		mu.Lock()
		seen = append(seen, r.Slug)
		mu.Unlock()
	})
	firstWall := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if !first.OK() || first.Target != idxVersion {
		t.Fatalf("first run: OK %v, target %d: %+v", first.OK(), first.Target, first.Results)
	}
	requireCounts(t, first, map[string]int{provisioning.OutcomeMigrated: n})
	byslug := results(t, first)
	slices.Sort(seen)
	if !slices.Equal(seen, all) {
		t.Fatalf("progress saw %v", seen)
	}
	for _, slug := range all {
		requireResult(t, byslug[slug], provisioning.OutcomeMigrated, baseVersion, idxVersion)
		if v, merr := e.catalogVersion(slug); v != idxVersion || merr != nil {
			t.Fatalf("%s: catalog schema_version %d, migration_error %v", slug, v, merr)
		}
		e.requireSchema(e.dbName(slug), idxVersion)
	}
	if got := srv.calls(); got != n {
		t.Fatalf("first run opened %d tenant connections, want %d", got, n)
	}

	// Nothing to do: the catalog answers, no tenant database is touched.
	start = time.Now()
	second := migrate(t, p, provisioning.FleetOptions{Concurrency: 8})
	secondWall := time.Since(start)
	requireCounts(t, second, map[string]int{provisioning.OutcomeUpToDate: n})
	for _, res := range results(t, second) {
		requireResult(t, res, provisioning.OutcomeUpToDate, idxVersion, idxVersion)
	}
	if got := srv.calls(); got != n {
		t.Fatalf("the no-op run opened %d tenant connections", got-n)
	}
	t.Logf("%d tenants: first run %v (report %v), no-op run %v (report %v)", n, firstWall, first.Duration, secondWall, second.Duration)
	if secondWall*4 > firstWall {
		t.Fatalf("no-op run took %v, not much faster than the first run's %v", secondWall, firstWall)
	}

	st, err = p.FleetStatus(bg)
	if err != nil {
		t.Fatal(err)
	}
	if st.Totals != (provisioning.FleetTotals{Tenants: n, UpToDate: n}) {
		t.Fatalf("status after: %+v", st.Totals)
	}
	e.requireClean()
}

func TestFleetFailingTenants(t *testing.T) {
	t.Parallel()
	const n = 30
	e := newEnv(t)
	all := slugs("tenant", n)
	e.createTenants(all...)
	broken := []string{all[3], all[17]}
	for _, slug := range broken {
		// The column the next migration adds, made by hand: it conflicts.
		e.rootExec(e.dbName(slug), "ALTER TABLE {db}.users ADD COLUMN nickname VARCHAR(50) NULL")
	}
	p, _ := e.upgraded()
	r := migrate(t, p, provisioning.FleetOptions{Concurrency: 6})
	if r.OK() {
		t.Fatal("OK with two failed tenants")
	}
	requireCounts(t, r, map[string]int{provisioning.OutcomeMigrated: n - 2, provisioning.OutcomeFailed: 2})
	byslug := results(t, r)
	for _, slug := range all {
		res := byslug[slug]
		v, merr := e.catalogVersion(slug)
		if !slices.Contains(broken, slug) {
			requireResult(t, res, provisioning.OutcomeMigrated, baseVersion, idxVersion)
			if v != idxVersion || merr != nil {
				t.Fatalf("%s: catalog %d %v", slug, v, merr)
			}
			e.requireSchema(e.dbName(slug), idxVersion)
			continue
		}
		requireResult(t, res, provisioning.OutcomeFailed, baseVersion, baseVersion)
		if !strings.Contains(res.Error, "nickname") || strings.Contains(res.Error, "\n") {
			t.Fatalf("%s: error %q does not name the conflict on one line", slug, res.Error)
		}
		ten, err := e.catalog.Tenant(bg, slug)
		if err != nil {
			t.Fatal(err)
		}
		pw, err := e.box.Open(ten.DBPasswordEnc, []byte(ten.DBUser))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(res.Error, string(pw)) {
			t.Fatalf("%s: the error holds the DB password", slug)
		}
		if v != baseVersion || merr == nil || *merr != res.Error {
			t.Fatalf("%s: catalog schema_version %d, migration_error %v; want %d and %q", slug, v, merr, baseVersion, res.Error)
		}
		if rows := e.gooseRows(e.dbName(slug)); rows[nickVersion] != 0 || rows[baseVersion] != 1 {
			t.Fatalf("%s: goose rows %v", slug, rows)
		}
	}

	st, err := p.FleetStatus(bg)
	if err != nil {
		t.Fatal(err)
	}
	if st.Totals != (provisioning.FleetTotals{Tenants: n, UpToDate: n - 2, Behind: 2, Failed: 2}) {
		t.Fatalf("status totals %+v", st.Totals)
	}
	for _, ts := range st.Tenants {
		failed := slices.Contains(broken, ts.Slug)
		if failed != (ts.LastError != "") || (failed && (ts.Pending != 2 || ts.SchemaVersion != baseVersion)) {
			t.Fatalf("status of %s: %+v", ts.Slug, ts)
		}
	}

	// A rerun without a fix fails the same two again and leaves the rest.
	r = migrate(t, p, provisioning.FleetOptions{Concurrency: 6})
	requireCounts(t, r, map[string]int{provisioning.OutcomeUpToDate: n - 2, provisioning.OutcomeFailed: 2})

	// Fixed by hand, the rerun completes them and clears the error.
	for _, slug := range broken {
		e.rootExec(e.dbName(slug), "ALTER TABLE {db}.users DROP COLUMN nickname")
	}
	r = migrate(t, p, provisioning.FleetOptions{Concurrency: 6})
	if !r.OK() {
		t.Fatalf("rerun: %+v", r.Results)
	}
	requireCounts(t, r, map[string]int{provisioning.OutcomeUpToDate: n - 2, provisioning.OutcomeMigrated: 2})
	byslug = results(t, r)
	for _, slug := range broken {
		requireResult(t, byslug[slug], provisioning.OutcomeMigrated, baseVersion, idxVersion)
		if v, merr := e.catalogVersion(slug); v != idxVersion || merr != nil {
			t.Fatalf("%s after the fix: catalog %d %v", slug, v, merr)
		}
		e.requireSchema(e.dbName(slug), idxVersion)
	}
	if st, _ := p.FleetStatus(bg); st.Totals != (provisioning.FleetTotals{Tenants: n, UpToDate: n}) {
		t.Fatalf("status after the fix: %+v", st.Totals)
	}
}

// A tenant that fails half-way keeps the migrations that did apply.
func TestFleetFailsPartWay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createTenants("half-way", "fine")
	// An index of the name the last migration creates, on another column.
	e.rootExec(e.dbName("half-way"), "CREATE INDEX users_nickname ON {db}.users (first_name)")
	p, _ := e.upgraded()
	r := migrate(t, p, provisioning.FleetOptions{})
	byslug := results(t, r)
	requireResult(t, byslug["fine"], provisioning.OutcomeMigrated, baseVersion, idxVersion)
	res := byslug["half-way"]
	requireResult(t, res, provisioning.OutcomeFailed, baseVersion, nickVersion)
	if !strings.Contains(res.Error, "users_nickname") {
		t.Fatalf("error %q", res.Error)
	}
	if v, merr := e.catalogVersion("half-way"); v != nickVersion || merr == nil {
		t.Fatalf("catalog %d %v", v, merr)
	}
	if rows := e.gooseRows(e.dbName("half-way")); rows[nickVersion] != 1 || rows[idxVersion] != 0 {
		t.Fatalf("goose rows %v", rows)
	}
	st, _ := p.FleetStatus(bg)
	for _, ts := range st.Tenants {
		if ts.Slug == "half-way" && (ts.Pending != 1 || ts.SchemaVersion != nickVersion || ts.LastError == "") {
			t.Fatalf("status %+v", ts)
		}
	}
	e.rootExec(e.dbName("half-way"), "DROP INDEX users_nickname ON {db}.users")
	r = migrate(t, p, provisioning.FleetOptions{})
	requireResult(t, results(t, r)["half-way"], provisioning.OutcomeMigrated, nickVersion, idxVersion)
	e.requireSchema(e.dbName("half-way"), idxVersion)
}

func TestFleetDryRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	all := []string{"dry-a", "dry-b", "dry-c"}
	e.createTenants(all[:2]...)
	e.createTenants(all[2]) // last: see TestFleetTenantFilter
	p, srv := e.upgraded()
	for _, verify := range []bool{false, true} {
		r := migrate(t, p, provisioning.FleetOptions{DryRun: true, Verify: verify})
		if !r.OK() || r.Target != idxVersion {
			t.Fatalf("dry run (verify %v): OK %v target %d", verify, r.OK(), r.Target)
		}
		requireCounts(t, r, map[string]int{provisioning.OutcomeWould: len(all)})
		byslug := results(t, r)
		for _, slug := range all {
			requireResult(t, byslug[slug], provisioning.OutcomeWould, baseVersion, idxVersion)
			if v, merr := e.catalogVersion(slug); v != baseVersion || merr != nil {
				t.Fatalf("dry run changed the catalog of %s: %d %v", slug, v, merr)
			}
			e.requireSchema(e.dbName(slug), baseVersion)
		}
	}
	if srv.migrateTo.Load() != 0 || srv.version.Load() != int64(len(all)) {
		t.Fatalf("dry runs migrated %d times and read %d versions", srv.migrateTo.Load(), srv.version.Load())
	}
	// A dry run for a target below the current version migrates nothing either.
	r := migrate(t, p, provisioning.FleetOptions{DryRun: true, Down: true, To: 1, Tenants: []string{"dry-c"}})
	requireCounts(t, r, map[string]int{provisioning.OutcomeWould: 1})
	requireResult(t, results(t, r)["dry-c"], provisioning.OutcomeWould, baseVersion, 1)
	e.requireSchema(e.dbName("dry-c"), baseVersion)
}

func TestFleetCanary(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Tenants are migrated in creation order: the broken one is first.
	e.createTenants("canary")
	e.createTenants("rest-a", "rest-b", "rest-c", "rest-d")
	e.rootExec(e.dbName("canary"), "ALTER TABLE {db}.users ADD COLUMN nickname VARCHAR(50) NULL")
	p, srv := e.upgraded()
	r := migrate(t, p, provisioning.FleetOptions{Canary: 1, Concurrency: 4})
	if r.OK() {
		t.Fatal("OK after a failed canary")
	}
	requireCounts(t, r, map[string]int{provisioning.OutcomeFailed: 1, provisioning.OutcomeNotRun: 4})
	byslug := results(t, r)
	requireResult(t, byslug["canary"], provisioning.OutcomeFailed, baseVersion, baseVersion)
	for _, slug := range []string{"rest-a", "rest-b", "rest-c", "rest-d"} {
		res := byslug[slug]
		if res.Outcome != provisioning.OutcomeNotRun || res.Reason != "a canary failed" {
			t.Fatalf("%s: %+v", slug, res)
		}
		if v, _ := e.catalogVersion(slug); v != baseVersion {
			t.Fatalf("%s migrated to %d after the canary failed", slug, v)
		}
		e.requireSchema(e.dbName(slug), baseVersion)
	}
	if srv.migrateTo.Load() != 1 {
		t.Fatalf("%d migrations ran, want only the canary's", srv.migrateTo.Load())
	}

	// With a healthy canary the rest go on.
	e.rootExec(e.dbName("canary"), "ALTER TABLE {db}.users DROP COLUMN nickname")
	r = migrate(t, p, provisioning.FleetOptions{Canary: 2, Concurrency: 4})
	if !r.OK() {
		t.Fatalf("healthy canary: %+v", r.Results)
	}
	requireCounts(t, r, map[string]int{provisioning.OutcomeMigrated: 5})
}

func TestFleetMaxFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createTenants("broken-1")
	e.createTenants("broken-2")
	e.createTenants("later-a", "later-b", "later-c")
	for _, slug := range []string{"broken-1", "broken-2"} {
		e.rootExec(e.dbName(slug), "ALTER TABLE {db}.users ADD COLUMN nickname VARCHAR(50) NULL")
	}
	p, _ := e.upgraded()
	r := migrate(t, p, provisioning.FleetOptions{MaxFailures: 1, Concurrency: 1})
	if r.OK() {
		t.Fatal("OK")
	}
	byslug := results(t, r)
	requireResult(t, byslug["broken-1"], provisioning.OutcomeFailed, baseVersion, baseVersion)
	// broken-2 is handed to the worker before broken-1's failure is known
	// (see TestFleetMaxFailuresStartsNothingAfterTheLimit): it may run.
	if o := byslug["broken-2"].Outcome; o != provisioning.OutcomeFailed && o != provisioning.OutcomeNotRun {
		t.Fatalf("broken-2: %+v", byslug["broken-2"])
	}
	for _, slug := range []string{"later-a", "later-b", "later-c"} {
		res := byslug[slug]
		if res.Outcome != provisioning.OutcomeNotRun || res.Reason != "stopped after failures" {
			t.Fatalf("%s: %+v", slug, res)
		}
		e.requireSchema(e.dbName(slug), baseVersion)
	}
	// Without a limit every tenant is tried.
	r = migrate(t, p, provisioning.FleetOptions{Concurrency: 1})
	requireCounts(t, r, map[string]int{provisioning.OutcomeFailed: 2, provisioning.OutcomeMigrated: 3})
}

// MaxFailures is documented as "stop starting tenants after this many
// failures", but the loop in MigrateFleet checks the count before handing
// the next tenant to a worker that is still busy with the failing one, so
// up to Concurrency more tenants start after the limit was reached.
func TestFleetMaxFailuresStartsNothingAfterTheLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createTenants("broken")
	e.createTenants("next")
	e.rootExec(e.dbName("broken"), "ALTER TABLE {db}.users ADD COLUMN nickname VARCHAR(50) NULL")
	p, _ := e.upgraded()
	r := migrate(t, p, provisioning.FleetOptions{MaxFailures: 1, Concurrency: 1})
	if res := results(t, r)["next"]; res.Outcome != provisioning.OutcomeNotRun {
		t.Fatalf("next was started after the failure limit was reached: %+v", res)
	}
}

func TestFleetConcurrentRunners(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	all := slugs("race", 8)
	e.createTenants(all...)
	p1, _ := e.upgraded()
	catalog2, server2 := e.secondProcess()
	p2 := e.provisionerOn(catalog2, server2, extendedMigrations(t))

	var wg sync.WaitGroup
	reports := make([]*provisioning.FleetReport, 2)
	errs := make([]error, 2)
	startLine := make(chan struct{})
	for i, p := range []*provisioning.Provisioner{p1, p2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-startLine
			reports[i], errs[i] = p.MigrateFleet(bg, provisioning.FleetOptions{Concurrency: 3}, nil)
		}()
	}
	close(startLine)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	migratedBy := map[string]int{}
	for i, r := range reports {
		if !r.OK() {
			t.Fatalf("runner %d: %+v", i, r.Results)
		}
		byslug := results(t, r)
		for _, slug := range all {
			res := byslug[slug]
			switch res.Outcome {
			case provisioning.OutcomeMigrated:
				migratedBy[slug]++
			case provisioning.OutcomeUpToDate:
			default:
				t.Fatalf("runner %d: %+v", i, res)
			}
			if res.To != idxVersion {
				t.Fatalf("runner %d: %+v", i, res)
			}
		}
	}
	for _, slug := range all {
		if migratedBy[slug] == 0 {
			t.Fatalf("nobody migrated %s", slug)
		}
		if v, merr := e.catalogVersion(slug); v != idxVersion || merr != nil {
			t.Fatalf("%s: catalog %d %v", slug, v, merr)
		}
		e.requireSchema(e.dbName(slug), idxVersion) // each migration applied once
	}
}

func TestFleetSkipsTenantsNotReady(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createTenants("ready", "paused", "gone")
	if _, err := e.prov.Suspend(bg, "paused"); err != nil {
		t.Fatal(err)
	}
	if err := e.prov.Delete(bg, "gone", false); err != nil {
		t.Fatal(err)
	}
	e.prov.Hook = func(step string) error {
		if step == "grant" {
			return errors.New("injected fault")
		}
		return nil
	}
	if _, err := e.prov.Create(bg, provisioning.NewTenant{Slug: "failed-one", Name: "F"}); !apperr.Is(err, "PROVISIONING_FAILED") {
		t.Fatalf("Create: %v", err)
	}
	// A process that died at the grant step leaves the tenant provisioning.
	e.prov.Hook = func(step string) error {
		if step == "grant" {
			panic("process dies")
		}
		return nil
	}
	func() {
		defer func() { _ = recover() }()
		_, _ = e.prov.Create(bg, provisioning.NewTenant{Slug: "stuck", Name: "S"})
	}()
	e.prov.Hook = nil

	p, _ := e.upgraded()
	reg := prometheus.NewRegistry()
	metrics := provisioning.NewFleetMetrics(reg, central.DefaultServer)
	total := -1
	r, err := p.MigrateFleet(bg, provisioning.FleetOptions{OnStart: func(n int) { total = n }}, metrics.Observe)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() {
		t.Fatal("tenants skipped for their status failed the run")
	}
	requireCounts(t, r, map[string]int{provisioning.OutcomeMigrated: 2, provisioning.OutcomeSkipped: 3})
	if total != 5 {
		t.Fatalf("OnStart got %d, want 5", total)
	}
	if n, err := testutil.GatherAndCount(reg, "silo_fleet_tenant_migration_duration_seconds"); err != nil || n != 1 {
		t.Fatalf("duration series %d %v", n, err)
	}
	err = testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP silo_fleet_tenants_total Tenants (and spares) handled by fleet migration runs, by database server and outcome: migrated, up-to-date, failed, skipped, not-run, would-migrate.
# TYPE silo_fleet_tenants_total counter
silo_fleet_tenants_total{outcome="failed",server="default"} 0
silo_fleet_tenants_total{outcome="migrated",server="default"} 2
silo_fleet_tenants_total{outcome="not-run",server="default"} 0
silo_fleet_tenants_total{outcome="skipped",server="default"} 3
silo_fleet_tenants_total{outcome="up-to-date",server="default"} 0
silo_fleet_tenants_total{outcome="would-migrate",server="default"} 0
`), "silo_fleet_tenants_total")
	if err != nil {
		t.Fatal(err)
	}
	byslug := results(t, r)
	requireResult(t, byslug["ready"], provisioning.OutcomeMigrated, baseVersion, idxVersion)
	requireResult(t, byslug["paused"], provisioning.OutcomeMigrated, baseVersion, idxVersion) // suspended tenants migrate too
	for slug, status := range map[string]string{"failed-one": "failed", "stuck": "provisioning", "gone": "deleted"} {
		res := byslug[slug]
		if res.Outcome != provisioning.OutcomeSkipped || res.Reason != "tenant is "+status {
			t.Fatalf("%s: %+v", slug, res)
		}
		if res.From != res.To {
			t.Fatalf("%s: %+v", slug, res)
		}
	}
	e.requireSchema(e.dbName("gone"), baseVersion)

	st, _ := p.FleetStatus(bg)
	states := map[string]string{}
	for _, ts := range st.Tenants {
		states[ts.Slug] = ts.Status
	}
	if len(states) != 4 || states["failed-one"] != "failed" || states["stuck"] != "provisioning" || states["paused"] != "suspended" {
		t.Fatalf("FleetStatus tenants %v", states)
	}

	t.Run("UnknownSlug", func(t *testing.T) {
		r := migrate(t, p, provisioning.FleetOptions{Tenants: []string{"ready", "nosuch"}})
		byslug := results(t, r)
		// A named tenant that does not exist is a failure: the operator
		// asked for it (a typo must not pass as success).
		if len(byslug) != 2 || byslug["nosuch"].Outcome != provisioning.OutcomeFailed || byslug["nosuch"].Reason != "no such tenant" || r.OK() {
			t.Fatalf("%+v", r.Results)
		}
		requireResult(t, byslug["ready"], provisioning.OutcomeUpToDate, idxVersion, idxVersion)
	})

	// Resumed by the upgraded provisioner, the two get the new schema.
	resumed, err := p.Repair(bg)
	if err != nil || len(resumed) != 2 {
		t.Fatalf("Repair = %v, %v", resumed, err)
	}
	for _, slug := range []string{"failed-one", "stuck"} {
		if v, _ := e.catalogVersion(slug); v != idxVersion {
			t.Fatalf("%s resumed at version %d", slug, v)
		}
		e.requireSchema(e.dbName(slug), idxVersion)
	}
	r = migrate(t, p, provisioning.FleetOptions{})
	requireCounts(t, r, map[string]int{provisioning.OutcomeUpToDate: 4, provisioning.OutcomeSkipped: 1})
}

func TestFleetDownThenUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createTenants("bystander")
	e.createTenants("roller") // last: see TestFleetTenantFilter
	p, _ := e.upgraded()
	requireCounts(t, migrate(t, p, provisioning.FleetOptions{}), map[string]int{provisioning.OutcomeMigrated: 2})

	t.Run("Validation", func(t *testing.T) {
		for _, o := range []provisioning.FleetOptions{
			{Down: true, To: baseVersion},                     // no tenant
			{Down: true, To: -1, Tenants: []string{"roller"}}, // no version
			{To: idxVersion + 1},                              // beyond the latest
			{Down: true, To: idxVersion + 1, Tenants: []string{"roller"}},
		} {
			if _, err := p.MigrateFleet(bg, o, nil); !apperr.Is(err, "VALIDATION_FAILED") {
				var ae *apperr.Error
				errors.As(err, &ae)
				t.Fatalf("%+v: err %v (%+v)", o, err, ae)
			}
		}
	})

	r := migrate(t, p, provisioning.FleetOptions{Down: true, To: baseVersion, Tenants: []string{"roller"}})
	if !r.OK() || len(r.Results) != 1 || r.Target != baseVersion {
		t.Fatalf("down: %+v", r)
	}
	requireResult(t, r.Results[0], provisioning.OutcomeMigrated, idxVersion, baseVersion)
	e.requireSchema(e.dbName("roller"), baseVersion)
	e.requireSchema(e.dbName("bystander"), idxVersion)
	if v, _ := e.catalogVersion("roller"); v != baseVersion {
		t.Fatalf("catalog after down: %d", v)
	}
	st, _ := p.FleetStatus(bg)
	if st.Totals != (provisioning.FleetTotals{Tenants: 2, UpToDate: 1, Behind: 1}) {
		t.Fatalf("status after down: %+v", st.Totals)
	}

	// Up one step, then the rest.
	r = migrate(t, p, provisioning.FleetOptions{To: nickVersion, Tenants: []string{"roller"}})
	requireResult(t, r.Results[0], provisioning.OutcomeMigrated, baseVersion, nickVersion)
	e.requireSchema(e.dbName("roller"), nickVersion)
	r = migrate(t, p, provisioning.FleetOptions{})
	byslug := results(t, r)
	requireResult(t, byslug["roller"], provisioning.OutcomeMigrated, nickVersion, idxVersion)
	requireResult(t, byslug["bystander"], provisioning.OutcomeUpToDate, idxVersion, idxVersion)
	e.requireSchema(e.dbName("roller"), idxVersion)
}

// A migration that cannot even reach the database (here: it is gone; in
// production: a network error, a goose lock timeout) must leave the
// catalog's schema_version alone. tenantdb.Server.MigrateTo returns the
// result of GetDBVersion even when that failed (0, or -1), and
// migrateOne records it with RecordMigration (RecordSpareVersion for a
// spare): the catalog then claims version 0.
func TestFleetUnreachableTenantKeepsCatalogVersion(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createTenants("unreachable")
	e.rootExec(e.dbName("unreachable"), "DROP DATABASE {db}")
	p, _ := e.upgraded()
	r := migrate(t, p, provisioning.FleetOptions{})
	res := r.Results[0]
	if res.Outcome != provisioning.OutcomeFailed || res.To != baseVersion {
		t.Fatalf("%+v", res)
	}
	if v, merr := e.catalogVersion("unreachable"); v != baseVersion || merr == nil {
		t.Fatalf("catalog schema_version %d, migration_error %v after a failure to connect", v, merr)
	}
}

// Selecting tenants (--tenant) selects exactly those. fleetItems deletes
// each slug from its want set as it matches, and once the set is empty
// its filter (len(want) > 0) is off: every tenant after the last named
// one, in id (creation) order, is selected too. With Down that rolls back
// tenants nobody named.
func TestFleetTenantFilter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createTenants("first")
	e.createTenants("second")
	p, _ := e.upgraded()
	r := migrate(t, p, provisioning.FleetOptions{Tenants: []string{"first"}})
	if len(r.Results) != 1 || r.Results[0].Slug != "first" {
		t.Fatalf("selected %+v", r.Results)
	}
	e.requireSchema(e.dbName("second"), baseVersion)
}

// "silo migrate tenants down --tenant x" without --to: FleetOptions.To is
// then 0, which MigrateFleet takes as "roll back to version 0" although
// its validation message says down needs --to; goose then runs every Down
// section, dropping all of the tenant's tables and data.
func TestFleetDownWithoutTargetIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createTenants("precious")
	p, _ := e.upgraded()
	if _, err := p.MigrateFleet(bg, provisioning.FleetOptions{Down: true, Tenants: []string{"precious"}}, nil); !apperr.Is(err, "VALIDATION_FAILED") {
		t.Errorf("down without a target: err %v, want VALIDATION_FAILED", err)
	}
	if !e.hasColumn(e.dbName("precious"), "users", "email") {
		t.Error("the tenant's tables are gone")
	}
}

// withDeadline fails the test if fn does not return within d (fn's
// goroutine is then left behind: it is stuck for good).
func withDeadline(t *testing.T, d time.Duration, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not finish in %v: deadlocked", what, d)
	}
}

// Every per-tenant lock (Catalog.TryLock / Lock) holds a connection of the
// central pool (25 at most) for as long as it is held, and the holder then
// needs another connection from the same pool. 25 or more Creates at once
// (25 API requests) take every connection for their locks and wait for a
// 26th forever; so do MigrateFleet workers with --concurrency >= 25.
func TestCreateManyAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	all := slugs("crowd", 30)
	errs := make([]error, len(all))
	withDeadline(t, 60*time.Second, "30 concurrent Creates", func() {
		var wg sync.WaitGroup
		for i, slug := range all {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = e.prov.Create(bg, provisioning.NewTenant{Slug: slug, Name: slug})
			}()
		}
		wg.Wait()
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

func TestFleetHighConcurrency(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	all := slugs("wide", 26)
	e.createTenants(all...)
	p, _ := e.upgraded()
	var r *provisioning.FleetReport
	var err error
	withDeadline(t, 60*time.Second, "MigrateFleet with Concurrency 26", func() {
		r, err = p.MigrateFleet(bg, provisioning.FleetOptions{Concurrency: 26}, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	requireCounts(t, r, map[string]int{provisioning.OutcomeMigrated: 26})
}

func TestFleetMigratesSpares(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withSpares(3))
	e.createTenants("owner") // the pool is empty: provisioned from scratch
	if built, err := e.prov.RefillSpares(bg); err != nil || built != 3 {
		t.Fatalf("RefillSpares = %d, %v", built, err)
	}
	p, _ := e.upgraded(withSpares(3))
	// A spare claimed by the new binary before the fleet run is brought up
	// to its schema while provisioning.
	early, err := p.Create(bg, provisioning.NewTenant{Slug: "early", Name: "E"})
	if err != nil {
		t.Fatal(err)
	}
	if early.SchemaVersion != idxVersion {
		t.Fatalf("tenant on an old spare: version %d", early.SchemaVersion)
	}
	e.requireSchema(early.DatabaseName, idxVersion)

	spares, _ := e.catalog.Spares(bg)
	if len(spares) != 2 {
		t.Fatalf("%d spares", len(spares))
	}
	r := migrate(t, p, provisioning.FleetOptions{})
	if !r.OK() {
		t.Fatalf("%+v", r.Results)
	}
	requireCounts(t, r, map[string]int{provisioning.OutcomeMigrated: 3, provisioning.OutcomeUpToDate: 1})
	byslug := results(t, r)
	requireResult(t, byslug["owner"], provisioning.OutcomeMigrated, baseVersion, idxVersion)
	for _, s := range spares {
		res := byslug[s.DatabaseName]
		if !res.Spare {
			t.Fatalf("spare %s not reported as one: %+v", s.DatabaseName, res)
		}
		requireResult(t, res, provisioning.OutcomeMigrated, baseVersion, idxVersion)
		e.requireSchema(s.DatabaseName, idxVersion)
	}
	after, _ := e.catalog.Spares(bg)
	for _, s := range after {
		if s.SchemaVersion != idxVersion || s.Status != "ready" {
			t.Fatalf("spare after the run: %+v", s)
		}
	}
	if byslug["owner"].Spare {
		t.Fatal("a tenant reported as a spare")
	}

	// Selected tenants only: spares are left alone. ("early" is the last
	// tenant: see TestFleetTenantFilter.)
	r = migrate(t, p, provisioning.FleetOptions{Tenants: []string{"early"}})
	if len(r.Results) != 1 || r.Results[0].Slug != "early" {
		t.Fatalf("%+v", r.Results)
	}
	// A tenant claiming a migrated spare is at the latest version at once.
	late, err := p.Create(bg, provisioning.NewTenant{Slug: "late", Name: "L"})
	if err != nil || late.SchemaVersion != idxVersion || late.DatabaseName != after[0].DatabaseName {
		t.Fatalf("late = %+v, %v", late, err)
	}
	e.requireClean()
}

func TestFleetVerify(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createTenants("overstated", "understated", "honest")
	p, srv := e.upgraded()
	// The catalog is wrong both ways: one database was migrated behind the
	// catalog's back, another's row claims a version it does not have.
	if v, err := e.server.MigrateTo(bg, e.dbName("understated"), migrations.CoreSet(extendedMigrations(t)), true, 0); err != nil || v != idxVersion {
		t.Fatalf("MigrateTo = %d, %v", v, err)
	}
	e.setCatalogVersion("overstated", idxVersion)

	// Trusting the catalog, the overstated tenant is passed over unseen.
	r := migrate(t, p, provisioning.FleetOptions{})
	byslug := results(t, r)
	requireResult(t, byslug["overstated"], provisioning.OutcomeUpToDate, idxVersion, idxVersion)
	requireResult(t, byslug["understated"], provisioning.OutcomeMigrated, baseVersion, idxVersion) // a no-op for goose
	requireResult(t, byslug["honest"], provisioning.OutcomeMigrated, baseVersion, idxVersion)
	if srv.calls() != 2 {
		t.Fatalf("%d tenant connections, want 2", srv.calls())
	}
	e.requireSchema(e.dbName("overstated"), baseVersion)
	e.requireSchema(e.dbName("understated"), idxVersion)

	// Verifying, it is found and migrated; the others are read, not changed.
	r = migrate(t, p, provisioning.FleetOptions{Verify: true})
	if !r.OK() {
		t.Fatalf("%+v", r.Results)
	}
	byslug = results(t, r)
	requireResult(t, byslug["overstated"], provisioning.OutcomeMigrated, baseVersion, idxVersion)
	requireResult(t, byslug["understated"], provisioning.OutcomeUpToDate, idxVersion, idxVersion)
	requireResult(t, byslug["honest"], provisioning.OutcomeUpToDate, idxVersion, idxVersion)
	if srv.version.Load() != 3 || srv.migrateTo.Load() != 3 {
		t.Fatalf("verify run: %d versions read, %d migrations in all", srv.version.Load(), srv.migrateTo.Load())
	}
	for _, slug := range []string{"overstated", "honest", "understated"} {
		e.requireSchema(e.dbName(slug), idxVersion)
		if v, merr := e.catalogVersion(slug); v != idxVersion || merr != nil {
			t.Fatalf("%s: catalog %d %v", slug, v, merr)
		}
	}

	// Each created last: see TestFleetTenantFilter.
	t.Run("MissingDatabase", func(t *testing.T) {
		e.createTenants("vanished")
		migrate(t, p, provisioning.FleetOptions{Tenants: []string{"vanished"}})
		e.rootExec(e.dbName("vanished"), "DROP DATABASE {db}")
		// Trusting the catalog, nothing is noticed.
		r := migrate(t, p, provisioning.FleetOptions{Tenants: []string{"vanished"}})
		requireResult(t, r.Results[0], provisioning.OutcomeUpToDate, idxVersion, idxVersion)
		r = migrate(t, p, provisioning.FleetOptions{Verify: true, Tenants: []string{"vanished"}})
		res := r.Results[0]
		if len(r.Results) != 1 || res.Outcome != provisioning.OutcomeFailed || !strings.Contains(res.Error, "Unknown database") {
			t.Fatalf("%+v", r.Results)
		}
		if r.OK() {
			t.Fatal("OK with a missing database")
		}
		if v, _ := e.catalogVersion("vanished"); v != idxVersion {
			t.Fatalf("catalog version %d after a failed verify", v)
		}
	})

	t.Run("DroppedVersionTable", func(t *testing.T) {
		// Reading the version, goose recreates its table (at version 0);
		// the run then applies every migration again. The first one is
		// idempotent, the test ones were never applied: it works out.
		e.createTenants("amnesiac")
		db := e.dbName("amnesiac")
		e.rootExec(db, "DROP TABLE {db}.goose_db_version")
		r := migrate(t, p, provisioning.FleetOptions{Verify: true, Tenants: []string{"amnesiac"}})
		if len(r.Results) != 1 {
			t.Fatalf("%+v", r.Results)
		}
		requireResult(t, r.Results[0], provisioning.OutcomeMigrated, 0, idxVersion)
		e.requireSchema(db, idxVersion)
		if e.count("SELECT COUNT(*) FROM `"+db+"`.settings") != 1 || e.count("SELECT COUNT(*) FROM `"+db+"`.roles WHERE built_in") == 0 {
			t.Fatal("seed rows lost or doubled")
		}
	})
}

// A --verify run that finds a database ahead of its catalog row reports it
// up to date but leaves the wrong version in the catalog, so FleetStatus
// (and GET /api/central/migrations/status) keep showing it behind.
func TestFleetVerifyCorrectsUnderstatedCatalog(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createTenants("understated")
	p, _ := e.upgraded()
	migrate(t, p, provisioning.FleetOptions{})
	e.setCatalogVersion("understated", baseVersion)
	migrate(t, p, provisioning.FleetOptions{Verify: true})
	if v, _ := e.catalogVersion("understated"); v != idxVersion {
		t.Fatalf("catalog still says %d after a verify run", v)
	}
}

// A tenant being provisioned (its lock held) is waited for, not failed.
func TestFleetWaitsForTenantLock(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createTenants("busy", "idle")
	release, ok, err := e.catalog.TryLock(bg, "tenant:busy")
	if err != nil || !ok {
		t.Fatalf("TryLock = %v, %v", ok, err)
	}
	const hold = 700 * time.Millisecond
	var released atomic.Bool
	go func() {
		time.Sleep(hold)
		released.Store(true)
		release()
	}()
	p, _ := e.upgraded()
	r := migrate(t, p, provisioning.FleetOptions{Concurrency: 2})
	byslug := results(t, r)
	requireResult(t, byslug["busy"], provisioning.OutcomeMigrated, baseVersion, idxVersion)
	requireResult(t, byslug["idle"], provisioning.OutcomeMigrated, baseVersion, idxVersion)
	// The run waited for busy's lock: it cannot have ended before the
	// lock was released (what the run did before busy's worker reached
	// it, it did while the lock was held, so busy's own time may be less
	// than the hold).
	if !released.Load() {
		t.Fatalf("the run ended (busy took %v) while busy's lock was still held", byslug["busy"].Duration)
	}
}

// A cancelled run starts no more tenants and leaves them as they were.
func TestFleetCancelled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	all := slugs("cancel", 5)
	e.createTenants(all...)
	p, _ := e.upgraded()
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	r, err := p.MigrateFleet(ctx, provisioning.FleetOptions{Concurrency: 1}, func(provisioning.TenantResult) { cancel() })
	if err != nil {
		t.Fatal(err)
	}
	byslug := results(t, r)
	if len(byslug) != len(all) || r.Counts[provisioning.OutcomeMigrated] != 1 || r.Counts[provisioning.OutcomeNotRun] < 2 || r.OK() {
		t.Fatalf("%+v", r.Results)
	}
	for _, slug := range all {
		switch res := byslug[slug]; res.Outcome {
		case provisioning.OutcomeMigrated:
			e.requireSchema(e.dbName(slug), idxVersion)
		case provisioning.OutcomeNotRun:
			// The reason given is "stopped after failures", though none failed.
			e.requireSchema(e.dbName(slug), baseVersion)
			if v, _ := e.catalogVersion(slug); v != baseVersion {
				t.Fatalf("%s: catalog %d", slug, v)
			}
		case provisioning.OutcomeFailed: // handed over just before the cancel
			if !strings.Contains(res.Error, "context canceled") {
				t.Fatalf("%+v", res)
			}
		default:
			t.Fatalf("%+v", res)
		}
	}
}
