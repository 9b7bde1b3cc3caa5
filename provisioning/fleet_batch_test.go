package provisioning_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/provisioning"
	"github.com/silo-dev/silo/tenantdb"
)

// recordingCatalog counts the batched catalog writes of fleet runs; with
// lose set, every write fails, as for a runner that dies before it writes.
type recordingCatalog struct {
	provisioning.Catalog
	lose  bool
	calls atomic.Int64
	recs  atomic.Int64
}

func (c *recordingCatalog) RecordMigrations(ctx context.Context, recs []central.MigrationRecord) error {
	c.calls.Add(1)
	if c.lose {
		return errors.New("the central database went away")
	}
	c.recs.Add(int64(len(recs)))
	return c.Catalog.RecordMigrations(ctx, recs)
}

// realVersion is a database's goose version, as root reads it.
func (e *env) realVersion(database string) int64 {
	e.t.Helper()
	if !tenantdb.ValidDatabase(database) {
		e.t.Fatalf("bad database name %q", database)
	}
	var v sql.NullInt64
	if err := e.central.Get(&v, "SELECT MAX(version_id) FROM `"+database+"`.goose_db_version WHERE is_applied"); err != nil {
		e.t.Fatalf("goose table of %s: %v", database, err)
	}
	return v.Int64
}

// requireCatalogMatches fails unless the catalog records every tenant at
// the version its goose table shows.
func (e *env) requireCatalogMatches(all []string) {
	e.t.Helper()
	for _, slug := range all {
		real := e.realVersion(e.dbName(slug))
		if v, _ := e.catalogVersion(slug); v != real {
			e.t.Fatalf("%s: catalog says %d, its database is at %d", slug, v, real)
		}
	}
}

// A batched run leaves the catalog equal to the databases, failures and
// their errors included, in fewer writes than tenants.
func TestFleetBatchedCatalogMatchesDatabases(t *testing.T) {
	t.Parallel()
	const n = 24
	e := newEnv(t)
	all := slugs("batch", n)
	e.createTenants(all...)
	broken := []string{all[5], all[11]}
	for _, slug := range broken {
		e.rootExec(e.dbName(slug), "ALTER TABLE {db}.users ADD COLUMN nickname VARCHAR(50) NULL")
	}
	rc := &recordingCatalog{Catalog: e.catalog}
	p := e.provisionerOn(rc, &countingServer{Server: e.server}, extendedMigrations(t))
	r := migrate(t, p, provisioning.FleetOptions{Concurrency: 4})
	requireCounts(t, r, map[string]int{provisioning.OutcomeMigrated: n - 2, provisioning.OutcomeFailed: 2})
	for _, slug := range all {
		v, merr := e.catalogVersion(slug)
		if slices.Contains(broken, slug) {
			if v != baseVersion || merr == nil || !strings.Contains(*merr, "nickname") {
				t.Fatalf("%s: catalog %d, error %v", slug, v, merr)
			}
			continue
		}
		if v != idxVersion || merr != nil {
			t.Fatalf("%s: catalog %d, error %v", slug, v, merr)
		}
		e.requireSchema(e.dbName(slug), idxVersion)
	}
	e.requireCatalogMatches(all)
	if rc.recs.Load() != n {
		t.Fatalf("%d records written, want one per tenant (%d)", rc.recs.Load(), n)
	}
	t.Logf("%d tenants recorded in %d catalog writes", n, rc.calls.Load())
}

