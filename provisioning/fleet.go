package provisioning

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/migrations"
	"github.com/silo-dev/silo/tenantdb"
)

// FleetOptions select what a fleet migration does.
type FleetOptions struct {
	Down        bool     // roll back (requires To)
	To          int64    // target version; 0 = the latest (up only)
	Tenants     []string // only these slugs; empty = every tenant and spare
	Concurrency int      // tenants migrated at once on each database server (default 4)
	DryRun      bool     // report what would run, change nothing
	MaxFailures int      // stop starting tenants after this many failures; 0 = never stop
	Canary      int      // migrate this many tenants first; go on only if all succeed
	Verify      bool     // read each database's goose version instead of trusting the catalog
	// Set limits the run to one migration set (see Options.AppSets); down
	// and To apply to it, Silo's own set ("silo") when empty. An up run
	// without To and without Set brings every set to its latest version.
	Set string
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

// TenantResult is one tenant's (or spare's) part of a fleet run. From and
// To are the versions of the run's first set (Silo's own unless Set names
// another); Sets details every set when the run covers more than one.
type TenantResult struct {
	Slug     string        `json:"slug"` // a spare's database name for spares
	Spare    bool          `json:"spare,omitempty"`
	Server   string        `json:"server,omitempty"` // the database server it is on
	From     int64         `json:"from"`
	To       int64         `json:"to"`
	Outcome  string        `json:"outcome"`
	Reason   string        `json:"reason,omitempty"` // why skipped or not run
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"durationNs"`
	Sets     []SetResult   `json:"sets,omitempty"`
}

// SetResult is one migration set's part of a tenant's result.
type SetResult struct {
	Set   string `json:"set"`
	From  int64  `json:"from"`
	To    int64  `json:"to"`
	Error string `json:"error,omitempty"`
}

// FleetReport sums a fleet run up. Target is the first set's target;
// Targets has every set's.
type FleetReport struct {
	Target   int64            `json:"target"`
	Targets  map[string]int64 `json:"targets"`
	Results  []TenantResult   `json:"results"`
	Counts   map[string]int   `json:"counts"`
	Duration time.Duration    `json:"durationNs"`
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

// server is the database server the item's database is on.
func (it fleetItem) server() string {
	if it.spare != nil {
		return it.spare.Server
	}
	return it.tenant.Server
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
//
// A tenant the catalog records at the target is reported up-to-date
// without a connection or a goroutine (unless o.Verify). The others are
// migrated by o.Concurrency workers, each on one connection of its own to
// the tenant server that it keeps from tenant to tenant (see
// tenantdb.Migrator); their results reach the catalog in batches (see
// fleetRecorder).
func (p *Provisioner) MigrateFleet(ctx context.Context, o FleetOptions, progress func(TenantResult)) (*FleetReport, error) {
	start := time.Now()
	plan, err := p.fleetPlan(o)
	if err != nil {
		return nil, err
	}
	if o.Concurrency < 1 {
		o.Concurrency = 4
	}
	items, skipped, err := p.fleetItems(ctx, o.Tenants)
	if err != nil {
		return nil, err
	}
	var recorded map[string]map[string]central.SetVersion
	if len(p.sets) > 1 {
		if recorded, err = p.catalog.SetVersions(ctx); err != nil {
			return nil, err
		}
	}
	report := &FleetReport{Target: plan[0].target, Targets: map[string]int64{}, Results: skipped}
	for _, sp := range plan {
		report.Targets[sp.set.Name] = sp.target
	}
	if o.OnStart != nil {
		o.OnStart(len(items) + len(skipped))
	}
	events := p.fleetEvents(ctx, o, len(items)+len(skipped))
	batch := recordBatch
	if o.Down || o.To != 0 {
		// A run to an explicit version (a rollback) records each tenant
		// at once: see RecordMigrations on late records.
		batch = 1
	}
	f := &fleetRun{p: p, o: o, plan: plan, recorded: recorded, progress: progress, report: report, events: events,
		rec: newFleetRecorder(p.catalog, batch), conns: newMigratorPool(p.servers, o.Concurrency)}
	defer f.conns.close()
	for _, r := range skipped {
		events.add(r)
		if progress != nil {
			progress(r)
		}
	}
	f.runAll(ctx, items)
	f.releases.Wait()
	f.flush(ctx)
	report.finish(start)
	events.finish(report)
	return report, nil
}

// runAll runs the canary tenants, then, if they all succeeded, the rest.
func (f *fleetRun) runAll(ctx context.Context, items []fleetItem) {
	canary := min(f.o.Canary, len(items))
	if canary > 0 {
		if f.run(ctx, items[:canary]) > 0 {
			for _, rest := range items[canary:] {
				f.record(notRun(rest, "a canary failed"))
			}
			return
		}
		items = items[canary:]
	}
	f.run(ctx, items)
}

// fleetRun is what the workers of one MigrateFleet call share.
type fleetRun struct {
	p        *Provisioner
	o        FleetOptions
	plan     []setPlan
	recorded map[string]map[string]central.SetVersion
	progress func(TenantResult)
	events   *fleetEvents
	rec      *fleetRecorder
	conns    *migratorPool
	releases sync.WaitGroup // tenant locks being released

	mu     sync.Mutex // guards report.Results: workers record concurrently
	report *FleetReport
}

// record adds a tenant's result to the report and tells progress.
func (f *fleetRun) record(r TenantResult) {
	f.mu.Lock()
	f.report.Results = append(f.report.Results, r)
	f.mu.Unlock()
	f.events.add(r)
	if f.progress != nil {
		f.progress(r)
	}
}

// flush writes the results still queued for the catalog. Tenants whose
// result the catalog could not take are reported failed: their databases
// are where the report says, and the next run re-checks them.
func (f *fleetRun) flush(ctx context.Context) {
	unrecorded, err := f.rec.flush(ctx)
	if err == nil {
		return
	}
	msg := "the catalog could not record this result (the next run re-checks it): " + f.p.safeError(err)
	lost := map[string]bool{}
	for _, slug := range unrecorded {
		lost[slug] = true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.report.Results {
		if r := &f.report.Results[i]; lost[r.Slug] && r.Outcome != OutcomeFailed {
			r.Outcome, r.Error = OutcomeFailed, msg
		}
	}
}

// notRun is the result of a tenant the run never started.
func notRun(it fleetItem, reason string) TenantResult {
	return TenantResult{Slug: it.name(), Spare: it.spare != nil, Server: it.server(), Outcome: OutcomeNotRun, Reason: reason}
}

// run migrates batch, o.Concurrency tenants at a time on each database
// server, the servers side by side, and returns how many tenants failed.
// A tenant the catalog shows at the target is settled at once. Once
// MaxFailures is reached (over all servers) or ctx is cancelled, the
// tenants not yet started are recorded as not run rather than dropped, so
// that the report still accounts for every tenant. A server whose
// connection cannot be opened fails its remaining tenants at once with
// that reason, and the other servers go on.
func (f *fleetRun) run(ctx context.Context, batch []fleetItem) (failures int) {
	var failed atomic.Int64
	var order []string
	byServer := map[string][]fleetItem{}
	for _, it := range batch {
		if _, ok := byServer[it.server()]; !ok {
			order = append(order, it.server())
		}
		byServer[it.server()] = append(byServer[it.server()], it)
	}
	var wg sync.WaitGroup
	for _, server := range order {
		wg.Go(func() { f.runServer(ctx, byServer[server], &failed) })
	}
	wg.Wait()
	return int(failed.Load())
}

// runServer migrates the items of one server, o.Concurrency at a time.
func (f *fleetRun) runServer(ctx context.Context, items []fleetItem, failed *atomic.Int64) {
	o := f.o
	stopped := func() string {
		switch {
		case ctx.Err() != nil:
			return "cancelled"
		case o.MaxFailures > 0 && failed.Load() >= int64(o.MaxFailures):
			return "stopped after failures"
		}
		return ""
	}
	var down atomic.Pointer[string] // why the server's connection could not be opened
	var g errgroup.Group
	g.SetLimit(o.Concurrency)
	for i, it := range items {
		if reason := stopped(); reason != "" {
			for _, rest := range items[i:] {
				f.record(notRun(rest, reason))
			}
			break
		}
		if r, ok := f.settled(it); ok {
			f.record(r)
			continue
		}
		held := f.prelock(ctx, it)
		g.Go(func() error { // waits for a free slot
			r := f.runItem(ctx, it, held, stopped, &down)
			if r.Outcome == OutcomeFailed {
				failed.Add(1)
			}
			f.record(r)
			return nil
		})
	}
	_ = g.Wait() // every func returns nil
}

// runItem migrates one item unless the run stopped or its server is down.
func (f *fleetRun) runItem(ctx context.Context, it fleetItem, held func(), stopped func() string, down *atomic.Pointer[string]) TenantResult {
	if reason := stopped(); reason != "" {
		f.release(held)
		return notRun(it, reason)
	}
	if why := down.Load(); why != nil {
		f.release(held)
		return f.unreached(ctx, it, *why)
	}
	r := f.work(ctx, it, held)
	if r.Outcome == OutcomeFailed && f.conns.failed(it.server()) {
		down.CompareAndSwap(nil, &r.Error)
	}
	return r
}

// work migrates one tenant on a worker connection of the run's pool.
// held, if not nil, releases the tenant's lock, taken by prelock.
func (f *fleetRun) work(ctx context.Context, it fleetItem, held func()) TenantResult {
	server := it.server()
	mc, err := f.conns.get(ctx, server)
	if err != nil {
		f.release(held)
		return f.unreached(ctx, it, f.p.safeError(err))
	}
	defer f.conns.put(server, mc)
	return f.migrateOne(ctx, mc, it, held)
}

// prelock takes it's tenant lock without waiting, before the tenant waits
// for a free worker, so that the worker starts on it with the lock held:
// a central round trip less on the worker's path, and the lock is held
// no earlier than a worker would otherwise take it by more than the wait
// for that worker. It returns nil when the lock is busy (the worker then
// waits for it, as without prelock) or in a run that may not need it
// (--verify, a dry run).
func (f *fleetRun) prelock(ctx context.Context, it fleetItem) func() {
	if f.o.Verify || f.o.DryRun {
		return nil
	}
	release, ok, err := f.p.catalog.TryLock(ctx, tenantLockName(it))
	if err != nil || !ok {
		return nil
	}
	return release
}

// release lets the tenant lock go while the worker moves on (MigrateFleet
// waits for it): the tenant is done with.
func (f *fleetRun) release(held func()) {
	if held != nil {
		f.releases.Go(held)
	}
}

// tenantLockName is the catalog lock provisioning takes for it.
func tenantLockName(it fleetItem) string {
	if it.spare != nil {
		return "spare:" + it.name()
	}
	return "tenant:" + it.name()
}

// setPlan is one migration set of a fleet run and the version it goes to.
type setPlan struct {
	set    migrations.Set
	target int64
}

// fleetPlan checks o and lists the sets the run moves, with their targets.
func (p *Provisioner) fleetPlan(o FleetOptions) ([]setPlan, error) {
	if o.Set == "" && (o.Down || o.To != 0) {
		o.Set = migrations.CoreSetName
	}
	var plan []setPlan
	for _, set := range p.sets {
		if o.Set == "" || o.Set == set.Name {
			plan = append(plan, setPlan{set: set, target: set.Latest()})
		}
	}
	if len(plan) == 0 {
		names := make([]string, len(p.sets))
		for i, set := range p.sets {
			names[i] = set.Name
		}
		return nil, apperr.Validation(apperr.FieldError{Field: "set", Message: fmt.Sprintf("no migration set %q (there are: %s)", o.Set, strings.Join(names, ", "))})
	}
	if o.Down && (o.To < 1 || len(o.Tenants) == 0) {
		// Version 0 would drop every table of the set: never by default.
		return nil, apperr.Validation(apperr.FieldError{Field: "to", Message: "down needs --to VERSION (at least 1) and --tenant"})
	}
	if o.To != 0 {
		if o.To > plan[0].target {
			return nil, apperr.Validation(apperr.FieldError{Field: "to", Message: fmt.Sprintf("no migration has version %d (latest is %d)", o.To, plan[0].target)})
		}
		plan[0].target = o.To
	}
	return plan, nil
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
			skipped = append(skipped, TenantResult{Slug: t.Slug, Server: t.Server, From: t.SchemaVersion, To: t.SchemaVersion,
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

// tenantRun is one tenant's result in the making.
type tenantRun struct {
	start    time.Time
	r        TenantResult
	database string
	sets     []SetResult
}

func (f *fleetRun) begin(it fleetItem) *tenantRun {
	database, sets := startSets(it, f.plan, f.recorded)
	return &tenantRun{start: time.Now(), r: TenantResult{Slug: it.name(), Spare: it.spare != nil, Server: it.server()}, database: database, sets: sets}
}

// pending reports whether a set is not at its target.
func (t *tenantRun) pending(plan []setPlan) bool {
	for i, sp := range plan {
		if t.sets[i].From != sp.target {
			return true
		}
	}
	return false
}

func (t *tenantRun) done(outcome string) TenantResult {
	t.r.From, t.r.To = t.sets[0].From, t.sets[0].To
	if len(t.sets) > 1 {
		t.r.Sets = t.sets
	}
	t.r.Outcome, t.r.Duration = outcome, time.Since(t.start)
	return t.r
}

// settled is the result of a tenant the catalog alone decides, without a
// connection: up-to-date, or would-migrate in a dry run. ok is false when
// the tenant needs a worker (pending, or o.Verify).
func (f *fleetRun) settled(it fleetItem) (r TenantResult, ok bool) {
	if f.o.Verify {
		return r, false
	}
	t := f.begin(it)
	switch {
	case !t.pending(f.plan):
		return t.done(OutcomeUpToDate), true
	case f.o.DryRun:
		for i, sp := range f.plan {
			t.sets[i].To = sp.target
		}
		return t.done(OutcomeWould), true
	}
	return r, false
}

// migrateOne brings one tenant or spare to the plan's targets, set by set,
// on the worker's connection mc, under its tenant lock: held, if prelock
// took it, else taken here.
func (f *fleetRun) migrateOne(ctx context.Context, mc tenantdb.MigrationConn, it fleetItem, held func()) TenantResult {
	p, o := f.p, f.o
	t := f.begin(it)
	defer func() { f.release(held) }()
	if o.Verify {
		if err := f.verifySets(ctx, mc, it, t); err != nil {
			t.r.Error = p.safeError(err)
			return t.done(OutcomeFailed)
		}
	}
	if !t.pending(f.plan) {
		return t.done(OutcomeUpToDate)
	}
	if o.DryRun {
		for i, sp := range f.plan {
			t.sets[i].To = sp.target
		}
		return t.done(OutcomeWould)
	}
	if held == nil {
		release, ok, err := p.catalog.Lock(ctx, tenantLockName(it), fleetLockTimeout)
		if err != nil || !ok {
			t.r.Error = "the tenant is locked by a provisioning or another runner"
			if err != nil {
				t.r.Error = p.safeError(err)
			}
			return t.done(OutcomeFailed)
		}
		held = release
	}
	if t.r.Error = f.applySets(ctx, mc, it, t); t.r.Error != "" {
		return t.done(OutcomeFailed)
	}
	return t.done(OutcomeMigrated)
}

// startSets returns the item's database and, for each set of the plan, the
// version the catalog records for it, as both From and To until the run
// learns better.
func startSets(it fleetItem, plan []setPlan, recorded map[string]map[string]central.SetVersion) (string, []SetResult) {
	database, core := "", int64(0)
	if it.spare != nil {
		database, core = it.spare.DatabaseName, it.spare.SchemaVersion
	} else {
		database, core = it.tenant.DatabaseName, it.tenant.SchemaVersion
	}
	sets := make([]SetResult, len(plan))
	for i, sp := range plan {
		sets[i] = SetResult{Set: sp.set.Name, From: core}
		if sp.set.Name != migrations.CoreSetName {
			sets[i].From = recorded[database][sp.set.Name].Version
		}
		sets[i].To = sets[i].From
	}
	return database, sets
}

// verifySets replaces the catalog's versions in t with the ones the
// database itself reports.
func (f *fleetRun) verifySets(ctx context.Context, mc tenantdb.MigrationConn, it fleetItem, t *tenantRun) error {
	for i, sp := range f.plan {
		v, err := mc.Version(ctx, t.database, sp.set)
		if err != nil {
			return err
		}
		if v != t.sets[i].From && !f.o.DryRun && v == sp.target {
			// The catalog was wrong and the database is there: correct it.
			f.recordSet(ctx, it, t.database, sp.set.Name, v, nil)
		}
		t.sets[i].From, t.sets[i].To = v, v
	}
	return nil
}

// applySets migrates, in plan order, each set not yet at its target and
// records where it got. It returns the failure's text for the report, or
// "" when every set arrived.
func (f *fleetRun) applySets(ctx context.Context, mc tenantdb.MigrationConn, it fleetItem, t *tenantRun) string {
	p, sets := f.p, t.sets
	for i, sp := range f.plan {
		if sets[i].From == sp.target {
			continue
		}
		v, err := mc.MigrateTo(ctx, t.database, sp.set, !f.o.Down, sp.target)
		if v < 0 {
			v = sets[i].From // the database could not tell: keep what the catalog knew
		}
		sets[i].To = v
		f.recordSet(ctx, it, t.database, sp.set.Name, v, err)
		if err != nil {
			sets[i].Error = p.safeError(err)
			msg := sets[i].Error
			if len(f.plan) > 1 {
				msg = "migration set " + sp.set.Name + ": " + msg
			}
			p.log.ErrorContext(ctx, "tenant migration failed", "tenant", it.name(), "set", sp.set.Name, "version", v, "err", sets[i].Error)
			// Later sets may build on this one: they wait for a rerun.
			return msg
		}
	}
	return ""
}

// recordSet queues the version a set reached in a tenant's or spare's
// database, read now, for the catalog.
func (f *fleetRun) recordSet(ctx context.Context, it fleetItem, database, set string, v int64, runErr error) {
	rec := central.MigrationRecord{Database: database, Version: max(v, 0), At: f.p.now()}
	if runErr != nil {
		rec.Error = f.p.safeError(runErr)
	}
	if set != migrations.CoreSetName {
		rec.Set = set
	}
	if it.tenant != nil {
		rec.TenantID = it.tenant.ID
	}
	f.rec.add(ctx, it.name(), rec)
}

// unreached fails a tenant whose server could not be reached: the
// catalog keeps the version it knew, with the reason as the tenant's
// migration error, so that the fleet status shows it.
func (f *fleetRun) unreached(ctx context.Context, it fleetItem, reason string) TenantResult {
	r := TenantResult{Slug: it.name(), Spare: it.spare != nil, Server: it.server(), Outcome: OutcomeFailed, Error: reason}
	if it.tenant != nil {
		r.From, r.To = it.tenant.SchemaVersion, it.tenant.SchemaVersion
		f.rec.add(ctx, it.name(), central.MigrationRecord{TenantID: it.tenant.ID, Database: it.tenant.DatabaseName,
			Version: it.tenant.SchemaVersion, Error: reason, At: f.p.now()})
	}
	return r
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

// FleetStatus is the fleet's schema state as the catalog records it. The
// top-level figures are Silo's own migration set's; Sets and SetTotals
// report every set, Silo's own ("silo") first.
type FleetStatus struct {
	LatestVersion int64                  `json:"latestVersion"`
	Tenants       []TenantSchemaState    `json:"tenants"`
	Totals        FleetTotals            `json:"totals"`
	Sets          []SetInfo              `json:"sets"`
	SetTotals     map[string]FleetTotals `json:"setTotals"`
	// ServerTotals are Silo's own set's totals by database server.
	ServerTotals map[string]FleetTotals `json:"serverTotals"`
}

// SetInfo names a migration set and its newest version.
type SetInfo struct {
	Name          string `json:"name"`
	LatestVersion int64  `json:"latestVersion"`
}

// TenantSchemaState is one tenant's schema state.
type TenantSchemaState struct {
	Slug          string `json:"slug"`
	Status        string `json:"status"`
	Server        string `json:"server"`
	SchemaVersion int64  `json:"schemaVersion"`
	LatestVersion int64  `json:"latestVersion"`
	Pending       int    `json:"pending"`
	LastError     string `json:"lastError,omitempty"`
	// Sets is every migration set's state, Silo's own first.
	Sets []SetState `json:"sets"`
}

// SetState is one migration set's state in one tenant database.
type SetState struct {
	Set           string `json:"set"`
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

func (t *FleetTotals) add(s SetState) {
	t.Tenants++
	switch {
	case s.LastError != "":
		t.Failed++
		t.Behind++
	case s.Pending == 0:
		t.UpToDate++
	default:
		t.Behind++
	}
}

// FleetStatus reads every tenant's recorded schema versions.
func (p *Provisioner) FleetStatus(ctx context.Context) (*FleetStatus, error) {
	ts, err := p.catalog.TenantsByStatus(ctx, central.StatusActive, central.StatusSuspended,
		central.StatusProvisioning, central.StatusFailed)
	if err != nil {
		return nil, err
	}
	recorded := map[string]map[string]central.SetVersion{}
	if len(p.sets) > 1 {
		if recorded, err = p.catalog.SetVersions(ctx); err != nil {
			return nil, err
		}
	}
	versions := make([][]int64, len(p.sets))
	st := &FleetStatus{LatestVersion: p.latest, Tenants: make([]TenantSchemaState, 0, len(ts)), SetTotals: map[string]FleetTotals{}, ServerTotals: map[string]FleetTotals{}}
	for i, set := range p.sets {
		versions[i] = migrations.Versions(set.FS)
		st.Sets = append(st.Sets, SetInfo{Name: set.Name, LatestVersion: set.Latest()})
	}
	for _, t := range ts {
		row := TenantSchemaState{Slug: t.Slug, Status: t.Status, Server: t.Server}
		for i, set := range p.sets {
			s := SetState{Set: set.Name, SchemaVersion: t.SchemaVersion, LatestVersion: st.Sets[i].LatestVersion, LastError: t.MigrationErr.String}
			if i > 0 {
				rec := recorded[t.DatabaseName][set.Name]
				s.SchemaVersion, s.LastError = rec.Version, rec.Error
			}
			for _, v := range versions[i] {
				if v > s.SchemaVersion {
					s.Pending++
				}
			}
			row.Sets = append(row.Sets, s)
			totals := st.SetTotals[set.Name]
			totals.add(s)
			st.SetTotals[set.Name] = totals
		}
		core := row.Sets[0]
		row.SchemaVersion, row.LatestVersion, row.Pending, row.LastError = core.SchemaVersion, core.LatestVersion, core.Pending, core.LastError
		st.Tenants = append(st.Tenants, row)
		st.Totals.add(core)
		byServer := st.ServerTotals[t.Server]
		byServer.add(core)
		st.ServerTotals[t.Server] = byServer
	}
	return st, nil
}
