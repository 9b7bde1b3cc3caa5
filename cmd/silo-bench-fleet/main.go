// Command silo-bench-fleet measures the fleet migration runner. It
// provisions N tenants on a fresh central database, times a no-op fleet
// run, then an additive two-statement migration (add a column, then an
// index) across all tenants at concurrency 1, 4 and 8, and, in the same
// run, the same migration applied by a shell loop of the goose CLI, one
// database after another and with xargs -P4. The runner at concurrency 4
// and the raw DDL floor are measured -rounds times, alternately, and
// compared by their medians. Last, it adds catalog-only tenants (rows at
// the latest version, no database) up to -noop-tenants and times a no-op
// run over them all. With -servers 2 it then compares the runner on all
// the tenants of one server with the same number spread over the shared
// server and a private one it starts. Everything it creates is dropped at
// the end.
//
//	go run ./cmd/silo-bench-fleet -tenants 1000 -goose "$(go env GOPATH)/bin/goose"
package main

import (
	"context"
	"embed"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"testing/fstest"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
	"golang.org/x/sync/errgroup"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/internal/assembly/app"
	"github.com/silo-dev/silo/internal/lib/secretbox"
	"github.com/silo-dev/silo/internal/testsupport/benchenv"
	"github.com/silo-dev/silo/migrations"
	"github.com/silo-dev/silo/provisioning"
)

//go:embed extra/*.sql
var extra embed.FS

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "silo-bench-fleet:", err)
		os.Exit(1)
	}
}

func run() error {
	tenants := flag.Int("tenants", 1000, "tenants to provision")
	server := flag.String("server", "root@tcp(127.0.0.1:3306)/", "DSN of the server")
	goose := flag.String("goose", "", "path of the goose CLI (empty: skip the goose comparison)")
	rounds := flag.Int("rounds", 3, "alternate rounds of the runner at concurrency 4 and the raw DDL floor")
	noopTenants := flag.Int("noop-tenants", 10000, "catalog size of the last no-op run (catalog-only rows fill it up; 0 skips)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the runner's concurrency-4 runs (not their resets) to this file")
	servers := flag.Int("servers", 1, "2: also compare the tenants on one server with the same number spread over the shared server and a private one (needs mariadbd)")
	flag.Parse()
	ctx := context.Background()

	env := benchenv.New(*server, "fb")
	cfg, err := env.Config(map[string]string{"SILO_PROVISION_CONCURRENCY": "4"})
	if err != nil {
		return err
	}
	log := slog.New(slog.DiscardHandler)
	defer env.Cleanup() // last: also after an Open that created the central database and failed
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()

	fmt.Printf("provisioning %d tenants... ", *tenants)
	start := time.Now()
	slugs, err := provision(ctx, a.Provisioner, *tenants)
	if err != nil {
		return err
	}
	fmt.Printf("%.1fs\n", time.Since(start).Seconds())

	// A second instance over the same installation whose tenant
	// migrations are the extended set.
	ext, err := extended()
	if err != nil {
		return err
	}
	extApp, err := app.OpenWith(ctx, cfg, log, app.Options{TenantMigrations: ext})
	if err != nil {
		return err
	}
	defer extApp.Close()
	// Raw DDL goes straight to the server, as the tenant admin.
	db, err := env.Open()
	if err != nil {
		return err
	}
	defer db.Close()
	b := &bench{ctx: ctx, base: a.Provisioner, ext: extApp.Provisioner, db: db, slugs: slugs, results: map[string][]time.Duration{}}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		b.profile = f
	}
	if err := b.databases(); err != nil {
		return err
	}
	if err := b.measure(*rounds); err != nil {
		return err
	}
	if *goose != "" {
		if err := b.gooseLoops(ext, *goose, cfg.TenantAdminDSN.Clone()); err != nil {
			return err
		}
	}
	if *noopTenants > 0 {
		if err := b.noopAt(env.CentralDB, *noopTenants); err != nil {
			return err
		}
	}
	b.print(*tenants, *noopTenants)
	if *servers == 2 {
		box, err := secretbox.New(cfg.MasterKey)
		if err != nil {
			return err
		}
		return b.spreadOver2(central.NewCatalog(a.CentralDB(), cfg.CentralDSN.DBName), box, *rounds)
	}
	return nil
}

