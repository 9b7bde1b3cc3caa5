package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/config"
	"github.com/silo-dev/silo/internal/lib/processlist"
	"github.com/silo-dev/silo/internal/lib/secretbox"
	"github.com/silo-dev/silo/internal/testsupport/benchenv"
	"github.com/silo-dev/silo/internal/testsupport/testdb"
	"github.com/silo-dev/silo/provisioning"
	"github.com/silo-dev/silo/tenantdb"
)

// dbServers are the database servers of a run (-servers N): the server of
// -server, registered as "default", and N-1 private MariaDB servers
// (testdb.StartPrivate) registered as s2, s3, ... Each is watched over its
// own root connection.
type dbServers struct {
	prefix   string // the tenant DB users' prefix
	names    []string
	caps     []int      // each server's tenant connection cap
	tenants  []int      // tenants placed on each server
	roots    []*sqlx.DB // root on each server
	ofTenant []int      // the server (index) of each tenant, by slug number
	private  []*testdb.MariaDB
}

// startPrivate starts the n-1 private servers of -servers n; close stops them.
func startPrivate(ctx context.Context, n int) (*dbServers, error) {
	s := &dbServers{names: []string{central.DefaultServer}}
	for i := 2; i <= n && ctx.Err() == nil; i++ {
		fmt.Printf("starting private database server s%d... ", i)
		m, err := testdb.StartPrivate()
		if err != nil {
			s.close()
			return nil, err
		}
		fmt.Printf("port %d\n", m.Port())
		s.private = append(s.private, m)
		s.names = append(s.names, fmt.Sprintf("s%d", i))
	}
	if ctx.Err() != nil {
		s.close()
		return nil, ctx.Err()
	}
	return s, nil
}

// register records the private servers in the installation's registry,
// each with the tenant connection cap connsMax, and gives every server
// (the default one too) room for an even share of the tenants, so that
// placement (the most free room first) spreads them evenly. It opens a
// root connection to each.
func (s *dbServers) register(ctx context.Context, cfg *config.Config, bench *benchenv.Env, tenants, connsMax int) error {
	s.prefix = bench.Prefix
	box, err := secretbox.New(cfg.MasterKey)
	if err != nil {
		return err
	}
	db, err := central.Open(ctx, cfg.CentralDSN)
	if err != nil {
		return err
	}
	defer db.Close()
	catalog := central.NewCatalog(db, cfg.CentralDSN.DBName)
	share := (tenants + len(s.names) - 1) / len(s.names)
	if len(s.names) > 1 {
		if _, err := catalog.UpdateServer(ctx, central.DefaultServer, central.ServerChange{Capacity: &share}); err != nil {
			return err
		}
	}
	root, err := bench.Open()
	if err != nil {
		return err
	}
	s.roots = append(s.roots, root)
	s.caps = append(s.caps, connsMax)
	for i, m := range s.private {
		dsn, err := config.ParseDSN(m.DSN())
		if err != nil {
			return err
		}
		rec := &central.Server{Name: s.names[i+1], Status: central.ServerActive, Capacity: share, ConnsMax: connsMax}
		provisioning.SealServer(box, rec, dsn)
		if err := catalog.AddServer(ctx, rec); err != nil {
			return fmt.Errorf("register %s: %w", rec.Name, err)
		}
		root, err := tenantdb.Open(ctx, dsn)
		if err != nil {
			return err
		}
		s.roots = append(s.roots, root)
		s.caps = append(s.caps, connsMax)
	}
	return nil
}

// placed reads where the tenants went, from the catalog.
func (s *dbServers) placed(ctx context.Context, centralDB *sqlx.DB, tenants int) error {
	var rows []struct {
		Slug   string `db:"slug"`
		Server string `db:"server"`
	}
	if err := centralDB.SelectContext(ctx, &rows, "SELECT slug, server FROM tenants"); err != nil {
		return err
	}
	index := map[string]int{}
	for i, n := range s.names {
		index[n] = i
	}
	s.ofTenant = make([]int, tenants)
	s.tenants = make([]int, len(s.names))
	for _, r := range rows {
		n, err := strconv.Atoi(strings.TrimPrefix(r.Slug, "load-"))
		i, ok := index[r.Server]
		if err != nil || n < 0 || n >= tenants || !ok {
			return fmt.Errorf("tenant %s on server %q: not one of this run's", r.Slug, r.Server)
		}
		s.ofTenant[n] = i
		s.tenants[i]++
	}
	return nil
}

// firstOn is the first tenant placed on server i (0 if none).
func (s *dbServers) firstOn(i int) int {
	for n, srv := range s.ofTenant {
		if srv == i {
			return n
		}
	}
	return 0
}

// sample counts the tenant DB users' connections on each server.
func (s *dbServers) sample() []int {
	counts := make([]int, len(s.roots))
	for i, root := range s.roots {
		counts[i], _ = processlist.Count(context.Background(), root.DB, processlist.UserPrefix(s.prefix))
	}
	return counts
}

// serverOf is the server (index) of the tenant a request addresses, -1
// when it names none of the run's tenants.
func (s *dbServers) serverOf(req *http.Request) int {
	n, err := strconv.Atoi(strings.TrimPrefix(req.Header.Get("x-tenant-id"), "load-"))
	if err != nil || n < 0 || n >= len(s.ofTenant) {
		return -1
	}
	return s.ofTenant[n]
}

// figures are each server's figures of a phase driven with r.
func (s *dbServers) figures(r result) []benchenv.ServerFigures {
	out := make([]benchenv.ServerFigures, len(s.names))
	for i, n := range s.names {
		out[i] = benchenv.ServerFigures{Name: n, Cap: s.caps[i]}
		if i < len(s.tenants) {
			out[i].Tenants = s.tenants[i]
		}
		if i < len(r.serverPeaks) {
			out[i].PeakConns = r.serverPeaks[i]
		}
		if i < len(r.serverErrs) {
			out[i].Errors = r.serverErrs[i]
		}
	}
	return out
}

// printServers prints the per-server line of the target: each server's
// tenants and peak tenant connections against its cap, and the errors.
func printServers(figs []benchenv.ServerFigures, errs int64) {
	parts := make([]string, len(figs))
	within := true
	for i, f := range figs {
		parts[i] = fmt.Sprintf("%s peak %d/%d (%d tenants, %d errors)", f.Name, f.PeakConns, f.Cap, f.Tenants, f.Errors)
		within = within && f.PeakConns <= f.Cap
	}
	verdict := "every server within its cap"
	if !within {
		verdict = "A SERVER WENT OVER ITS CAP"
	}
	fmt.Printf("servers: %s; errors %d; %s\n", strings.Join(parts, ", "), errs, verdict)
}

// close closes the root connections and stops the private servers.
func (s *dbServers) close() {
	for _, root := range s.roots {
		root.Close()
	}
	for i, m := range s.private {
		if err := m.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "silo-load: server s%d: %v\n", i+2, err)
		}
	}
	s.roots, s.private = nil, nil
}
