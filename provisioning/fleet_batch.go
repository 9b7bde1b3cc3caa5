package provisioning

import (
	"context"
	"sync"
	"time"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/tenantdb"
)

// A fleet run writes its results to the catalog in batches: every
// recordBatch results, or once recordEvery has passed since the last
// write, and at the end of the run. A run that dies before a write leaves
// the catalog behind the databases for those tenants, never ahead of
// them: the next run finds them pending, reads their goose version tables
// (the truth) and records them.
const (
	recordBatch = 200
	recordEvery = time.Second
)

// pendingRecord is a catalog record not yet written, and the report entry
// it belongs to.
type pendingRecord struct {
	slug string
	rec  central.MigrationRecord
}

// fleetRecorder batches a fleet run's catalog writes.
type fleetRecorder struct {
	catalog Catalog
	batch   int

	mu      sync.Mutex // guards pending and last
	pending []pendingRecord
	last    time.Time

	flushing sync.Mutex // one write at a time
}

func newFleetRecorder(catalog Catalog, batch int) *fleetRecorder {
	return &fleetRecorder{catalog: catalog, batch: batch, last: time.Now()}
}

// add queues one record and writes the queue when it is due.
func (r *fleetRecorder) add(ctx context.Context, slug string, rec central.MigrationRecord) {
	r.mu.Lock()
	r.pending = append(r.pending, pendingRecord{slug: slug, rec: rec})
	due := len(r.pending) >= r.batch || time.Since(r.last) >= recordEvery
	r.mu.Unlock()
	if due {
		_, _ = r.flush(ctx) // a failed write stays queued for the next
	}
}

// flush writes every queued record in one call. On a failure the records
// stay queued, and flush returns the error and the tenants they belong to.
func (r *fleetRecorder) flush(ctx context.Context) (unrecorded []string, err error) {
	r.flushing.Lock()
	defer r.flushing.Unlock()
	r.mu.Lock()
	batch := r.pending
	r.pending, r.last = nil, time.Now()
	r.mu.Unlock()
	if len(batch) == 0 {
		return nil, nil
	}
	recs := make([]central.MigrationRecord, len(batch))
	for i, p := range batch {
		recs[i] = p.rec
	}
	if err := r.catalog.RecordMigrations(context.WithoutCancel(ctx), recs); err != nil {
		r.mu.Lock()
		r.pending = append(batch, r.pending...)
		for _, p := range r.pending {
			unrecorded = append(unrecorded, p.slug)
		}
		r.mu.Unlock()
		return unrecorded, err
	}
	return nil, nil
}

// migratorPool holds a fleet run's tenant-server connections, one per
// worker and server, opened on first need and reused from tenant to tenant.
type migratorPool struct {
	servers ServerSet
	size    int

	mu   sync.Mutex
	idle map[string]chan tenantdb.MigrationConn // by server
	down map[string]bool                        // servers whose last open failed
}

func newMigratorPool(servers ServerSet, size int) *migratorPool {
	return &migratorPool{servers: servers, size: size, idle: map[string]chan tenantdb.MigrationConn{}, down: map[string]bool{}}
}

func (m *migratorPool) idleOf(server string) chan tenantdb.MigrationConn {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.idle[server]
	if c == nil {
		c = make(chan tenantdb.MigrationConn, m.size)
		m.idle[server] = c
	}
	return c
}

// get returns an idle connection to server or a new one. A run never has
// more workers on a server than the pool's size, so put never blocks.
func (m *migratorPool) get(ctx context.Context, server string) (tenantdb.MigrationConn, error) {
	select {
	case c := <-m.idleOf(server):
		return c, nil
	default:
		srv, err := m.servers.Get(ctx, server)
		var c tenantdb.MigrationConn
		if err == nil {
			c, err = srv.NewMigrator()
		}
		m.setFailed(server, err != nil)
		return c, err
	}
}

func (m *migratorPool) put(server string, c tenantdb.MigrationConn) { m.idleOf(server) <- c }

// failed reports whether the last attempt to open a connection to server
// failed (the server is down or refuses the admin account).
func (m *migratorPool) failed(server string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.down[server]
}

func (m *migratorPool) setFailed(server string, failed bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.down[server] = failed
}

// close closes every connection; the workers have all returned theirs.
func (m *migratorPool) close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, idle := range m.idle {
		for len(idle) > 0 {
			(<-idle).Close()
		}
	}
}