// bench is one benchmark run's installation and figures.
type bench struct {
	ctx       context.Context
	base, ext *provisioning.Provisioner
	db        *sqlx.DB
	slugs     []string
	dbs       []string
	results   map[string][]time.Duration
	profile   *os.File // where the concurrency-4 runs' CPU profile goes, if set
}

const (
	noopRun  = "silo no-op run"
	siloC1   = "silo up, concurrency 1"
	siloC4   = "silo up, concurrency 4"
	siloC8   = "silo up, concurrency 8"
	floor    = "raw DDL, 4 connections (floor)"
	gooseSeq = "goose CLI loop, sequential"
	gooseX4  = "goose CLI loop, xargs -P4"
)

// add records a measurement, and prints it at once: a run cut short
// still tells what it measured.
func (b *bench) add(name string, d time.Duration) {
	b.results[name] = append(b.results[name], d)
	fmt.Printf("  %s: %s\n", name, d.Round(time.Millisecond))
}

// median is the median of name's measurements (0 if none).
func (b *bench) median(name string) time.Duration {
	ds := slices.Clone(b.results[name])
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

func (b *bench) databases() error {
	for _, s := range b.slugs {
		t, err := b.base.Get(b.ctx, s)
		if err != nil {
			return err
		}
		b.dbs = append(b.dbs, t.DatabaseName)
	}
	return nil
}

// measure times the no-op run, the runner at concurrency 1 and 8 once, and
// rounds alternate rounds of the runner at concurrency 4 and the floor.
func (b *bench) measure(rounds int) error {
	start := time.Now()
	rep, err := b.base.MigrateFleet(b.ctx, provisioning.FleetOptions{}, nil)
	if err != nil || !rep.OK() {
		return fmt.Errorf("no-op run: %v %v", err, rep.Counts)
	}
	b.add(noopRun, time.Since(start))
	silo := func(c int, name string) error {
		profiling := c == 4 && b.profile != nil // the first such run only
		if profiling {
			if err := pprof.StartCPUProfile(b.profile); err != nil {
				return err
			}
			b.profile = nil
		}
		start := time.Now()
		rep, err := b.ext.MigrateFleet(b.ctx, provisioning.FleetOptions{Concurrency: c}, nil)
		if profiling {
			pprof.StopCPUProfile()
		}
		if err != nil || !rep.OK() {
			return fmt.Errorf("up at concurrency %d: %v %v", c, err, rep.Counts)
		}
		b.add(name, time.Since(start))
		return reset(b.ctx, b.ext, b.slugs)
	}
	for _, c := range []struct {
		n    int
		name string
	}{{1, siloC1}, {8, siloC8}} {
		if err := silo(c.n, c.name); err != nil {
			return err
		}
	}
	for r := range rounds {
		fmt.Printf("round %d of %d...\n", r+1, rounds)
		if err := silo(4, siloC4); err != nil {
			return err
		}
		// The floor: the same two statements sent straight to each
		// database over 4 connections, with no version table, lock or
		// catalog.
		d, err := b.raw("ALTER TABLE DB.users ADD COLUMN nickname VARCHAR(50) NULL", "CREATE INDEX users_nickname ON DB.users (nickname)")
		if err != nil {
			return fmt.Errorf("raw DDL: %w", err)
		}
		b.add(floor, d)
		if _, err := b.raw("DROP INDEX users_nickname ON DB.users", "ALTER TABLE DB.users DROP COLUMN nickname"); err != nil {
			return fmt.Errorf("raw DDL reset: %w", err)
		}
	}
	return nil
}

// raw sends stmts, DB replaced by each tenant's database, over 4 connections.
func (b *bench) raw(stmts ...string) (time.Duration, error) {
	start := time.Now()
	g, gctx := errgroup.WithContext(b.ctx)
	g.SetLimit(4)
	for _, d := range b.dbs {
		g.Go(func() error {
			for _, q := range stmts {
				if _, err := b.db.ExecContext(gctx, strings.ReplaceAll(q, "DB", "`"+d+"`")); err != nil {
					return err
				}
			}
			return nil
		})
	}
	err := g.Wait()
	return time.Since(start), err
}

// gooseLoops applies the migration with the goose CLI, sequentially and
// with xargs -P4, resetting after each.
func (b *bench) gooseLoops(ext fs.FS, goose string, admin *mysql.Config) error {
	dir, err := os.MkdirTemp("", "silo-goose-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := writeDir(ext, dir); err != nil {
		return err
	}
	var dsns []string
	for _, d := range b.dbs {
		c := admin.Clone()
		c.DBName = d
		dsns = append(dsns, c.FormatDSN())
	}
	list := filepath.Join(dir, "dsns.txt")
	if err := os.WriteFile(list, []byte(strings.Join(dsns, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	for _, mode := range []struct{ name, script string }{
		{gooseSeq, `while read -r dsn; do "$GOOSE" -dir "$DIR" mysql "$dsn" up >/dev/null 2>&1 || exit 1; done < "$LIST"`},
		{gooseX4, `xargs -P4 -I{} sh -c '"$GOOSE" -dir "$DIR" mysql "$1" up >/dev/null 2>&1' _ {} < "$LIST"`},
	} {
		cmd := exec.Command("bash", "-c", mode.script)
		cmd.Env = append(os.Environ(), "GOOSE="+goose, "DIR="+dir, "LIST="+list)
		cmd.Stderr = os.Stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: %w", mode.name, err)
		}
		b.add(mode.name, time.Since(start))
		if err := reset(b.ctx, b.ext, b.slugs); err != nil {
			return err
		}
	}
	return nil
}

// noopAt fills the catalog up to n tenants with rows at the latest
// version whose databases do not exist (a no-op run must not connect to
// them), times five no-op runs over them all, and removes the rows.
func (b *bench) noopAt(central string, n int) error {
	extra := n - len(b.slugs)
	if extra < 0 {
		return nil
	}
	table := "`" + central + "`.tenants"
	now := time.Now().UTC()
	for start := 0; start < extra; start += 500 {
		var rows []string
		var args []any
		for i := start; i < min(start+500, extra); i++ {
			rows = append(rows, "(?, ?, 'catalog only', 'active', 'done', ?, '', ?, 'x', ?, ?, ?)")
			args = append(args, fmt.Sprintf("00000000-0000-4000-8000-%012d", i), fmt.Sprintf("noop-%d", i),
				fmt.Sprintf("noop_%d", i), fmt.Sprintf("noop_%d", i), b.base.Latest(), now, now)
		}
		if _, err := b.db.ExecContext(b.ctx, "INSERT INTO "+table+" (id, slug, name, status, step, database_name, database_host, db_user, db_password_enc, schema_version, created_at, updated_at) VALUES "+
			strings.Join(rows, ", "), args...); err != nil {
			return fmt.Errorf("catalog-only tenants: %w", err)
		}
	}
	defer b.db.ExecContext(context.Background(), "DELETE FROM "+table+" WHERE name = 'catalog only'") //nolint:errcheck // the central database is dropped at the end anyway
	name := fmt.Sprintf("silo no-op run, %d tenants", n)
	for range 5 {
		start := time.Now()
		rep, err := b.base.MigrateFleet(b.ctx, provisioning.FleetOptions{}, nil)
		if err != nil || !rep.OK() || rep.Counts[provisioning.OutcomeUpToDate] != n {
			return fmt.Errorf("no-op run over %d: %v %v", n, err, rep.Counts)
		}
		b.add(name, time.Since(start))
	}
	return nil
}

func (b *bench) print(tenants, noop int) {
	fmt.Printf("\n| run (%d tenants) | wall time | runs |\n|---|---|---|\n", tenants)
	names := []string{noopRun, siloC1, siloC4, siloC8, floor, gooseSeq, gooseX4, fmt.Sprintf("silo no-op run, %d tenants", noop)}
	for _, k := range names {
		if ds, ok := b.results[k]; ok {
			all := make([]string, len(ds))
			for i, d := range ds {
				all[i] = d.Round(time.Millisecond).String()
			}
			fmt.Printf("| %s | %s | %s |\n", k, b.median(k).Round(time.Millisecond), strings.Join(all, ", "))
		}
	}
	c1, c4, c8, fl := b.median(siloC1), b.median(siloC4), b.median(siloC8), b.median(floor)
	fmt.Printf("\nspeed-up: concurrency 4 vs 1: %.2fx, 8 vs 1: %.2fx\n", c1.Seconds()/c4.Seconds(), c1.Seconds()/c8.Seconds())
	if g := b.median(gooseX4); g > 0 {
		fmt.Printf("silo (concurrency 4) vs goose xargs -P4: %.2fx faster\n", g.Seconds()/c4.Seconds())
	}
	var rounds []string
	for i, d := range b.results[siloC4] {
		if i < len(b.results[floor]) {
			rounds = append(rounds, fmt.Sprintf("%.2f", d.Seconds()/b.results[floor][i].Seconds()))
		}
	}
	fmt.Printf("silo (concurrency 4) vs the raw DDL floor: %.2fx the time (medians; rounds: %s)\n", c4.Seconds()/fl.Seconds(), strings.Join(rounds, ", "))
}

// reset rolls every tenant back to the shipped schema, reading the
// versions from the databases (the goose CLI moves them behind the
// catalog's back).
func reset(ctx context.Context, p *provisioning.Provisioner, slugs []string) error {
	rep, err := p.MigrateFleet(ctx, provisioning.FleetOptions{Down: true, To: migrations.Latest(migrations.Tenant()),
		Tenants: slugs, Concurrency: 8, Verify: true}, nil)
	if err != nil {
		return err
	}
	if !rep.OK() {
		for _, r := range rep.Results {
			if r.Outcome != provisioning.OutcomeMigrated && r.Outcome != provisioning.OutcomeUpToDate {
				return fmt.Errorf("reset: %v; first: %s %s: %s", rep.Counts, r.Slug, r.Outcome, r.Error)
			}
		}
		return fmt.Errorf("reset: %v", rep.Counts)
	}
	return nil
}

// extended is the tenant migrations plus the benchmark's two.
func extended() (fs.FS, error) {
	m := fstest.MapFS{}
	for _, src := range []fs.FS{migrations.Tenant(), mustSub(extra, "extra")} {
		entries, err := fs.ReadDir(src, ".")
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			b, err := fs.ReadFile(src, e.Name())
			if err != nil {
				return nil, err
			}
			m[e.Name()] = &fstest.MapFile{Data: b}
		}
	}
	return m, nil
}

func mustSub(f fs.FS, dir string) fs.FS {
	s, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return s
}

func writeDir(src fs.FS, dir string) error {
	entries, err := fs.ReadDir(src, ".")
	if err != nil {
		return err
	}
	for _, e := range entries {
		b, err := fs.ReadFile(src, e.Name())
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func provision(ctx context.Context, p *provisioning.Provisioner, n int) ([]string, error) {
	return provisionOn(ctx, p, "", n)
}

// provisionOn provisions n tenants on the database server named server
// ("": where placement puts them), 4 at a time.
func provisionOn(ctx context.Context, p *provisioning.Provisioner, server string, n int) ([]string, error) {
	slugs := make([]string, n)
	for i := range slugs {
		slugs[i] = fmt.Sprintf("fleet-%s%d", server, i)
	}
	var g errgroup.Group
	g.SetLimit(4)
	for _, s := range slugs {
		g.Go(func() error {
			_, err := p.Create(ctx, provisioning.NewTenant{Slug: s, Name: s, Server: server})
			// On a busy shared server a provisioning can fail (too many
			// connections); finish it as an operator would.
			for try := 0; err != nil && try < 3; try++ {
				time.Sleep(time.Second)
				_, err = p.Provision(ctx, s)
			}
			return err
		})
	}
	return slugs, g.Wait()
}
