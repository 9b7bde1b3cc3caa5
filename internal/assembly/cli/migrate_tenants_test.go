package cli

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/silo-dev/silo/migrations"
	"github.com/silo-dev/silo/provisioning"
)

// The binary ships one tenant migration set, so the CLI is tested with it:
// tenants are up to date, or made to look behind or broken by hand.

// lockedBuffer is a bytes.Buffer safe for concurrent writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// runFleet is runCmd with stdout and stderr that several goroutines may
// write at once: the fleet's progress lines come from its workers (see
// TestMigrateTenantsProgressFromWorkers).
func runFleet(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut lockedBuffer
	err = run(context.Background(), args, getenvFrom(env), strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), err
}

func (e *tenantEnv) tenantDB(slug string) string {
	return e.prefix + strings.ReplaceAll(slug, "-", "_")
}

// schemaVersion reads a tenant's schema_version and migration_error as root.
func (e *tenantEnv) schemaVersion(t *testing.T, slug string) (int64, sql.NullString) {
	t.Helper()
	var v int64
	var merr sql.NullString
	if err := e.root.QueryRow("SELECT schema_version, migration_error FROM `"+e.central+"`.tenants WHERE slug = ?", slug).Scan(&v, &merr); err != nil {
		t.Fatalf("catalog row of %s: %v", slug, err)
	}
	return v, merr
}

func (e *tenantEnv) setSchemaVersion(t *testing.T, slug string, v int64) {
	t.Helper()
	if _, err := e.root.Exec("UPDATE `"+e.central+"`.tenants SET schema_version = ? WHERE slug = ?", v, slug); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.schemaVersion(t, slug); got != v {
		t.Fatalf("schema_version of %s is %d after setting %d", slug, got, v)
	}
}

