package provisioning

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/silo-dev/silo/central"
)

// FleetProgress is the data of a migration.progress event: a fleet run
// announces itself when it starts, then the tenants it finished, in
// batches (at most progressBatch results, or every progressEvery), then
// its end with the report's counts. Every result of the run is in exactly
// one of its events.
type FleetProgress struct {
	Run    string `json:"run" doc:"the run's id, the same in each of its events"`
	State  string `json:"state" enum:"started,running,finished"`
	DryRun bool   `json:"dryRun"`
	Total  int    `json:"total" doc:"tenants and spares the run reports on"`
	Done   int    `json:"done" doc:"results so far"`
	Failed int    `json:"failed" doc:"failed results so far"`
	// Results are the tenants finished since the run's previous event.
	Results []TenantResult `json:"results"`
	// Counts are the finished run's results by outcome (finished only).
	Counts map[string]int `json:"counts,omitempty"`
	OK     *bool          `json:"ok,omitempty" doc:"whether every tenant reached the target (finished only)"`
}

const (
	progressBatch   = 100
	progressEvery   = time.Second
	progressTimeout = 5 * time.Second // one event write
)

// fleetEvents writes a run's migration.progress events to the central
// events table, where every instance's streams read them. An event that
// cannot be written is logged and dropped: the run goes on regardless.
type fleetEvents struct {
	catalog Catalog
	log     *slog.Logger
	ctx     context.Context // the run's, without its cancellation

	mu      sync.Mutex // guards what follows; held while an event is written, to keep them in order
	ev      FleetProgress
	pending []TenantResult
	last    time.Time
}

func (p *Provisioner) fleetEvents(ctx context.Context, o FleetOptions, total int) *fleetEvents {
	e := &fleetEvents{catalog: p.catalog, log: p.log, ctx: context.WithoutCancel(ctx),
		ev: FleetProgress{Run: uuid.Must(uuid.NewV7()).String(), DryRun: o.DryRun, Total: total}}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.emit("started")
	return e
}

// add notes a tenant's result, and writes the pending results when due.
func (e *fleetEvents) add(r TenantResult) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pending = append(e.pending, r)
	e.ev.Done++
	if r.Outcome == OutcomeFailed {
		e.ev.Failed++
	}
	if len(e.pending) >= progressBatch || time.Since(e.last) >= progressEvery {
		e.emit("running")
	}
}

// finish writes the run's last event, with the report's counts.
func (e *fleetEvents) finish(r *FleetReport) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ok := r.OK()
	e.ev.Counts, e.ev.OK, e.ev.Failed = r.Counts, &ok, r.Counts[OutcomeFailed]
	e.emit("finished")
}

// emit writes the pending results as one event of state; e.mu is held.
func (e *fleetEvents) emit(state string) {
	e.ev.State, e.ev.Results = state, e.pending
	if e.ev.Results == nil {
		e.ev.Results = []TenantResult{}
	}
	e.pending, e.last = nil, time.Now()
	ctx, cancel := context.WithTimeout(e.ctx, progressTimeout)
	defer cancel()
	if err := e.catalog.RecordEvent(ctx, central.EventMigrationProgress, "", e.ev); err != nil {
		e.log.WarnContext(ctx, "recording a fleet run's progress failed", "run", e.ev.Run, "state", state, "err", err)
	}
}
