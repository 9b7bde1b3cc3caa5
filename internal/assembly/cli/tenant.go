package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/internal/assembly/app"
	"github.com/silo-dev/silo/provisioning"
	"github.com/silo-dev/silo/router"
)

const tenantUsage = `usage: silo tenant <command> [flags]
  create --slug SLUG --name NAME [--domain D]... [--admin-email E --admin-first-name F --admin-last-name L]
         (the first admin's password comes from $ADMIN_PASSWORD)
  list [--status S] [--q TEXT]
  get SLUG
  suspend SLUG
  resume SLUG
  delete SLUG [--purge [--yes]]   (--purge asks you to type SLUG on a terminal; --yes skips that)
  repair [--check]
every command takes --json for machine-readable output`

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// tenantFlags holds the flags of every tenant command; each command
// registers only its own.
type tenantFlags struct {
	asJSON, purge, check, yes         bool
	slug, name, status, query         string
	adminEmail, adminFirst, adminLast string
	server                            string
	domains, labels                   stringList
}

// labelMap reads k=v flags into labels; a flag without = is an error.
func labelMap(flags []string) (map[string]string, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(flags))
	for _, f := range flags {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("--label %q: use KEY=VALUE", f)
		}
		out[k] = v
	}
	return out, nil
}

func (f *tenantFlags) register(fs *flag.FlagSet, sub string) {
	fs.BoolVar(&f.asJSON, "json", false, "print JSON")
	switch sub {
	case "create":
		fs.StringVar(&f.slug, "slug", "", "tenant slug")
		fs.StringVar(&f.name, "name", "", "tenant name")
		fs.Var(&f.domains, "domain", "custom domain (repeatable)")
		fs.StringVar(&f.adminEmail, "admin-email", "", "first tenant_admin's email")
		fs.StringVar(&f.adminFirst, "admin-first-name", "", "first tenant_admin's first name")
		fs.StringVar(&f.adminLast, "admin-last-name", "", "first tenant_admin's last name")
		fs.StringVar(&f.server, "server", "", "database server to place the tenant on (default: the active server with the most room)")
		fs.Var(&f.labels, "label", "KEY=VALUE a server must carry to take the tenant (repeatable)")
	case "list":
		fs.StringVar(&f.status, "status", "", "only tenants with this status")
		fs.StringVar(&f.query, "q", "", "only tenants whose slug or name contains this")
	case "delete":
		fs.BoolVar(&f.purge, "purge", false, "drop the database and the DB user")
		fs.BoolVar(&f.yes, "yes", false, "purge without asking")
	case "repair":
		fs.BoolVar(&f.check, "check", false, "only compare the server with the catalog: orphans, missing databases and DB users, wrong grants, refused logins")
	}
}

// tenantCmd runs "silo tenant ...".
func tenantCmd(ctx context.Context, ext app.Extensions, args []string, getenv func(string) string, con console, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError(tenantUsage)
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "create", "list", "get", "suspend", "resume", "delete", "repair":
	default:
		return usageError(tenantUsage)
	}
	var f tenantFlags
	cfg, rest, err := loadConfig("tenant "+sub, args, getenv, stderr, true, func(fs *flag.FlagSet) { f.register(fs, sub) })
	if err != nil {
		return err
	}
	needSlug := map[string]bool{"get": true, "suspend": true, "resume": true, "delete": true}
	if needSlug[sub] {
		if len(rest) != 1 {
			return usageError(tenantUsage)
		}
		f.slug = rest[0]
	} else if len(rest) != 0 {
		return usageError(tenantUsage)
	}
	if sub == "delete" && f.purge {
		what := fmt.Sprintf("This drops tenant %s's database and DB user for good.", f.slug)
		if err := con.confirm(stderr, f.yes, what, f.slug); err != nil {
			return err
		}
	}

	log := newLogger(cfg, stderr)
	open := app.Open
	if sub == "list" || sub == "get" || (sub == "repair" && f.check) {
		open = app.OpenExisting // read-only: never create or migrate the central database
	}
	a, err := open(ctx, cfg, log, ext)
	if err != nil {
		return err
	}
	defer a.Close()
	ctx = central.WithActor(ctx, central.Actor{Kind: "cli", ID: getenv("USER"), RequestID: "cli"})
	return runTenant(ctx, a.Provisioner, sub, &f, getenv, output{w: stdout, json: f.asJSON})
}