// onTenantDB runs stmt as root with {db} replaced by the tenant's
// (quoted) database, which must be the test's own.
func (e *tenantEnv) onTenantDB(t *testing.T, slug, stmt string) {
	t.Helper()
	db := e.tenantDB(slug)
	if !strings.HasPrefix(db, e.prefix) || !identifier.MatchString(db) {
		t.Fatalf("refusing to touch %q", db)
	}
	if _, err := e.root.Exec(strings.ReplaceAll(stmt, "{db}", "`"+db+"`")); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

func (e *tenantEnv) tableExists(t *testing.T, slug, table string) bool {
	t.Helper()
	return e.count(t, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", e.tenantDB(slug), table) == 1
}

// fleetJSON runs a fleet command with --json and decodes its report; the
// command's error is returned for the caller to judge.
func (e *tenantEnv) fleetJSON(t *testing.T, args ...string) (*provisioning.FleetReport, map[string]provisioning.TenantResult, error) {
	t.Helper()
	out, errOut, err := runFleet(t, e.env, append(args, "--json")...)
	var r provisioning.FleetReport
	if jerr := json.Unmarshal([]byte(out), &r); jerr != nil {
		t.Fatalf("silo %s --json: %v (err %v)\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), jerr, err, out, errOut)
	}
	byslug := map[string]provisioning.TenantResult{}
	sum := 0
	for _, res := range r.Results {
		if _, dup := byslug[res.Slug]; dup {
			t.Fatalf("%s reported twice", res.Slug)
		}
		byslug[res.Slug] = res
	}
	for _, n := range r.Counts {
		sum += n
	}
	if sum != len(r.Results) {
		t.Fatalf("counts %v do not add up to %d results", r.Counts, len(r.Results))
	}
	return &r, byslug, err
}

func wantOutcome(t *testing.T, byslug map[string]provisioning.TenantResult, slug, outcome string, from, to int64) {
	t.Helper()
	res, ok := byslug[slug]
	if !ok || res.Outcome != outcome || res.From != from || res.To != to {
		t.Fatalf("%s: %+v, want %s %d -> %d", slug, res, outcome, from, to)
	}
}

// statusTable runs "migrate tenants status" and returns its rows as fields
// by slug, and the totals line below them (the notes, after a blank line,
// are left out).
func (e *tenantEnv) statusTable(t *testing.T) (map[string][]string, string) {
	t.Helper()
	out := e.silo(t, "migrate", "tenants", "status")
	table, _, _ := strings.Cut(out, "\n\n")
	lines := strings.Split(strings.TrimRight(table, "\n"), "\n")
	if len(lines) < 2 {
		t.Fatalf("status output:\n%s", out)
	}
	if got := strings.Join(strings.Fields(lines[0]), " "); got != "TENANT STATUS VERSION LATEST PENDING LAST ERROR" {
		t.Fatalf("header %q", lines[0])
	}
	rows := map[string][]string{}
	for _, l := range lines[1 : len(lines)-1] {
		f := strings.Fields(l)
		rows[f[0]] = f
	}
	return rows, lines[len(lines)-1]
}

func TestMigrateTenantsCLI(t *testing.T) {
	t.Parallel()
	e := newTenantEnv(t)
	// Created one after another: the fleet works through them in this order.
	tenants := []string{"alpha", "bravo", "charlie", "delta"}
	for _, slug := range tenants {
		e.silo(t, "tenant", "create", "--slug", slug, "--name", strings.ToUpper(slug))
	}
	latest := migrations.Latest(migrations.Tenant())
	l := func(v int64) string { return strconv.FormatInt(v, 10) }

	t.Run("StatusTable", func(t *testing.T) {
		rows, last := e.statusTable(t)
		if len(rows) != 4 {
			t.Fatalf("rows %v", rows)
		}
		for _, slug := range tenants {
			if got := strings.Join(rows[slug], " "); got != slug+" active "+l(latest)+" "+l(latest)+" 0" {
				t.Fatalf("row %q", got)
			}
		}
		if last != "4 tenants, 4 up to date, 0 behind, latest version "+l(latest) {
			t.Fatalf("last line %q", last)
		}
	})
	t.Run("StatusJSON", func(t *testing.T) {
		var st provisioning.FleetStatus
		if err := json.Unmarshal([]byte(e.silo(t, "migrate", "tenants", "status", "--json")), &st); err != nil {
			t.Fatal(err)
		}
		if st.LatestVersion != latest || st.Totals != (provisioning.FleetTotals{Tenants: 4, UpToDate: 4}) || len(st.Tenants) != 4 {
			t.Fatalf("%+v", st)
		}
		for i, ts := range st.Tenants {
			if ts.Slug != tenants[i] || ts.Status != "active" || ts.SchemaVersion != latest || ts.Pending != 0 || ts.LastError != "" {
				t.Fatalf("%+v", ts)
			}
		}
	})
	t.Run("UpToDate", func(t *testing.T) {
		out := e.silo(t, "migrate", "tenants", "up")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "target version "+l(latest)+": 4 up-to-date in ") {
			t.Fatalf("output:\n%s", out)
		}
		r, byslug, err := e.fleetJSON(t, "migrate", "tenants", "up")
		if err != nil || r.Target != latest || r.Counts[provisioning.OutcomeUpToDate] != 4 || len(r.Results) != 4 {
			t.Fatalf("%v: %+v", err, r)
		}
		for _, slug := range tenants {
			wantOutcome(t, byslug, slug, provisioning.OutcomeUpToDate, latest, latest)
		}
	})

	// A catalog row that says 0: goose finds everything applied, and the
	// run records the real version.
	e.setSchemaVersion(t, "alpha", 0)
	t.Run("Behind", func(t *testing.T) {
		rows, last := e.statusTable(t)
		if got := strings.Join(rows["alpha"], " "); got != "alpha active 0 "+l(latest)+" "+l(int64(len(migrations.Versions(migrations.Tenant())))) {
			t.Fatalf("row %q", got)
		}
		if last != "4 tenants, 3 up to date, 1 behind, latest version "+l(latest) {
			t.Fatalf("last line %q", last)
		}
	})
	t.Run("DryRun", func(t *testing.T) {
		out, _, err := runFleet(t, e.env, "migrate", "tenants", "up", "--dry-run")
		if err != nil || !strings.Contains(out, "alpha: would migrate from version 0 to "+l(latest)+"\n") ||
			!strings.Contains(out, "target version "+l(latest)+": 3 up-to-date, 1 would-migrate in ") {
			t.Fatalf("%v:\n%s", err, out)
		}
		if v, _ := e.schemaVersion(t, "alpha"); v != 0 {
			t.Fatalf("dry run changed the catalog: %d", v)
		}
		_, byslug, err := e.fleetJSON(t, "migrate", "tenants", "up", "--dry-run")
		if err != nil {
			t.Fatal(err)
		}
		wantOutcome(t, byslug, "alpha", provisioning.OutcomeWould, 0, latest)
	})
	t.Run("Up", func(t *testing.T) {
		r, byslug, err := e.fleetJSON(t, "migrate", "tenants", "up")
		if err != nil || r.Counts[provisioning.OutcomeMigrated] != 1 || r.Counts[provisioning.OutcomeUpToDate] != 3 {
			t.Fatalf("%v: %+v", err, r)
		}
		wantOutcome(t, byslug, "alpha", provisioning.OutcomeMigrated, 0, latest)
		if v, merr := e.schemaVersion(t, "alpha"); v != latest || merr.Valid {
			t.Fatalf("catalog %d %v", v, merr)
		}
	})

	// A database whose goose table was dropped by hand.
	e.onTenantDB(t, "bravo", "DROP TABLE {db}.goose_db_version")
	t.Run("VerifyDroppedVersionTable", func(t *testing.T) {
		// Trusting the catalog, nobody notices.
		r, _, err := e.fleetJSON(t, "migrate", "tenants", "up")
		if err != nil || r.Counts[provisioning.OutcomeUpToDate] != 4 {
			t.Fatalf("%v: %+v", err, r)
		}
		// --verify asks goose, which recreates its table at version 0 and
		// then runs the first migration again: it is written to be
		// idempotent, so this repairs the table and keeps the data.
		r, byslug, err := e.fleetJSON(t, "migrate", "tenants", "up", "--verify")
		if err != nil || !r.OK() {
			t.Fatalf("%v: %+v", err, r)
		}
		wantOutcome(t, byslug, "bravo", provisioning.OutcomeMigrated, 0, latest)
		for _, slug := range []string{"alpha", "charlie", "delta"} {
			wantOutcome(t, byslug, slug, provisioning.OutcomeUpToDate, latest, latest)
		}
		db := e.tenantDB("bravo")
		if e.count(t, "SELECT COUNT(*) FROM `"+db+"`.goose_db_version WHERE version_id = ? AND is_applied", latest) != 1 ||
			e.count(t, "SELECT COUNT(*) FROM `"+db+"`.settings") != 1 {
			t.Fatal("goose table not repaired, or the seed rows doubled")
		}
		if v, merr := e.schemaVersion(t, "bravo"); v != latest || merr.Valid {
			t.Fatalf("catalog %d %v", v, merr)
		}
	})

	// A tenant whose database is gone and whose row says it is behind.
	e.onTenantDB(t, "charlie", "DROP DATABASE {db}")
	e.setSchemaVersion(t, "charlie", 0)
	t.Run("FailureJSON", func(t *testing.T) {
		r, byslug, err := e.fleetJSON(t, "migrate", "tenants", "up")
		if !errors.Is(err, errFleetIncomplete) {
			t.Fatalf("err %v, want errFleetIncomplete", err)
		}
		if r.OK() || r.Counts[provisioning.OutcomeFailed] != 1 || r.Counts[provisioning.OutcomeUpToDate] != 3 {
			t.Fatalf("%+v", r)
		}
		res := byslug["charlie"]
		if res.Outcome != provisioning.OutcomeFailed || !strings.Contains(res.Error, "Unknown database") {
			t.Fatalf("%+v", res)
		}
		if _, merr := e.schemaVersion(t, "charlie"); !merr.Valid || merr.String != res.Error {
			t.Fatalf("migration_error %v, want %q", merr, res.Error)
		}
	})
	t.Run("FailureText", func(t *testing.T) {
		out, _, err := runFleet(t, e.env, "migrate", "tenants", "up", "--concurrency", "2")
		if !errors.Is(err, errFleetIncomplete) {
			t.Fatalf("err %v", err)
		}
		if !strings.Contains(out, "target version "+l(latest)+": 1 failed, 3 up-to-date in ") ||
			!strings.Contains(out, "\nFAILED charlie at version ") || !strings.Contains(out, "charlie: failed at version 0: ") ||
			!strings.Contains(out, "Unknown database") {
			t.Fatalf("output:\n%s", out)
		}
	})
	t.Run("StatusShowsFailure", func(t *testing.T) {
		rows, last := e.statusTable(t)
		// The error is a note below the table, which it does not widen.
		if row := strings.Join(rows["charlie"], " "); row != "charlie active 0 "+l(latest)+" "+l(int64(len(migrations.Versions(migrations.Tenant()))))+" see [1]" {
			t.Fatalf("row %q", row)
		}
		out := e.silo(t, "migrate", "tenants", "status")
		if _, notes, _ := strings.Cut(out, "\n\n"); !strings.HasPrefix(notes, "[1] charlie: ") || !strings.Contains(notes, "Unknown database") || strings.Count(notes, "\n") != 1 {
			t.Fatalf("notes of:\n%s", out)
		}
		if last != "4 tenants, 3 up to date, 1 behind, latest version "+l(latest) {
			t.Fatalf("last line %q", last)
		}
		var st provisioning.FleetStatus
		if err := json.Unmarshal([]byte(e.silo(t, "migrate", "tenants", "status", "--json")), &st); err != nil {
			t.Fatal(err)
		}
		if st.Totals != (provisioning.FleetTotals{Tenants: 4, UpToDate: 3, Behind: 1, Failed: 1}) {
			t.Fatalf("%+v", st.Totals)
		}
	})
	t.Run("MetricsFile", func(t *testing.T) {
		e.setSchemaVersion(t, "alpha", 0)
		path := filepath.Join(t.TempDir(), "fleet.prom")
		_, _, err := runFleet(t, e.env, "migrate", "tenants", "up", "--metrics-file", path)
		if !errors.Is(err, errFleetIncomplete) {
			t.Fatalf("err %v", err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		for _, want := range []string{
			`silo_fleet_tenants_total{outcome="migrated",server="default"} 1` + "\n",
			`silo_fleet_tenants_total{outcome="failed",server="default"} 1` + "\n",
			`silo_fleet_tenants_total{outcome="up-to-date",server="default"} 2` + "\n",
			`silo_fleet_tenants_total{outcome="skipped",server="default"} 0` + "\n",
			`silo_fleet_tenant_migration_duration_seconds_count{outcome="migrated"} 1` + "\n",
			`silo_fleet_tenant_migration_duration_seconds_count{outcome="failed"} 1` + "\n",
			"silo_fleet_target_version " + l(latest) + "\n",
			"silo_fleet_run_duration_seconds ",
			"silo_fleet_run_finished_timestamp_seconds ",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("metrics file lacks %q:\n%s", want, text)
			}
		}
	})
	t.Run("Selected", func(t *testing.T) {
		// "nosuch" also keeps TestFleetTenantFilter's bug from selecting delta.
		r, byslug, err := e.fleetJSON(t, "migrate", "tenants", "up", "--tenant", "charlie,nosuch")
		if !errors.Is(err, errFleetIncomplete) || len(r.Results) != 2 {
			t.Fatalf("%v: %+v", err, r)
		}
		if res := byslug["nosuch"]; res.Outcome != provisioning.OutcomeFailed || res.Reason != "no such tenant" {
			t.Fatalf("%+v", res)
		}
		if byslug["charlie"].Outcome != provisioning.OutcomeFailed {
			t.Fatalf("%+v", byslug["charlie"])
		}
		// As text, the reason is said once.
		out, _, err := runFleet(t, e.env, "migrate", "tenants", "up", "--tenant", "nosuch")
		if !errors.Is(err, errFleetIncomplete) || !strings.HasPrefix(out, "nosuch: failed: no such tenant\n") || strings.Count(out, "no such tenant") != 2 {
			t.Fatalf("%v:\n%s", err, out)
		}
	})
	t.Run("Canary", func(t *testing.T) {
		// alpha, bravo and charlie are the canaries; charlie fails.
		r, byslug, err := e.fleetJSON(t, "migrate", "tenants", "up", "--canary", "3", "--concurrency", "1")
		if !errors.Is(err, errFleetIncomplete) {
			t.Fatalf("err %v", err)
		}
		if res := byslug["delta"]; res.Outcome != provisioning.OutcomeNotRun || res.Reason != "a canary failed" {
			t.Fatalf("%+v", r.Results)
		}
	})
	t.Run("MaxFailures", func(t *testing.T) {
		e.setSchemaVersion(t, "delta", 0)
		defer e.setSchemaVersion(t, "delta", latest)
		// Order: alpha, bravo (up to date), charlie (fails), delta. delta
		// should be held back, but is handed to the one worker while it
		// still runs charlie (see TestFleetMaxFailuresStartsNothingAfterTheLimit
		// in provisioning): either outcome is accepted here.
		r, byslug, err := e.fleetJSON(t, "migrate", "tenants", "up", "--max-failures", "1", "--concurrency", "1")
		if !errors.Is(err, errFleetIncomplete) || byslug["charlie"].Outcome != provisioning.OutcomeFailed {
			t.Fatalf("%v: %+v", err, r)
		}
		if o := byslug["delta"].Outcome; o != provisioning.OutcomeMigrated && o != provisioning.OutcomeNotRun {
			t.Fatalf("%+v", r.Results)
		}
	})
	t.Run("VerifyMissingDatabase", func(t *testing.T) {
		r, byslug, err := e.fleetJSON(t, "migrate", "tenants", "up", "--verify")
		if !errors.Is(err, errFleetIncomplete) || r.Counts[provisioning.OutcomeFailed] != 1 {
			t.Fatalf("%v: %+v", err, r)
		}
		if res := byslug["charlie"]; !strings.Contains(res.Error, "Unknown database") {
			t.Fatalf("%+v", res)
		}
	})

	// Rolling a tenant back to version 0 would drop its whole schema: the
	// CLI refuses it (round trips to real versions are covered in provisioning).
	t.Run("DownToZeroRefused", func(t *testing.T) {
		_, _, err := runCmd(t, e.env, "migrate", "tenants", "down", "--tenant", "delta", "--to", "0", "--yes")
		if err == nil || !strings.Contains(err.Error(), "at least 1") {
			t.Fatalf("err = %v", err)
		}
		if !e.tableExists(t, "delta", "users") {
			t.Fatal("refused down changed the tenant")
		}
	})
}

func TestMigrateTenantsUsage(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	for _, args := range [][]string{
		{"migrate", "tenants"},
		{"migrate", "tenants", "sideways"},
		{"migrate", "tenant", "up"},
		{"migrate", "tenants", "up", "--bogus"},
		{"migrate", "tenants", "up", "--concurrency", "many"},
	} {
		_, _, err := runCmd(t, env, args...)
		var u usageError
		if !errors.As(err, &u) || (!strings.Contains(err.Error(), "usage: silo migrate") && !strings.Contains(err.Error(), "silo migrate tenants up --help")) {
			t.Errorf("silo %s: err %v, want a usage error", strings.Join(args, " "), err)
		}
	}
	if _, _, err := runCmd(t, env, "migrate", "tenants", "sideways"); err == nil || !strings.Contains(err.Error(), "silo migrate tenants down|status|up") {
		t.Errorf("unknown action: %v", err)
	}
	// Help is no error: it goes to stdout, and the run changes nothing.
	if out, _, err := runCmd(t, env, "migrate", "tenants", "up", "-h"); err != nil || !strings.Contains(out, "--concurrency N") {
		t.Errorf("-h: %v\n%s", err, out)
	}
	// Mistakes only the fleet runner sees.
	for args, want := range map[string]string{
		"down --yes":                    "down needs --to VERSION (at least 1) and --tenant",
		"down --to 0 --yes":             "down needs --to VERSION (at least 1) and --tenant",
		"down --tenant x --to -1 --yes": "down needs --to VERSION (at least 1) and --tenant",
		"up --to 99":                    "no migration has version 99",
	} {
		_, _, err := runCmd(t, env, append([]string{"migrate", "tenants"}, strings.Fields(args)...)...)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("silo migrate tenants %s: %v, want %q", args, err, want)
		}
	}
}

// "silo migrate tenants up alpha" (the slug without --tenant) must not
// migrate every tenant: migrateTenants drops loadConfig's positional
// arguments (cfg, _, err := loadConfig(...)) instead of refusing them.
func TestMigrateTenantsRefusesPositionalArguments(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	_, _, err := runCmd(t, env, "migrate", "tenants", "up", "alpha")
	var u usageError
	if !errors.As(err, &u) {
		t.Fatalf("err %v, want a usage error", err)
	}
}

// MigrateFleet calls progress from its workers, at once; the CLI's
// progress printer writes each line to stdout without a lock. os.Stdout
// copes, but any other io.Writer given to run (a bytes.Buffer, as runCmd
// passes) races: go test -race reports it here.
func TestMigrateTenantsProgressFromWorkers(t *testing.T) {
	t.Parallel()
	e := newTenantEnv(t)
	for _, slug := range []string{"one", "two", "three", "four"} {
		e.silo(t, "tenant", "create", "--slug", slug, "--name", slug)
		e.setSchemaVersion(t, slug, 0)
	}
	out, _, err := runCmd(t, e.env, "migrate", "tenants", "up", "--concurrency", "4")
	if err != nil || strings.Count(out, ": migrated from version 0 to ") != 4 {
		t.Fatalf("%v:\n%s", err, out)
	}
}
