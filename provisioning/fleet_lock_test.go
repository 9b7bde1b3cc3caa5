package provisioning_test

import (
	"context"
	"sync"
	"testing"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/migrations"
	"github.com/silo-dev/silo/provisioning"
	"github.com/silo-dev/silo/tenantdb"
)

// lockProbeServer's fleet workers check, as each tenant's migration
// starts, that another session cannot take the tenant's lock (the one
// provisioning and deletion take).
type lockProbeServer struct {
	*countingServer
	catalog *central.Catalog
	slugOf  map[string]string // database -> slug

	mu     sync.Mutex
	probed int
	free   []string // tenants whose lock another session could take mid-migration
}

func (s *lockProbeServer) NewMigrator() (tenantdb.MigrationConn, error) {
	m, err := s.countingServer.NewMigrator()
	if err != nil {
		return nil, err
	}
	return &lockProbeMigrator{MigrationConn: m, s: s}, nil
}

type lockProbeMigrator struct {
	tenantdb.MigrationConn
	s *lockProbeServer
}

func (m *lockProbeMigrator) MigrateTo(ctx context.Context, database string, set migrations.Set, up bool, to int64) (int64, error) {
	release, ok, err := m.s.catalog.TryLock(ctx, "tenant:"+m.s.slugOf[database])
	m.s.mu.Lock()
	m.s.probed++
	if err != nil || ok {
		m.s.free = append(m.s.free, m.s.slugOf[database])
	}
	m.s.mu.Unlock()
	if ok {
		release()
	}
	return m.MigrationConn.MigrateTo(ctx, database, set, up, to)
}

// Each tenant is migrated holding its tenant lock, whether the run took
// it ahead, while the tenant waited for a worker, or the worker waited for
// it; once the run returns every lock is free.
func TestFleetHoldsTenantLockWhileMigrating(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	all := slugs("held", 8)
	e.createTenants(all...)
	// One tenant's lock is busy as the run starts: its worker waits for it.
	release, ok, err := e.catalog.TryLock(bg, "tenant:"+all[3])
	if err != nil || !ok {
		t.Fatalf("TryLock = %v, %v", ok, err)
	}
	srv := &lockProbeServer{countingServer: &countingServer{Server: e.server}, catalog: e.catalog, slugOf: map[string]string{}}
	for _, s := range all {
		srv.slugOf[e.dbName(s)] = s
	}
	p := e.provisionerOn(e.catalog, srv, extendedMigrations(t))
	r, err := p.MigrateFleet(bg, provisioning.FleetOptions{Concurrency: 2}, func(res provisioning.TenantResult) {
		if res.Slug == all[1] {
			release() // the busy tenant's lock goes while the run is under way
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	requireCounts(t, r, map[string]int{provisioning.OutcomeMigrated: len(all)})
	if srv.probed != len(all) || len(srv.free) > 0 {
		t.Fatalf("probed %d tenants; locks free during their migration: %v", srv.probed, srv.free)
	}
	for _, s := range all {
		rel, ok, err := e.catalog.TryLock(bg, "tenant:"+s)
		if err != nil || !ok {
			t.Fatalf("%s's lock is still held after the run: %v, %v", s, ok, err)
		}
		rel()
	}
}
