package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/silo-dev/silo/provisioning"
)

// errFleetIncomplete makes the exit status non-zero when a tenant did not
// reach the target.
var errFleetIncomplete = errors.New("some tenants did not reach the target (see the summary)")

// fleetFields name the fleet options as "migrate tenants" takes them.
var fleetFields = fieldNames{"to": "--to", "set": "--set"}

func migrateTenantsCmd(s *session) *cobra.Command {
	status := &cobra.Command{
		Use:   "status",
		Short: "show each tenant's schema version, the latest, what is pending and the last error",
		Args:  positional(0, 0, ""),
	}
	var asJSON bool
	status.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	status.RunE = func(cmd *cobra.Command, _ []string) error {
		return s.fleetStatus(cmd.Context(), asJSON)
	}
	return group("tenants", "migrate every tenant database (and spare), or show where each stands",
		`Migrate every tenant database and spare (or those of --tenant), concurrently and
resumably: a failing tenant is recorded and the others go on; a rerun continues
where each stopped. The exit status is 0 only if every selected tenant reached the
target. See docs/migrations.md.`,
		migrateFleetCmd(s, "up"), migrateFleetCmd(s, "down"), status)
}

// fleetRun is what "migrate tenants up|down" is asked to do.
type fleetRun struct {
	o           provisioning.FleetOptions
	tenants     []string
	asJSON, yes bool
	metricsFile string
}

func migrateFleetCmd(s *session, action string) *cobra.Command {
	var r fleetRun
	c := &cobra.Command{
		Use:   action,
		Short: "migrate every tenant database and spare to the latest version (or --to)",
		Args:  positional(0, 0, "select tenants with --tenant a,b"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			r.o.Tenants, r.o.Down = r.tenants, action == "down"
			return s.migrateFleet(cmd.Context(), r)
		},
	}
	if action == "down" {
		c.Use = "down --tenant SLUG[,SLUG...] --to VERSION"
		c.Short = "roll back the tenants of --tenant to the version --to (asks first)"
		c.Long = `Roll back the migrations of the tenants named by --tenant to version --to (at
least 1), Silo's own set unless --set names another. What the rolled-back migrations
created is dropped with its data, so on a terminal it asks you to type yes, and
without one it refuses unless --yes.`
		c.Example = "  silo migrate tenants down --tenant acme --to 1"
	}
	f := c.Flags()
	f.IntVar(&r.o.Concurrency, "concurrency", 4, "`N` tenants migrated at once per database server")
	f.StringSliceVar(&r.tenants, "tenant", nil, "only these tenants (`SLUG[,SLUG...]`)")
	f.Int64Var(&r.o.To, "to", 0, "the target `VERSION` (down needs it)")
	f.StringVar(&r.o.Set, "set", "", "only this migration set (`NAME`: an application's; \"silo\" is Silo's own, which down and --to use by default)")
	f.BoolVar(&r.o.DryRun, "dry-run", false, "show what would run; change nothing")
	f.IntVar(&r.o.MaxFailures, "max-failures", 0, "stop starting tenants after `N` failures (0: never stop)")
	f.IntVar(&r.o.Canary, "canary", 0, "migrate `K` tenants first; go on only if they all succeed")
	f.BoolVar(&r.o.Verify, "verify", false, "read each database's version instead of trusting the catalog")
	f.BoolVar(&r.asJSON, "json", false, "print JSON")
	f.StringVar(&r.metricsFile, "metrics-file", "", "write the run's Prometheus metrics to `FILE` (textfile format)")
	f.BoolVar(&r.yes, "yes", false, "roll back without asking")
	if action == "up" {
		_ = f.MarkHidden("yes") // up never asks; still accepted, as it always was
	}
	return c
}

// migrateFleet runs "silo migrate tenants up|down".
func (s *session) migrateFleet(ctx context.Context, r fleetRun) error {
	o := r.o
	if o.Down && (o.To < 1 || len(o.Tenants) == 0) {
		// Rolling back everyone, or to version 0 (every table of the set dropped), is never a default.
		return usageError("migrate tenants down needs --to VERSION (at least 1) and --tenant SLUG[,SLUG...]: it never rolls back every tenant, nor to version 0")
	}
	cfg, err := s.config(true)
	if err != nil {
		return err
	}
	if o.Down && !o.DryRun {
		if err := s.con.confirm(s.stderr, r.yes, describeDown(o), "yes"); err != nil {
			return err
		}
	}
	a, err := s.openApp(ctx, cfg, o.DryRun)
	if err != nil {
		return err
	}
	defer a.Close()
	return migrateWithProgress(s.asOperator(ctx), a.Provisioner, o, r.asJSON, r.metricsFile, s.stdout, s.stderr)
}

