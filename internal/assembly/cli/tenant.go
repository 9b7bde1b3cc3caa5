package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/provisioning"
	"github.com/silo-dev/silo/router"
)

func tenantCmd(s *session) *cobra.Command {
	return group("tenant", "manage tenants: lifecycle, names, domains, invitations, repair",
		`Manage tenants. Each tenant has its own database and DB user on one of the
registered database servers; "create" provisions them, "delete --purge" drops them.
Every command takes --json; each change is recorded in the central audit log with
the operator ($USER) as its actor.`,
		s.tenantCreateCmd(), s.tenantListCmd(), s.tenantGetCmd("get"), s.tenantGetCmd("suspend"), s.tenantGetCmd("resume"),
		s.tenantDeleteCmd(), s.tenantRepairCmd(), s.tenantInviteCmd(), s.tenantRenameCmd(), s.tenantDomainsCmd())
}

// tenantAction is what a tenant command does once its arguments are
// checked: confirm (optional) runs before the central database is opened,
// run with the Provisioner. readOnly commands open the central database
// without creating or migrating it.
type tenantAction struct {
	readOnly bool
	confirm  func(args []string) error
	run      func(ctx context.Context, p *provisioning.Provisioner, args []string, out output) error
}

// tenantRunE runs act for a tenant command, printing JSON when *asJSON.
func (s *session) tenantRunE(asJSON *bool, act func() tenantAction) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		a := act()
		cfg, err := s.config(true)
		if err != nil {
			return err
		}
		if a.confirm != nil {
			if err := a.confirm(args); err != nil {
				return err
			}
		}
		silo, err := s.openApp(cmd.Context(), cfg, a.readOnly)
		if err != nil {
			return err
		}
		defer silo.Close()
		return a.run(s.asOperator(cmd.Context()), silo.Provisioner, args, output{w: s.stdout, json: *asJSON})
	}
}

// tenantFields name the tenant services' fields as the tenant commands take them.
var tenantFields = fieldNames{
	"slug": "--slug", "name": "--name", "domains": "--domain", "server": "--server", "labels": "--label", "status": "--status", "q": "--q",
	"admin.email": "--admin-email", "admin.password": "ADMIN_PASSWORD", "admin.firstName": "--admin-first-name", "admin.lastName": "--admin-last-name",
}

