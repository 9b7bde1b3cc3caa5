package cli

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/silo-dev/silo/central"
)

func migrateCmd(s *session) *cobra.Command {
	return group("migrate", "migrate the central database, or every tenant database",
		`Migrate the central database (silo migrate central) or the whole tenant fleet:
every tenant database and spare, concurrently and resumably (silo migrate tenants).`,
		migrateCentralCmd(s), migrateTenantsCmd(s))
}

func migrateCentralCmd(s *session) *cobra.Command {
	action := func(use, short string) *cobra.Command {
		return &cobra.Command{
			Use: use, Short: short, Args: positional(0, 0, ""),
			RunE: func(cmd *cobra.Command, _ []string) error {
				return s.migrateCentral(cmd.Context(), cmd.Name())
			},
		}
	}
	return group("central", "migrate the central database",
		`Migrate the central database by hand ("silo serve" migrates it at start). Only "up"
creates it when it is missing; "status" changes nothing.`,
		action("up", "create the central database if missing and apply every pending migration"),
		action("down", "roll back the latest central migration (the database must exist)"),
		action("status", "list every central migration as applied or pending (changes nothing)"))
}

// migrateCentral runs "silo migrate central up|down|status".
func (s *session) migrateCentral(ctx context.Context, action string) error {
	cfg, err := s.config(false)
	if err != nil {
		return err
	}
	m := central.NewMigrator(cfg.CentralDSN)
	where := "central database " + describeDSN(cfg)
	stdout := s.stdout
	switch action {
	case "up":
		res, err := m.Up(ctx)
		if err != nil {
			return fmt.Errorf("could not migrate the %s up: %w", where, err)
		}
		if len(res) == 0 {
			fmt.Fprintf(stdout, "%s is already at the latest version\n", where)
		}
		for _, r := range res {
			fmt.Fprintf(stdout, "%s: applied %s (%s)\n", where, r.Source.Path, r.Duration.Round(1e6))
		}
	case "down":
		r, err := m.Down(ctx)
		if err != nil {
			return fmt.Errorf("could not roll back the %s: %w", where, err)
		}
		fmt.Fprintf(stdout, "%s: rolled back %s\n", where, r.Source.Path)
	default:
		st, err := m.Status(ctx)
		if err != nil {
			return fmt.Errorf("could not read the migrations of the %s: %w", where, err)
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
	}
	return nil
}
