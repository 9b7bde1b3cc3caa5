package cli

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/internal/assembly/app"
)

const migrateUsage = "usage: silo migrate central|tenants up|down|status [flags]"

// migrate runs "silo migrate central|tenants up|down|status".
func migrate(ctx context.Context, ext app.Extensions, args []string, getenv func(string) string, con console, stdout, stderr io.Writer) error {
	if len(args) < 2 || (args[0] != "central" && args[0] != "tenants") {
		return usageError(migrateUsage)
	}
	if args[0] == "tenants" {
		switch args[1] {
		case "up", "down", "status":
			return migrateTenants(ctx, ext, args[1], args[2:], getenv, con, stdout, stderr)
		}
		return usageError(migrateTenantsUsage)
	}
	action := args[1]
	cfg, _, err := loadConfig("migrate central "+action, args[2:], getenv, stderr, false, nil)
	if err != nil {
		return err
	}
	m := central.NewMigrator(cfg.CentralDSN)
	where := describeDSN(cfg)
	switch action {
	case "up":
		res, err := m.Up(ctx)
		if err != nil {
			return fmt.Errorf("migrate %s up: %w", where, err)
		}
		if len(res) == 0 {
			fmt.Fprintf(stdout, "%s: already at the latest version\n", where)
		}
		for _, r := range res {
			fmt.Fprintf(stdout, "%s: applied %s (%s)\n", where, r.Source.Path, r.Duration.Round(1e6))
		}
	case "down":
		r, err := m.Down(ctx)
		if err != nil {
			return fmt.Errorf("migrate %s down: %w", where, err)
		}
		fmt.Fprintf(stdout, "%s: rolled back %s\n", where, r.Source.Path)
	case "status":
		st, err := m.Status(ctx)
		if err != nil {
			return fmt.Errorf("migrate %s status: %w", where, err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "VERSION\tSTATE\tAPPLIED AT\tMIGRATION")
		for _, s := range st {
			at := "-"
			if !s.AppliedAt.IsZero() {
				at = s.AppliedAt.UTC().Format("2006-01-02 15:04:05Z")
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", s.Source.Version, s.State, at, s.Source.Path)
		}
		return tw.Flush()
	default:
		return usageError(migrateUsage)
	}
	return nil
}