// A run killed part-way (its context cancelled with migrations in flight,
// and none of its results written to the catalog) leaves every database
// consistent and the catalog never ahead of one; the next run finishes
// the fleet and the catalog matches the databases again.
func TestFleetResumesAfterKilledRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	all := slugs("resume", 8)
	e.createTenants(all...)
	dying := &recordingCatalog{Catalog: e.catalog, lose: true}
	p := e.provisionerOn(dying, e.server, extendedMigrations(t))
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	var seen atomic.Int64
	r, err := p.MigrateFleet(ctx, provisioning.FleetOptions{Concurrency: 2}, func(provisioning.TenantResult) {
		if seen.Add(1) == 3 {
			cancel()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.OK() || dying.calls.Load() == 0 || r.Counts[provisioning.OutcomeMigrated] != 0 {
		t.Fatalf("killed run: OK %v, %d writes tried, counts %v", r.OK(), dying.calls.Load(), r.Counts)
	}
	ahead := 0
	for _, slug := range all {
		real := e.realVersion(e.dbName(slug))
		e.requireSchema(e.dbName(slug), real)
		if v, _ := e.catalogVersion(slug); v > real {
			t.Fatalf("%s: catalog %d is ahead of its database (%d)", slug, v, real)
		} else if v < real {
			ahead++
		}
	}
	if ahead < 3 {
		t.Fatalf("%d databases ahead of the catalog, want the 3 finished before the kill", ahead)
	}

	again, _ := e.upgraded()
	r = migrate(t, again, provisioning.FleetOptions{Concurrency: 2})
	if !r.OK() {
		t.Fatalf("rerun: %+v", r.Results)
	}
	for _, slug := range all {
		e.requireSchema(e.dbName(slug), idxVersion)
	}
	e.requireCatalogMatches(all)
}

// A record read before a row's last change never overwrites it; records
// beyond one statement's chunk all land.
func TestRecordMigrationsKeepsNewerRows(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createTenants("late", "fresh")
	late, err := e.catalog.Tenant(bg, "late")
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := e.catalog.Tenant(bg, "fresh")
	if err != nil {
		t.Fatal(err)
	}
	old, now := time.Now().Add(-time.Hour), time.Now()
	if err := e.catalog.RecordMigrations(bg, []central.MigrationRecord{
		{TenantID: late.ID, Database: late.DatabaseName, Version: 1, At: old},
		{TenantID: fresh.ID, Database: fresh.DatabaseName, Version: 99, Error: "boom", At: now},
		{Database: late.DatabaseName, Set: "notes", Version: 7, At: now},
	}); err != nil {
		t.Fatal(err)
	}
	if v, merr := e.catalogVersion("late"); v != baseVersion || merr != nil {
		t.Fatalf("late: %d %v; a record older than the row was written", v, merr)
	}
	if v, merr := e.catalogVersion("fresh"); v != 99 || merr == nil || *merr != "boom" {
		t.Fatalf("fresh: %d %v", v, merr)
	}
	if err := e.catalog.RecordMigrations(bg, []central.MigrationRecord{
		{Database: late.DatabaseName, Set: "notes", Version: 3, At: old},
	}); err != nil {
		t.Fatal(err)
	}
	if got, err := e.catalog.SetVersionsOf(bg, late.DatabaseName); err != nil || got["notes"].Version != 7 {
		t.Fatalf("notes set of late: %+v, %v", got, err)
	}
	// A newer record replaces the row, its error included.
	if err := e.catalog.RecordMigrations(bg, []central.MigrationRecord{
		{Database: late.DatabaseName, Set: "notes", Version: 8, Error: "half done", At: now.Add(time.Second)},
	}); err != nil {
		t.Fatal(err)
	}
	if got, err := e.catalog.SetVersionsOf(bg, late.DatabaseName); err != nil || got["notes"] != (central.SetVersion{Version: 8, Error: "half done"}) {
		t.Fatalf("notes set of late after a newer record: %+v, %v", got, err)
	}

	var many []central.MigrationRecord
	for i := range 1000 {
		many = append(many, central.MigrationRecord{Database: fmt.Sprintf("db%04d", i), Set: "bulk", Version: int64(i), At: now})
	}
	if err := e.catalog.RecordMigrations(bg, many); err != nil {
		t.Fatal(err)
	}
	if n := e.count("SELECT COUNT(*) FROM schema_sets WHERE set_name = 'bulk' AND version = CAST(SUBSTRING(database_name, 3) AS SIGNED)"); n != 1000 {
		t.Fatalf("%d of 1000 records landed", n)
	}
}

// BenchmarkFleetNoop10000Tenants is a no-op fleet run over 10,000 tenants
// the catalog records at the latest version (catalog rows only: the run
// must not connect to their databases).
func BenchmarkFleetNoop10000Tenants(b *testing.B) {
	const n = 10000
	e := newEnv(b)
	now := time.Now().UTC()
	for start := 0; start < n; start += 1000 {
		q := "INSERT INTO tenants (id, slug, name, status, step, database_name, database_host, db_user, db_password_enc, schema_version, created_at, updated_at) VALUES "
		var args []any
		for i := start; i < start+1000; i++ {
			if i > start {
				q += ", "
			}
			q += "(?, ?, ?, 'active', 'done', ?, '127.0.0.1:3306', ?, 'x', ?, ?, ?)"
			args = append(args, fmt.Sprintf("00000000-0000-0000-0000-%012d", i), fmt.Sprintf("noop-%d", i), "noop",
				fmt.Sprintf("%snoop_%d", e.prefix, i), fmt.Sprintf("%su%d", e.prefix, i), baseVersion, now, now)
		}
		if _, err := e.central.Exec(q, args...); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		r, err := e.prov.MigrateFleet(bg, provisioning.FleetOptions{}, nil)
		if err != nil || r.Counts[provisioning.OutcomeUpToDate] != n {
			b.Fatalf("%v %v", err, r.Counts)
		}
	}
}