// fleetStatus runs "silo migrate tenants status".
func (s *session) fleetStatus(ctx context.Context, asJSON bool) error {
	cfg, err := s.config(true)
	if err != nil {
		return err
	}
	a, err := s.openApp(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer a.Close()
	st, err := a.Provisioner.FleetStatus(ctx)
	if err != nil {
		return describeError(err, nil)
	}
	return printFleetStatus(s.stdout, st, asJSON)
}

// migrateWithProgress runs "migrate tenants up|down" with progress, metrics and a summary.
func migrateWithProgress(ctx context.Context, p *provisioning.Provisioner, o provisioning.FleetOptions, asJSON bool, metricsFile string, stdout, stderr io.Writer) error {
	progress := progressPrinter(stdout, stderr, asJSON)
	o.OnStart = progress.start
	reg := prometheus.NewRegistry()
	servers, err := p.ServerNames(ctx)
	if err != nil {
		return describeError(err, nil)
	}
	metrics := provisioning.NewFleetMetrics(reg, servers...)
	report, err := p.MigrateFleet(ctx, o, func(r provisioning.TenantResult) {
		metrics.Observe(r)
		progress.update(r)
	})
	progress.finish()
	if err != nil {
		return describeError(err, fleetFields)
	}
	if metricsFile != "" {
		metrics.Finish(report)
		// Written atomically (a temporary file renamed into place), so a
		// textfile collector never reads half a file.
		if err := prometheus.WriteToTextfile(metricsFile, reg); err != nil {
			return fmt.Errorf("could not write the metrics file: %w", err)
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
// set, when there are several), the totals, and the errors as notes.
func printFleetStatus(stdout io.Writer, st *provisioning.FleetStatus, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(stdout).Encode(st)
	}
	v := func(n int64) string { return strconv.FormatInt(n, 10) }
	var t *table
	var totals []string
	if len(st.Sets) == 1 {
		t = newTable(stdout, "TENANT", "STATUS", "VERSION", "LATEST", "PENDING", "LAST ERROR")
		for _, x := range st.Tenants {
			t.row(x.Slug, x.Status, v(x.SchemaVersion), v(x.LatestVersion), v(int64(x.Pending)), t.note(x.Slug, x.LastError))
		}
		totals = append(totals, fmt.Sprintf("%s, %d up to date, %d behind, latest version %d", count(st.Totals.Tenants, "tenant"), st.Totals.UpToDate, st.Totals.Behind, st.LatestVersion))
	} else {
		t = newTable(stdout, "TENANT", "SET", "STATUS", "VERSION", "LATEST", "PENDING", "LAST ERROR")
		for _, x := range st.Tenants {
			for _, s := range x.Sets {
				t.row(x.Slug, s.Set, x.Status, v(s.SchemaVersion), v(s.LatestVersion), v(int64(s.Pending)), t.note(x.Slug+" (set "+s.Set+")", s.LastError))
			}
		}
		for _, set := range st.Sets {
			tot := st.SetTotals[set.Name]
			totals = append(totals, fmt.Sprintf("set %s: %s, %d up to date, %d behind, latest version %d", set.Name, count(tot.Tenants, "tenant"), tot.UpToDate, tot.Behind, set.LatestVersion))
		}
	}
	return t.flush(append(totals, serverTotals(st)...)...)
}

// serverTotals has a line per database server when there are several.
func serverTotals(st *provisioning.FleetStatus) []string {
	if len(st.ServerTotals) < 2 {
		return nil
	}
	var lines []string
	for _, name := range slices.Sorted(maps.Keys(st.ServerTotals)) {
		tot := st.ServerTotals[name]
		lines = append(lines, fmt.Sprintf("server %s: %s, %d up to date, %d behind, %d failed", name, count(tot.Tenants, "tenant"), tot.UpToDate, tot.Behind, tot.Failed))
	}
	return lines
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
		fmt.Fprintln(f.lines, progressLine(r))
	}
}

// progressLine says what happened to one tenant (or spare) of a run.
func progressLine(r provisioning.TenantResult) string {
	line := r.Slug + ": "
	switch {
	case r.Outcome == provisioning.OutcomeMigrated:
		line += fmt.Sprintf("migrated from version %d to %d", r.From, r.To)
	case r.Outcome == provisioning.OutcomeWould:
		line += fmt.Sprintf("would migrate from version %d to %d", r.From, r.To)
	case r.Outcome == provisioning.OutcomeFailed && r.Reason != "":
		line += "failed: " + r.Reason // no such tenant: nothing was tried
	case r.Outcome == provisioning.OutcomeFailed && r.From != r.To:
		line += fmt.Sprintf("failed at version %d (it was at %d)", r.To, r.From)
	case r.Outcome == provisioning.OutcomeFailed:
		line += fmt.Sprintf("failed at version %d", r.To)
	default: // skipped, not run
		line += strings.ReplaceAll(r.Outcome, "-", " ")
		if r.Reason != "" {
			line += ": " + r.Reason
		}
	}
	if r.Error != "" && r.Error != r.Reason {
		line += ": " + r.Error
	}
	return line
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
