package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/internal/assembly/app"
	"github.com/silo-dev/silo/provisioning"
)

const migrateTenantsUsage = `usage: silo migrate tenants up|down|status [flags]
  --concurrency N   tenants migrated at once (default 4)
  --tenant a,b      only these tenants
  --to VERSION      target version (down needs it, with --tenant)
  --set NAME        only this migration set (an application's; "silo" is Silo's own,
                    which down and --to use by default)
  --dry-run         show what would run, change nothing
  --max-failures F  stop starting tenants after F failures (default: never stop)
  --canary K        migrate K tenants first, go on only if all succeed
  --verify          read each database's version instead of trusting the catalog
  --json            print JSON
  --yes             down: do not ask (down asks you to type yes on a terminal,
                    and refuses without --yes when there is none)
  --metrics-file F  write the run's Prometheus metrics to F (textfile format)`

// errFleetIncomplete makes the exit status non-zero when a tenant did not
// reach the target.
var errFleetIncomplete = errors.New("some tenants did not reach the target (see the summary)")

// migrateTenants runs "silo migrate tenants up|down|status".
func migrateTenants(ctx context.Context, ext app.Extensions, action string, args []string, getenv func(string) string, con console, stdout, stderr io.Writer) error {
	var o provisioning.FleetOptions
	var tenants string
	var asJSON, yes bool
	var metricsFile string
	cfg, rest, err := loadConfig("migrate tenants "+action, args, getenv, stderr, true, func(fs *flag.FlagSet) {
		fs.IntVar(&o.Concurrency, "concurrency", 4, "tenants migrated at once")
		fs.StringVar(&tenants, "tenant", "", "comma-separated slugs")
		fs.Int64Var(&o.To, "to", 0, "target version")
		fs.StringVar(&o.Set, "set", "", "only this migration set")
		fs.BoolVar(&o.DryRun, "dry-run", false, "change nothing")
		fs.IntVar(&o.MaxFailures, "max-failures", 0, "stop after this many failures")
		fs.IntVar(&o.Canary, "canary", 0, "canary tenants")
		fs.BoolVar(&o.Verify, "verify", false, "verify versions in the databases")
		fs.BoolVar(&asJSON, "json", false, "print JSON")
		fs.StringVar(&metricsFile, "metrics-file", "", "write Prometheus metrics to this file")
		fs.BoolVar(&yes, "yes", false, "roll back (down) without asking")
	})
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError("unexpected argument " + rest[0] + " (use --tenant a,b)\n" + migrateTenantsUsage)
	}
	if tenants != "" {
		o.Tenants = strings.Split(tenants, ",")
	}
	if action == "down" && !o.DryRun {
		if err := con.confirm(stderr, yes, describeDown(o), "yes"); err != nil {
			return err
		}
	}
	log := newLogger(cfg, stderr)
	open := app.Open
	if action == "status" || o.DryRun {
		open = app.OpenExisting // read-only: never create or migrate the central database
	}
	a, err := open(ctx, cfg, log, ext)
	if err != nil {
		return err
	}
	defer a.Close()
	ctx = central.WithActor(ctx, central.Actor{Kind: "cli", ID: getenv("USER")})
	p := a.Provisioner

	switch action {
	case "status":
		st, err := p.FleetStatus(ctx)
		if err != nil {
			return describeError(err)
		}
		return printFleetStatus(stdout, st, asJSON)
	case "up", "down":
		o.Down = action == "down"
		return migrateFleet(ctx, p, o, asJSON, metricsFile, stdout, stderr)
	}
	return usageError(migrateTenantsUsage)
}

// migrateFleet runs "migrate tenants up|down" with progress, metrics and a summary.
func migrateFleet(ctx context.Context, p *provisioning.Provisioner, o provisioning.FleetOptions, asJSON bool, metricsFile string, stdout, stderr io.Writer) error {
	progress := progressPrinter(stdout, stderr, asJSON)
	o.OnStart = progress.start
	reg := prometheus.NewRegistry()
	servers, err := p.ServerNames(ctx)
	if err != nil {
		return describeError(err)
	}
	metrics := provisioning.NewFleetMetrics(reg, servers...)
	report, err := p.MigrateFleet(ctx, o, func(r provisioning.TenantResult) {
		metrics.Observe(r)
		progress.update(r)
	})
	progress.finish()
	if err != nil {
		return describeError(err)
	}
	if metricsFile != "" {
		metrics.Finish(report)
		// Written atomically (a temporary file renamed into place), so a
		// textfile collector never reads half a file.
		if err := prometheus.WriteToTextfile(metricsFile, reg); err != nil {
			return fmt.Errorf("write metrics: %w", err)
		}
	}
	if asJSON {
		if err := json.NewEncoder(stdout).Encode(report); err != nil {
			return err
		}
	} else {
		printFleetSummary(stdout, report)
	}
	if !report.OK() {
		return errFleetIncomplete
	}
	return nil
}

