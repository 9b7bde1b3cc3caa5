// Command silo-bench-fleet measures the fleet migration runner. It
// provisions N tenants on a fresh central database, times a no-op fleet
// run, then an additive two-statement migration (add a column, then an
// index) across all tenants at concurrency 1, 4 and 8, and, in the same
// run, the same migration applied by a shell loop of the goose CLI, one
// database after another and with xargs -P4. Everything it creates is
// dropped at the end.
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
	"strings"
	"testing/fstest"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/silo-dev/silo/internal/assembly/app"
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
	flag.Parse()
	ctx := context.Background()

	bench := benchenv.New(*server, "fb")
	cfg, err := bench.Config(map[string]string{"SILO_PROVISION_CONCURRENCY": "4"})
	if err != nil {
		return err
	}
	log := slog.New(slog.DiscardHandler)
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	defer bench.Cleanup()

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
	extP := extApp.Provisioner
	// Raw DDL goes straight to the server, as the tenant admin.
	db, err := bench.Open()
	if err != nil {
		return err
	}
	defer db.Close()

	results := map[string]time.Duration{}
	start = time.Now()
	rep, err := a.Provisioner.MigrateFleet(ctx, provisioning.FleetOptions{}, nil)
	if err != nil || !rep.OK() {
		return fmt.Errorf("no-op run: %v %v", err, rep.Counts)
	}
	results["silo no-op run"] = time.Since(start)

	for _, c := range []int{1, 4, 8} {
		start = time.Now()
		rep, err := extP.MigrateFleet(ctx, provisioning.FleetOptions{Concurrency: c}, nil)
		if err != nil || !rep.OK() {
			return fmt.Errorf("up at concurrency %d: %v %v", c, err, rep.Counts)
		}
		results[fmt.Sprintf("silo up, concurrency %d", c)] = time.Since(start)
		if err := reset(ctx, extP, slugs); err != nil {
			return err
		}
	}

	// The floor: the same two statements sent straight to each database
	// over 4 connections, with no version table, lock or catalog.
	var databases []string
	for _, s := range slugs {
		t, err := a.Provisioner.Get(ctx, s)
		if err != nil {
			return err
		}
		databases = append(databases, t.DatabaseName)
	}
	raw := func(stmts ...string) (time.Duration, error) {
		start := time.Now()
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(4)
		for _, d := range databases {
			g.Go(func() error {
				for _, q := range stmts {
					if _, err := db.ExecContext(gctx, strings.ReplaceAll(q, "DB", "`"+d+"`")); err != nil {
						return err
					}
				}
				return nil
			})
		}
		err := g.Wait()
		return time.Since(start), err
	}
	if results["raw DDL, 4 connections (floor)"], err = raw(
		"ALTER TABLE DB.users ADD COLUMN nickname VARCHAR(50) NULL", "CREATE INDEX users_nickname ON DB.users (nickname)"); err != nil {
		return fmt.Errorf("raw DDL: %w", err)
	}
	if _, err := raw("DROP INDEX users_nickname ON DB.users", "ALTER TABLE DB.users DROP COLUMN nickname"); err != nil {
		return fmt.Errorf("raw DDL reset: %w", err)
	}

	if *goose != "" {
		dir, err := os.MkdirTemp("", "silo-goose-*")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if err := writeDir(ext, dir); err != nil {
			return err
		}
		var dsns []string
		for _, s := range slugs {
			t, err := a.Provisioner.Get(ctx, s)
			if err != nil {
				return err
			}
			c := cfg.TenantAdminDSN.Clone()
			c.DBName = t.DatabaseName
			dsns = append(dsns, c.FormatDSN())
		}
		list := filepath.Join(dir, "dsns.txt")
		if err := os.WriteFile(list, []byte(strings.Join(dsns, "\n")+"\n"), 0o600); err != nil {
			return err
		}
		for _, mode := range []struct{ name, script string }{
			{"goose CLI loop, sequential", `while read -r dsn; do "$GOOSE" -dir "$DIR" mysql "$dsn" up >/dev/null 2>&1 || exit 1; done < "$LIST"`},
			{"goose CLI loop, xargs -P4", `xargs -P4 -I{} sh -c '"$GOOSE" -dir "$DIR" mysql "$1" up >/dev/null 2>&1' _ {} < "$LIST"`},
		} {
			cmd := exec.Command("bash", "-c", mode.script)
			cmd.Env = append(os.Environ(), "GOOSE="+*goose, "DIR="+dir, "LIST="+list)
			cmd.Stderr = os.Stderr
			start = time.Now()
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("%s: %w", mode.name, err)
			}
			results[mode.name] = time.Since(start)
			if err := reset(ctx, extP, slugs); err != nil {
				return err
			}
		}
	}

	fmt.Printf("\n| run (%d tenants) | wall time |\n|---|---|\n", *tenants)
	for _, k := range []string{"silo no-op run", "silo up, concurrency 1", "silo up, concurrency 4", "silo up, concurrency 8",
		"raw DDL, 4 connections (floor)", "goose CLI loop, sequential", "goose CLI loop, xargs -P4"} {
		if d, ok := results[k]; ok {
			fmt.Printf("| %s | %s |\n", k, d.Round(time.Millisecond))
		}
	}
	c1, c4, c8 := results["silo up, concurrency 1"], results["silo up, concurrency 4"], results["silo up, concurrency 8"]
	fmt.Printf("\nspeed-up: concurrency 4 vs 1: %.2fx, 8 vs 1: %.2fx\n", c1.Seconds()/c4.Seconds(), c1.Seconds()/c8.Seconds())
	if g, ok := results["goose CLI loop, xargs -P4"]; ok {
		fmt.Printf("silo (concurrency 4) vs goose xargs -P4: %.2fx faster\n", g.Seconds()/c4.Seconds())
	}
	fmt.Printf("silo (concurrency 4) vs the raw DDL floor: %.2fx the time\n", c4.Seconds()/results["raw DDL, 4 connections (floor)"].Seconds())
	return nil
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
	slugs := make([]string, n)
	for i := range slugs {
		slugs[i] = fmt.Sprintf("fleet-%d", i)
	}
	var g errgroup.Group
	g.SetLimit(4)
	for _, s := range slugs {
		g.Go(func() error {
			_, err := p.Create(ctx, provisioning.NewTenant{Slug: s, Name: s})
			return err
		})
	}
	return slugs, g.Wait()
}