func (s *session) tenantCreateCmd() *cobra.Command {
	var in provisioning.NewTenant
	var admin provisioning.NewAdmin
	var labels []string
	var asJSON bool
	c := &cobra.Command{
		Use:   "create --slug SLUG --name NAME",
		Short: "create a tenant: its database, DB user and, optionally, first admin",
		Long: `Create a tenant: its database and DB user, on the database server named by --server,
or on an active one carrying every --label, or else on the one with the most room.
With --admin-email (and the names), the tenant gets a first tenant_admin whose
password is read from $ADMIN_PASSWORD.`,
		Example: "  ADMIN_PASSWORD=... silo tenant create --slug acme --name \"Acme Inc\" --domain acme.io \\\n    --admin-email boss@acme.io --admin-first-name Ada --admin-last-name Lovelace",
		Args:    positional(0, 0, ""),
	}
	c.RunE = s.tenantRunE(&asJSON, func() tenantAction {
		return tenantAction{run: func(ctx context.Context, p *provisioning.Provisioner, _ []string, out output) error {
			var err error
			if in.Labels, err = parseLabels(labels); err != nil {
				return err
			}
			if admin.Email != "" {
				admin.Password = s.getenv("ADMIN_PASSWORD")
				in.Admin = &admin
			}
			t, err := p.Create(ctx, in)
			if err != nil {
				return describeError(err, tenantFields)
			}
			return out.tenant(t)
		}}
	})
	f := c.Flags()
	f.StringVar(&in.Slug, "slug", "", "the tenant's `SLUG`: 3-40 lower-case letters, digits and -; it never changes")
	f.StringVar(&in.Name, "name", "", "the tenant's display `NAME`")
	f.StringArrayVar(&in.Domains, "domain", nil, "a custom `DOMAIN` of the tenant (repeatable)")
	f.StringVar(&admin.Email, "admin-email", "", "the first tenant_admin's `EMAIL` (the password comes from $ADMIN_PASSWORD)")
	f.StringVar(&admin.FirstName, "admin-first-name", "", "the first tenant_admin's first `NAME`")
	f.StringVar(&admin.LastName, "admin-last-name", "", "the first tenant_admin's last `NAME`")
	f.StringVar(&in.Server, "server", "", "the database server (`NAME`) to place the tenant on (default: the active server with the most room)")
	f.StringArrayVar(&labels, "label", nil, "a label (`KEY=VALUE`) the server must carry to take the tenant (repeatable)")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func (s *session) tenantListCmd() *cobra.Command {
	var filter central.TenantFilter
	var asJSON bool
	c := &cobra.Command{
		Use:   "list",
		Short: "list tenants, with their status, database server and schema version",
		Args:  positional(0, 0, ""),
	}
	c.RunE = s.tenantRunE(&asJSON, func() tenantAction {
		return tenantAction{readOnly: true, run: func(ctx context.Context, p *provisioning.Provisioner, _ []string, out output) error {
			return listTenants(ctx, p, filter, out)
		}}
	})
	c.Flags().StringVar(&filter.Status, "status", "", "only tenants with this `STATUS`: provisioning, active, suspended, failed or deleted")
	c.Flags().StringVarP(&filter.Query, "q", "q", "", "only tenants whose slug or name contains this `TEXT`")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON (an array)")
	return c
}

// tenantGetCmd is "tenant get|suspend|resume SLUG".
func (s *session) tenantGetCmd(action string) *cobra.Command {
	short := map[string]string{
		"get":     "show one tenant",
		"suspend": "suspend a tenant: its requests are refused until it is resumed",
		"resume":  "resume a suspended tenant",
	}[action]
	var asJSON bool
	c := &cobra.Command{Use: action + " SLUG", Short: short, Args: positional(1, 1, "")}
	c.RunE = s.tenantRunE(&asJSON, func() tenantAction {
		return tenantAction{readOnly: action == "get", run: func(ctx context.Context, p *provisioning.Provisioner, args []string, out output) error {
			do := map[string]func(context.Context, string) (*central.Tenant, error){"get": p.Get, "suspend": p.Suspend, "resume": p.Resume}[action]
			t, err := do(ctx, args[0])
			if err != nil {
				return describeError(err, tenantFields)
			}
			return out.tenant(t)
		}}
	})
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func (s *session) tenantDeleteCmd() *cobra.Command {
	var purge, yes, asJSON bool
	c := &cobra.Command{
		Use:   "delete SLUG",
		Short: "delete a tenant (database kept, DB user locked), or purge it (--purge: both dropped)",
		Long: `Mark a tenant deleted: its database is kept and its DB user locked. With --purge,
drop its database and DB user for good (a deleted tenant can be purged later); that
asks you to type the slug on a terminal and, without one, refuses unless --yes.`,
		Args: positional(1, 1, ""),
	}
	c.RunE = s.tenantRunE(&asJSON, func() tenantAction {
		return tenantAction{
			confirm: func(args []string) error {
				if !purge {
					return nil
				}
				return s.con.confirm(s.stderr, yes, fmt.Sprintf("This drops tenant %s's database and DB user for good.", args[0]), args[0])
			},
			run: func(ctx context.Context, p *provisioning.Provisioner, args []string, out output) error {
				if err := p.Delete(ctx, args[0], purge); err != nil {
					return describeError(err, tenantFields)
				}
				what := "deleted (database kept, DB user locked)"
				if purge {
					what = "purged (database and DB user dropped)"
				}
				return out.message(map[string]string{"slug": args[0], "result": what}, "tenant "+args[0]+" "+what)
			},
		}
	})
	c.Flags().BoolVar(&purge, "purge", false, "drop the tenant's database and DB user")
	c.Flags().BoolVar(&yes, "yes", false, "purge without asking")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func (s *session) tenantRepairCmd() *cobra.Command {
	var check, asJSON bool
	c := &cobra.Command{
		Use:   "repair",
		Short: "resume stuck provisionings and redo broken DB accounts (--check: only report)",
		Long: `Resume the tenants left provisioning or failed, then redo the DB account (user,
password, grants) of every tenant and spare whose account is missing, refused or
wrongly granted. With --check, change nothing: report orphans, missing databases and
DB users, wrong grants and refused logins, and exit 1 on any finding.`,
		Args: positional(0, 0, ""),
	}
	c.RunE = s.tenantRunE(&asJSON, func() tenantAction {
		return tenantAction{readOnly: check, run: func(ctx context.Context, p *provisioning.Provisioner, _ []string, out output) error {
			if check {
				return out.report(p.Check(ctx))
			}
			return repair(ctx, p, out)
		}}
	})
	c.Flags().BoolVar(&check, "check", false, "only compare the servers with the catalog: orphans, missing databases and DB users, wrong grants, refused logins")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

// listTenants prints every tenant matching f, reading the catalog page by
// page so that no single query is unbounded.
func listTenants(ctx context.Context, p *provisioning.Provisioner, f central.TenantFilter, out output) error {
	var all []*central.Tenant
	f.Limit = 200
	for {
		page, next, err := p.List(ctx, f)
		if err != nil {
			return describeError(err, tenantFields)
		}
		for i := range page {
			all = append(all, &page[i])
		}
		if next == "" {
			break
		}
		f.Cursor = next
	}
	return out.tenantList(all)
}

// repair resumes stuck and failed tenants, then redoes the DB accounts of
// active and suspended tenants and of spares that are missing, wrongly
// granted (the wildcard grants of older versions) or refused.
func repair(ctx context.Context, p *provisioning.Provisioner, out output) error {
	resumed, err := p.Repair(ctx)
	accounts, aerr := p.RepairAccounts(ctx)
	if out.json {
		v := struct {
			Resumed          []string `json:"resumed"`
			RepairedAccounts []string `json:"repairedAccounts"`
		}{nonNil(resumed), nonNil(accounts)}
		if e := json.NewEncoder(out.w).Encode(v); e != nil {
			return e
		}
	} else {
		if len(resumed) == 0 {
			fmt.Fprintln(out.w, "no provisioning needed resuming")
		} else {
			fmt.Fprintf(out.w, "resumed the provisioning of %s: %s\n", count(len(resumed), "tenant"), strings.Join(resumed, ", "))
		}
		if len(accounts) > 0 {
			fmt.Fprintf(out.w, "repaired %s (user, password and grants): %s\n", count(len(accounts), "DB account"), strings.Join(accounts, ", "))
		}
	}
	if err = errors.Join(err, aerr); err != nil {
		return fmt.Errorf("some tenants could not be repaired:\n%w", err)
	}
	return nil
}

// count is "1 tenant", "2 tenants".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// tenant prints one tenant (a JSON object).
func (o output) tenant(t *central.Tenant) error {
	if o.json {
		return o.encode(router.ViewTenant(t))
	}
	return tenantTable(o.w, []*central.Tenant{t})
}

// tenantList prints a list of tenants (a JSON array, even of one).
func (o output) tenantList(ts []*central.Tenant) error {
	if o.json {
		views := make([]router.TenantView, 0, len(ts))
		for _, t := range ts {
			views = append(views, router.ViewTenant(t))
		}
		return o.encode(views)
	}
	return tenantTable(o.w, ts)
}

// tenantTable prints tenants as a table; a failed tenant's error is a
// note below it.
func tenantTable(w io.Writer, ts []*central.Tenant) error {
	t := newTable(w, "SLUG", "NAME", "STATUS", "SERVER", "DATABASE", "SCHEMA", "DOMAINS", "CREATED")
	for _, x := range ts {
		status := x.Status
		if x.Status == central.StatusFailed && x.LastError.Valid {
			status += " (" + t.note(x.Slug, x.LastError.String) + ")"
		}
		t.row(x.Slug, x.Name, status, x.Server, x.DatabaseName, strconv.FormatInt(x.SchemaVersion, 10),
			strings.Join(x.Domains, ","), x.CreatedAt.Format("2006-01-02 15:04:05Z"))
	}
	return t.flush()
}

// errOrphans makes "repair --check" exit non-zero when it finds anything.
var errOrphans = errors.New("the servers and the catalog disagree (see above)")

func (o output) report(r *provisioning.Report, err error) error {
	if err != nil {
		return err
	}
	if o.json {
		if err := json.NewEncoder(o.w).Encode(r); err != nil {
			return err
		}
	} else if r.Clean() {
		fmt.Fprintln(o.w, "ok: every database and DB user with Silo's prefix belongs to a tenant or a spare, every tenant's and spare's exist, and each DB user logs in and holds exactly its own database's grants")
	} else {
		for _, l := range []struct {
			what  string
			items []string
		}{
			{"orphan database", r.OrphanDatabases}, {"orphan DB user", r.OrphanUsers},
			{"missing database", r.MissingDatabases}, {"missing DB user", r.MissingUsers},
			{"wrong grants", r.WrongGrants}, {"DB user cannot log in", r.BrokenUsers}, {"wrong role (shared connection mode)", r.WrongRoles},
			{"unreachable server", r.UnreachableServers},
		} {
			for _, item := range l.items {
				fmt.Fprintf(o.w, "%s: %s\n", l.what, item)
			}
		}
	}
	if !r.Clean() {
		return errOrphans
	}
	return nil
}
