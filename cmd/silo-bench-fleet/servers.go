package main

import (
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/config"
	"github.com/silo-dev/silo/internal/lib/secretbox"
	"github.com/silo-dev/silo/internal/testsupport/testdb"
	"github.com/silo-dev/silo/provisioning"
)

const (
	oneServer = "silo up, concurrency 4, all on one server"
	spread    = "silo up, concurrency 4 per server, over 2 servers"
)

// spreadOver2 measures the fleet runner over two database servers: it
// starts a private MariaDB server, registers it, provisions half as many
// tenants as the run has there, and times, alternately, the migration of
// all the run's tenants on the shared server against the migration of
// half of them plus the private server's (the same number of tenants, at
// the same concurrency per server).
func (b *bench) spreadOver2(catalog *central.Catalog, box *secretbox.Box, rounds int) error {
	m, err := testdb.StartPrivate()
	if err != nil {
		return err
	}
	defer m.Close()
	cfg, err := config.ParseDSN(m.DSN())
	if err != nil {
		return err
	}
	rec := &central.Server{Name: "s2", Status: central.ServerActive, Capacity: len(b.slugs)}
	provisioning.SealServer(box, rec, cfg)
	if err := catalog.AddServer(b.ctx, rec); err != nil {
		return err
	}
	half := len(b.slugs) / 2
	fmt.Printf("provisioning %d tenants on a second server... ", half)
	start := time.Now()
	second, err := provisionOn(b.ctx, b.base, "s2", half)
	if err != nil {
		return err
	}
	fmt.Printf("%.1fs\n", time.Since(start).Seconds())
	over2 := append(slices.Clone(b.slugs[:half]), second...)
	for r := range rounds {
		fmt.Printf("two servers, round %d of %d...\n", r+1, rounds)
		for _, run := range []struct {
			name  string
			slugs []string
		}{{oneServer, b.slugs}, {spread, over2}} {
			start, cpu := time.Now(), readMachineCPU()
			rep, err := b.ext.MigrateFleet(b.ctx, provisioning.FleetOptions{Concurrency: 4, Tenants: run.slugs}, nil)
			if err != nil || !rep.OK() {
				return fmt.Errorf("%s: %v %v", run.name, err, rep.Counts)
			}
			b.add(run.name, time.Since(start))
			busy, iowait := cpu.since()
			fmt.Printf("    machine CPU busy %.0f%%, waiting for I/O %.0f%% (of %d cores)\n", busy*100, iowait*100, runtime.NumCPU())
			if err := reset(b.ctx, b.ext, run.slugs); err != nil {
				return err
			}
		}
	}
	fmt.Printf("\n| run (%d tenants) | wall time | runs |\n|---|---|---|\n", len(b.slugs))
	for _, k := range []string{oneServer, spread} {
		fmt.Printf("| %s | %s | %v |\n", k, b.median(k).Round(time.Millisecond), b.results[k])
	}
	fmt.Printf("two servers vs one: %.2fx faster (medians)\n", b.median(oneServer).Seconds()/b.median(spread).Seconds())
	return nil
}