// printFleetStatus prints "migrate tenants status": a row per tenant (and
// set, when there are several) and the totals.
func printFleetStatus(stdout io.Writer, st *provisioning.FleetStatus, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(stdout).Encode(st)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	if len(st.Sets) == 1 {
		fmt.Fprintln(tw, "TENANT\tSTATUS\tVERSION\tLATEST\tPENDING\tLAST ERROR")
		for _, t := range st.Tenants {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\n", t.Slug, t.Status, t.SchemaVersion, t.LatestVersion, t.Pending, t.LastError)
		}
		tw.Flush()
		fmt.Fprintf(stdout, "%d tenants, %d up to date, %d behind, latest version %d\n", st.Totals.Tenants, st.Totals.UpToDate, st.Totals.Behind, st.LatestVersion)
		printServerTotals(stdout, st)
		return nil
	}
	fmt.Fprintln(tw, "TENANT\tSET\tSTATUS\tVERSION\tLATEST\tPENDING\tLAST ERROR")
	for _, t := range st.Tenants {
		for _, s := range t.Sets {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\n", t.Slug, s.Set, t.Status, s.SchemaVersion, s.LatestVersion, s.Pending, s.LastError)
		}
	}
	tw.Flush()
	for _, set := range st.Sets {
		tot := st.SetTotals[set.Name]
		fmt.Fprintf(stdout, "set %s: %d tenants, %d up to date, %d behind, latest version %d\n", set.Name, tot.Tenants, tot.UpToDate, tot.Behind, set.LatestVersion)
	}
	printServerTotals(stdout, st)
	return nil
}

// printServerTotals adds a line per database server when there are several.
func printServerTotals(stdout io.Writer, st *provisioning.FleetStatus) {
	if len(st.ServerTotals) < 2 {
		return
	}
	for _, name := range slices.Sorted(maps.Keys(st.ServerTotals)) {
		tot := st.ServerTotals[name]
		fmt.Fprintf(stdout, "server %s: %d tenants, %d up to date, %d behind, %d failed\n", name, tot.Tenants, tot.UpToDate, tot.Behind, tot.Failed)
	}
}

// describeDown says what "migrate tenants down" is about to do.
func describeDown(o provisioning.FleetOptions) string {
	who := "every tenant"
	if len(o.Tenants) > 0 {
		who = "tenants " + strings.Join(o.Tenants, ", ")
	}
	set := o.Set
	if set == "" {
		set = "silo"
	}
	return fmt.Sprintf("This rolls back the %s migrations of %s to version %d; what the rolled-back migrations created is dropped with its data.", set, who, o.To)
}

// fleetProgress shows a progress bar with counts and an ETA on a terminal,
// a log line per tenant otherwise (and nothing with --json).
type fleetProgress struct {
	mu    sync.Mutex // workers report concurrently
	term  io.Writer  // set when the bar goes to a terminal
	bar   *progressbar.ProgressBar
	lines io.Writer
}

func progressPrinter(stdout, stderr io.Writer, asJSON bool) *fleetProgress {
	if asJSON {
		return &fleetProgress{}
	}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return &fleetProgress{term: stderr}
	}
	return &fleetProgress{lines: stdout}
}

// start sizes the bar once the run knows how many tenants it covers.
func (f *fleetProgress) start(total int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.term != nil {
		f.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(f.term),
			progressbar.OptionShowCount(), progressbar.OptionSetDescription("migrating tenants"),
			progressbar.OptionSetPredictTime(true), progressbar.OptionShowElapsedTimeOnFinish())
	}
}

func (f *fleetProgress) update(r provisioning.TenantResult) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.bar != nil:
		_ = f.bar.Add(1)
	case f.lines != nil && r.Outcome != provisioning.OutcomeUpToDate:
		line := fmt.Sprintf("%s: %s %d -> %d", r.Slug, r.Outcome, r.From, r.To)
		if r.Reason != "" {
			line += " (" + r.Reason + ")"
		}
		if r.Error != "" {
			line += ": " + r.Error
		}
		fmt.Fprintln(f.lines, line)
	}
}

func (f *fleetProgress) finish() {
	if f.bar != nil {
		_ = f.bar.Finish()
	}
}

func printFleetSummary(w io.Writer, r *provisioning.FleetReport) {
	keys := make([]string, 0, len(r.Counts))
	for k := range r.Counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", r.Counts[k], k))
	}
	fmt.Fprintf(w, "target version %d: %s in %s\n", r.Target, strings.Join(parts, ", "), r.Duration.Round(1e6))
	for _, res := range r.Results {
		if res.Outcome == provisioning.OutcomeFailed {
			fmt.Fprintf(w, "FAILED %s at version %d: %s\n", res.Slug, res.To, res.Error)
		}
	}
}
