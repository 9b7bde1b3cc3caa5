package provisioning

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/internal/apperr"
	"github.com/silo-dev/silo/migrations"
)

// FleetOptions select what a fleet migration does.
type FleetOptions struct {
	Down        bool     // roll back (requires To)
	To          int64    // target version; 0 = the latest (up only)
	Tenants     []string // only these slugs; empty = every tenant and spare
	Concurrency int      // tenants migrated at once (default 4)
	DryRun      bool     // report what would run, change nothing
	MaxFailures int      // stop starting tenants after this many failures; 0 = never stop
	Canary      int      // migrate this many tenants first; go on only if all succeed
	Verify      bool     // read each database's goose version instead of trusting the catalog
	// OnStart, when set, is called once before the first result with the
	// number of results the run will report (for a progress bar's ETA).
	OnStart func(total int)
}

// Outcomes of one tenant in a fleet run.
const (
	OutcomeMigrated  = "migrated"
	OutcomeUpToDate  = "up-to-date"
	OutcomeWould     = "would-migrate"
	OutcomeFailed    = "failed"
	OutcomeSkipped   = "skipped"
	OutcomeNotRun    = "not-run"
	fleetLockTimeout = time.Minute
)

// TenantResult is one tenant's (or spare's) part of a fleet run.
type TenantResult struct {
	Slug     string        `json:"slug"` // a spare's database name for spares
	Spare    bool          `json:"spare,omitempty"`
	From     int64         `json:"from"`
	To       int64         `json:"to"`
	Outcome  string        `json:"outcome"`
	Reason   string        `json:"reason,omitempty"` // why skipped or not run
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"durationNs"`
}

// FleetReport sums a fleet run up.
type FleetReport struct {
	Target   int64          `json:"target"`
	Results  []TenantResult `json:"results"`
	Counts   map[string]int `json:"counts"`
	Duration time.Duration  `json:"durationNs"`
}

// OK reports whether every tenant that could be migrated reached the
// target: none failed and none was left unrun. Tenants skipped because of
// their status (provisioning, failed, deleted) are reported but do not
// fail the run.
func (r *FleetReport) OK() bool {
	for _, res := range r.Results {
		if res.Outcome == OutcomeFailed || res.Outcome == OutcomeNotRun {
			return false
		}
	}
	return true
}

// fleetItem is a tenant or a spare to migrate.
type fleetItem struct {
	tenant *central.Tenant
	spare  *central.Spare
}

func (it fleetItem) name() string {
	if it.spare != nil {
		return it.spare.DatabaseName
	}
	return it.tenant.Slug
}

// MigrateFleet migrates every selected tenant database (and spare) to the
// target, concurrently, each under its tenant lock so that two runners, or
// a runner and a provisioning, never work on one tenant at once. A failing
// tenant is recorded and the others go on; progress, if set, is called as
// each tenant finishes.
func (p *Provisioner) MigrateFleet(ctx context.Context, o FleetOptions, progress func(TenantResult)) (*FleetReport, error) {
	start := time.Now()
	target := o.To
	if !o.Down && target == 0 {
		target = p.latest
	}
	if o.Down && (o.To < 1 || len(o.Tenants) == 0) {
		// Version 0 would drop every table of the tenant schema: never by default.
		return nil, apperr.Validation(apperr.FieldError{Field: "to", Message: "down needs --to VERSION (at least 1) and --tenant"})
	}
	if target > p.latest {
		return nil, apperr.Validation(apperr.FieldError{Field: "to", Message: fmt.Sprintf("no migration has version %d (latest is %d)", target, p.latest)})
	}
	if o.Concurrency < 1 {
		o.Concurrency = 4
	}
	items, skipped, err := p.fleetItems(ctx, o.Tenants)
	if err != nil {
		return nil, err
	}
	report := &FleetReport{Target: target, Results: skipped}
	if o.OnStart != nil {
		o.OnStart(len(items) + len(skipped))
	}

	var mu sync.Mutex
	record := func(r TenantResult) {
		mu.Lock()
		report.Results = append(report.Results, r)
		mu.Unlock()
		if progress != nil {
			progress(r)
		}
	}
	for _, r := range skipped {
		if progress != nil {
			progress(r)
		}
	}
	run := func(batch []fleetItem) (failures int) {
		var failed atomic.Int64
		work := make(chan fleetItem)
		var wg sync.WaitGroup
		for w := 0; w < o.Concurrency; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for it := range work {
					if o.MaxFailures > 0 && failed.Load() >= int64(o.MaxFailures) {
						record(TenantResult{Slug: it.name(), Spare: it.spare != nil, Outcome: OutcomeNotRun, Reason: "stopped after failures"})
						continue
					}
					r := p.migrateOne(ctx, it, o, target)
					if r.Outcome == OutcomeFailed {
						failed.Add(1)
					}
					record(r)
				}
			}()
		}
		for i, it := range batch {
			if (o.MaxFailures > 0 && failed.Load() >= int64(o.MaxFailures)) || ctx.Err() != nil {
				reason := "stopped after failures"
				if ctx.Err() != nil {
					reason = "cancelled"
				}
				for _, rest := range batch[i:] {
					record(TenantResult{Slug: rest.name(), Spare: rest.spare != nil, Outcome: OutcomeNotRun, Reason: reason})
				}
				break
			}
			work <- it
		}
		close(work)
		wg.Wait()
		return int(failed.Load())
	}
	canary := min(o.Canary, len(items))
	if canary > 0 {
		if run(items[:canary]) > 0 {
			for _, rest := range items[canary:] {
				record(TenantResult{Slug: rest.name(), Spare: rest.spare != nil, Outcome: OutcomeNotRun, Reason: "a canary failed"})
			}
			return report.finish(start), nil
		}
		items = items[canary:]
	}
	run(items)
	return report.finish(start), nil
}

func (r *FleetReport) finish(start time.Time) *FleetReport {
	r.Counts = map[string]int{}
	for _, res := range r.Results {
		r.Counts[res.Outcome]++
	}
	r.Duration = time.Since(start)
	return r
}

// fleetItems lists what to migrate: active and suspended tenants and ready
// spares; tenants in other states are reported as skipped.
func (p *Provisioner) fleetItems(ctx context.Context, only []string) ([]fleetItem, []TenantResult, error) {
	ts, err := p.catalog.TenantsByStatus(ctx, central.StatusActive, central.StatusSuspended,
		central.StatusProvisioning, central.StatusFailed, central.StatusDeleted)
	if err != nil {
		return nil, nil, err
	}
	want := map[string]bool{}
	for _, s := range only {
		want[s] = true
	}
	seen := map[string]bool{}
	var items []fleetItem
	var skipped []TenantResult
	for i := range ts {
		t := &ts[i]
		if len(only) > 0 && !want[t.Slug] {
			continue
		}
		seen[t.Slug] = true
		switch t.Status {
		case central.StatusActive, central.StatusSuspended:
			items = append(items, fleetItem{tenant: t})
		default:
			skipped = append(skipped, TenantResult{Slug: t.Slug, From: t.SchemaVersion, To: t.SchemaVersion,
				Outcome: OutcomeSkipped, Reason: "tenant is " + t.Status})
		}
	}
	for _, slug := range only {
		if !seen[slug] {
			seen[slug] = true
			skipped = append(skipped, TenantResult{Slug: slug, Outcome: OutcomeFailed, Reason: "no such tenant", Error: "no such tenant"})
		}
	}
	if len(only) == 0 {
		spares, err := p.catalog.Spares(ctx)
		if err != nil {
			return nil, nil, err
		}
		for i := range spares {
			if spares[i].Status == "ready" {
				items = append(items, fleetItem{spare: &spares[i]})
			}
		}
	}
	return items, skipped, nil
}

// migrateOne brings one tenant or spare to target.
func (p *Provisioner) migrateOne(ctx context.Context, it fleetItem, o FleetOptions, target int64) TenantResult {
	start := time.Now()
	r := TenantResult{Slug: it.name(), Spare: it.spare != nil}
	database, current := "", int64(0)
	if it.spare != nil {
		database, current = it.spare.DatabaseName, it.spare.SchemaVersion
	} else {
		database, current = it.tenant.DatabaseName, it.tenant.SchemaVersion
	}
	r.From, r.To = current, current
	done := func(outcome string) TenantResult {
		r.Outcome, r.Duration = outcome, time.Since(start)
		return r
	}
	if o.Verify {
		v, err := p.server.Version(ctx, database, p.opts.Migrations)
		if err != nil {
			r.Error = p.safeError(err)
			return done(OutcomeFailed)
		}
		r.From, r.To, current = v, v, v
	}
	// Fast path: the catalog says the tenant is there; no connection made.
	if current == target {
		if o.Verify && !o.DryRun && it.tenant != nil && it.tenant.SchemaVersion != current {
			_ = p.catalog.RecordMigration(context.WithoutCancel(ctx), it.tenant.ID, current, "")
		}
		return done(OutcomeUpToDate)
	}
	if o.DryRun {
		r.To = target
		return done(OutcomeWould)
	}
	lockName := "tenant:" + it.name()
	if it.spare != nil {
		lockName = "spare:" + it.name()
	}
	release, ok, err := p.catalog.Lock(ctx, lockName, fleetLockTimeout)
	if err != nil || !ok {
		r.Error = "the tenant is locked by a provisioning or another runner"
		if err != nil {
			r.Error = p.safeError(err)
		}
		return done(OutcomeFailed)
	}
	defer release()
	v, err := p.server.MigrateTo(ctx, database, p.opts.Migrations, !o.Down, target)
	if v < 0 {
		v = current // the database could not tell: keep what the catalog knew
	}
	r.To = v
	msg := ""
	if err != nil {
		msg = p.safeError(err)
		r.Error = msg
	}
	if it.spare != nil {
		_ = p.catalog.RecordSpareVersion(context.WithoutCancel(ctx), database, v)
	} else if rerr := p.catalog.RecordMigration(context.WithoutCancel(ctx), it.tenant.ID, v, msg); rerr != nil && err == nil {
		r.Error = p.safeError(rerr)
		return done(OutcomeFailed)
	}
	if err != nil {
		p.log.ErrorContext(ctx, "tenant migration failed", "tenant", it.name(), "version", v, "err", msg)
		return done(OutcomeFailed)
	}
	return done(OutcomeMigrated)
}

// safeError is an error's text for reports: first line, bounded.
func (p *Provisioner) safeError(err error) string {
	msg := err.Error()
	var ae *apperr.Error
	if errors.As(err, &ae) && ae.Err != nil {
		msg = ae.Message + ": " + ae.Err.Error()
	}
	msg, _, _ = strings.Cut(msg, "\n")
	if len(msg) > 500 {
		msg = msg[:500]
	}
	return msg
}

// Latest is the newest tenant schema version.
func (p *Provisioner) Latest() int64 { return p.latest }

// FleetStatus is the fleet's schema state as the catalog records it.
type FleetStatus struct {
	LatestVersion int64               `json:"latestVersion"`
	Tenants       []TenantSchemaState `json:"tenants"`
	Totals        FleetTotals         `json:"totals"`
}

// TenantSchemaState is one tenant's schema state.
type TenantSchemaState struct {
	Slug          string `json:"slug"`
	Status        string `json:"status"`
	SchemaVersion int64  `json:"schemaVersion"`
	LatestVersion int64  `json:"latestVersion"`
	Pending       int    `json:"pending"`
	LastError     string `json:"lastError,omitempty"`
}

// FleetTotals counts tenants by schema state.
type FleetTotals struct {
	Tenants  int `json:"tenants"`
	UpToDate int `json:"upToDate"`
	Behind   int `json:"behind"`
	Failed   int `json:"failed"`
}

// FleetStatus reads every tenant's recorded schema version.
func (p *Provisioner) FleetStatus(ctx context.Context) (*FleetStatus, error) {
	ts, err := p.catalog.TenantsByStatus(ctx, central.StatusActive, central.StatusSuspended,
		central.StatusProvisioning, central.StatusFailed)
	if err != nil {
		return nil, err
	}
	versions := migrations.Versions(p.opts.Migrations)
	st := &FleetStatus{LatestVersion: p.latest, Tenants: make([]TenantSchemaState, 0, len(ts))}
	for _, t := range ts {
		pending := 0
		for _, v := range versions {
			if v > t.SchemaVersion {
				pending++
			}
		}
		s := TenantSchemaState{Slug: t.Slug, Status: t.Status, SchemaVersion: t.SchemaVersion,
			LatestVersion: p.latest, Pending: pending, LastError: t.MigrationErr.String}
		st.Tenants = append(st.Tenants, s)
		st.Totals.Tenants++
		switch {
		case s.LastError != "":
			st.Totals.Failed++
			st.Totals.Behind++
		case pending == 0:
			st.Totals.UpToDate++
		default:
			st.Totals.Behind++
		}
	}
	return st, nil
}