// runTenant runs one tenant command once its flags are checked and the
// central database is open.
func runTenant(ctx context.Context, p *provisioning.Provisioner, sub string, f *tenantFlags, getenv func(string) string, out output) error {
	switch sub {
	case "create":
		labels, err := labelMap(f.labels)
		if err != nil {
			return usageError(err.Error())
		}
		in := provisioning.NewTenant{Slug: f.slug, Name: f.name, Domains: f.domains, Server: f.server, Labels: labels}
		if f.adminEmail != "" {
			in.Admin = &provisioning.NewAdmin{Email: f.adminEmail, Password: getenv("ADMIN_PASSWORD"), FirstName: f.adminFirst, LastName: f.adminLast}
		}
		t, err := p.Create(ctx, in)
		if err != nil {
			return describeError(err)
		}
		return out.tenants(t)
	case "list":
		return listTenants(ctx, p, f.status, f.query, out)
	case "get", "suspend", "resume":
		var t *central.Tenant
		var err error
		switch sub {
		case "get":
			t, err = p.Get(ctx, f.slug)
		case "suspend":
			t, err = p.Suspend(ctx, f.slug)
		default:
			t, err = p.Resume(ctx, f.slug)
		}
		if err != nil {
			return describeError(err)
		}
		return out.tenants(t)
	case "delete":
		if err := p.Delete(ctx, f.slug, f.purge); err != nil {
			return describeError(err)
		}
		what := "deleted (database kept, DB user locked)"
		if f.purge {
			what = "purged (database and DB user dropped)"
		}
		return out.message(map[string]string{"slug": f.slug, "result": what}, "tenant "+f.slug+" "+what)
	case "repair":
		if f.check {
			return out.report(p.Check(ctx))
		}
		return repair(ctx, p, out)
	}
	return usageError(tenantUsage)
}

// listTenants prints every tenant matching status and query, reading the
// catalog page by page so that no single query is unbounded.
func listTenants(ctx context.Context, p *provisioning.Provisioner, status, query string, out output) error {
	var all []*central.Tenant
	cursor := ""
	for {
		page, next, err := p.List(ctx, central.TenantFilter{Status: status, Query: query, Limit: 200, Cursor: cursor})
		if err != nil {
			return describeError(err)
		}
		for i := range page {
			all = append(all, &page[i])
		}
		if next == "" {
			break
		}
		cursor = next
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
		fmt.Fprintf(out.w, "resumed %d tenant(s): %s\n", len(resumed), strings.Join(resumed, ", "))
		if len(accounts) > 0 {
			fmt.Fprintf(out.w, "repaired %d DB account(s) (user, password, grants): %s\n", len(accounts), strings.Join(accounts, ", "))
		}
	}
	if err = errors.Join(err, aerr); err != nil {
		return fmt.Errorf("some tenants could not be repaired:\n%w", err)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// output prints command results as a table or as JSON.
type output struct {
	w    io.Writer
	json bool
}

// tenants prints one tenant (a JSON object).
func (o output) tenants(t *central.Tenant) error {
	if o.json {
		return o.encode(router.ViewTenant(t))
	}
	return o.table([]*central.Tenant{t})
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
	return o.table(ts)
}

func (o output) encode(v any) error {
	enc := json.NewEncoder(o.w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (o output) table(ts []*central.Tenant) error {
	tw := tabwriter.NewWriter(o.w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SLUG\tNAME\tSTATUS\tSERVER\tDATABASE\tSCHEMA\tDOMAINS\tCREATED")
	for _, t := range ts {
		status := t.Status
		if t.Status == central.StatusFailed && t.LastError.Valid {
			status += " (" + t.LastError.String + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", t.Slug, t.Name, status, t.Server, t.DatabaseName, t.SchemaVersion,
			strings.Join(t.Domains, ","), t.CreatedAt.Format("2006-01-02 15:04:05Z"))
	}
	return tw.Flush()
}

func (o output) message(v any, text string) error {
	if o.json {
		return json.NewEncoder(o.w).Encode(v)
	}
	_, err := fmt.Fprintln(o.w, text)
	return err
}

// errOrphans makes "repair --check" exit non-zero when it finds anything.
var errOrphans = errors.New("the server and the catalog disagree (see above)")

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
