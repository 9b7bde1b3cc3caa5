package provisioning

import (
	"context"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/tenantdb"
)

// Report is the reconciliation of the database servers with the catalog.
type Report struct {
	// Databases and DB users on the server (with Silo's prefix) that no
	// tenant or spare owns. The central database is never one.
	OrphanDatabases []string `json:"orphanDatabases"`
	OrphanUsers     []string `json:"orphanUsers"`
	// Tenants and spares whose catalog says their database or DB user
	// exists, but the server has none: "slug: name" ("spare NAME: name").
	MissingDatabases []string `json:"missingDatabases"`
	MissingUsers     []string `json:"missingUsers"`
	// DB users of tenants and spares whose privileges are not exactly the
	// tenant privileges on their own database (escaped), without GRANT
	// OPTION and without global privileges: "slug: user: difference".
	// Installations from before wildcards were escaped in grants show
	// each slug-named database here; `silo tenant repair` corrects them.
	WrongGrants []string `json:"wrongGrants"`
	// DB users that exist but cannot log in to their database (wrong
	// password, locked): "slug: user: reason".
	BrokenUsers []string `json:"brokenUsers"`
	// In the shared connection mode, tenants whose role is missing, holds
	// other privileges than the tenant privileges on its database, or is
	// not granted to the shared login: "slug: role: difference".
	WrongRoles []string `json:"wrongRoles"`
	// Registered servers that could not be checked: "name: reason"; and
	// servers tenants are recorded on that the registry does not know.
	UnreachableServers []string `json:"unreachableServers"`
}

// Clean reports whether the server and the catalog agree.
func (r *Report) Clean() bool {
	return len(r.OrphanDatabases)+len(r.OrphanUsers)+len(r.MissingDatabases)+len(r.MissingUsers)+
		len(r.WrongGrants)+len(r.BrokenUsers)+len(r.WrongRoles)+len(r.UnreachableServers) == 0
}

// account is the DB account of a tenant or a spare.
type account struct {
	label       string // the tenant's slug, or "spare " and the spare's database
	user        string
	database    string
	passwordEnc []byte
	// locked: a deleted tenant's user, locked on purpose; only its grants
	// are checked and corrected, never its login.
	locked bool
}

// Check compares the databases and DB users on every registered server
// with the catalog, and the privileges and logins of every tenant's and
// spare's DB user with what they must be. A server that cannot be reached
// is reported (UnreachableServers) and the others are still checked.
func (p *Provisioner) Check(ctx context.Context) (*Report, error) {
	// Read the catalog before the servers: an object created in between is
	// then seen as an orphan only if its catalog row is newer than this
	// read, which a repeated check clears up.
	tenants, err := p.catalog.TenantsByStatus(ctx, central.StatusProvisioning, central.StatusActive,
		central.StatusSuspended, central.StatusFailed, central.StatusDeleted)
	if err != nil {
		return nil, err
	}
	spares, err := p.catalog.Spares(ctx)
	if err != nil {
		return nil, err
	}
	servers, err := p.catalog.Servers(ctx)
	if err != nil {
		return nil, err
	}
	r := &Report{OrphanDatabases: []string{}, OrphanUsers: []string{}, MissingDatabases: []string{}, MissingUsers: []string{},
		WrongGrants: []string{}, BrokenUsers: []string{}, WrongRoles: []string{}, UnreachableServers: []string{}}
	owned := p.ownership(tenants, spares)
	groups := map[string]*inventory{}
	for _, rec := range servers {
		groups[rec.Name] = &inventory{r: r, owned: owned}
	}
	for _, t := range tenants {
		if in := groups[t.Server]; in != nil {
			in.tenants = append(in.tenants, t)
		} else {
			r.UnreachableServers = append(r.UnreachableServers, t.Server+": not registered, yet tenant "+t.Slug+" is on it")
		}
	}
	for _, sp := range spares {
		if in := groups[sp.Server]; in != nil {
			in.spares = append(in.spares, sp)
		}
	}
	listed := map[string]bool{} // addresses whose orphans were listed: two entries may name one server
	for _, rec := range servers {
		srv, err := p.servers.Get(ctx, rec.Name)
		if err == nil {
			err = p.checkServer(ctx, srv, groups[rec.Name], !listed[rec.Addr])
		}
		if err != nil {
			r.UnreachableServers = append(r.UnreachableServers, rec.Name+": "+p.safeError(err))
			continue
		}
		listed[rec.Addr] = true
	}
	return r, nil
}

// ownership is every database and DB user the catalog owns, on any
// server, with the central database and the shared mode's account names.
type ownership struct{ db, user map[string]bool }

func (p *Provisioner) ownership(tenants []central.Tenant, spares []central.Spare) ownership {
	o := ownership{db: map[string]bool{p.opts.CentralDatabase: true}, user: map[string]bool{}}
	for _, t := range tenants {
		o.db[t.DatabaseName], o.user[t.DBUser] = true, true
	}
	for _, s := range spares {
		o.db[s.DatabaseName], o.user[s.DBUser] = true, true
	}
	p.ownedRoleNames(o.user)
	return o
}

// checkServer checks the tenants and spares of one server, and with
// orphans its databases and users that nothing in the catalog owns.
func (p *Provisioner) checkServer(ctx context.Context, srv Server, in *inventory, orphans bool) error {
	dbs, err := srv.Databases(ctx, p.opts.Prefix)
	if err != nil {
		return err
	}
	users, err := srv.Users(ctx, p.opts.Prefix)
	if err != nil {
		return err
	}
	in.onServerDB, in.onServerUser = set(dbs), set(users)
	for _, t := range in.tenants {
		in.tenant(t)
	}
	for _, s := range in.spares {
		in.spare(s)
	}
	r := in.r
	for _, d := range dbs {
		if orphans && !in.owned.db[d] {
			r.OrphanDatabases = append(r.OrphanDatabases, d)
		}
	}
	for _, u := range users {
		if orphans && !in.owned.user[u] {
			r.OrphanUsers = append(r.OrphanUsers, u)
		}
	}
	granted, err := p.grantedRoles(ctx, srv)
	if err != nil {
		return err
	}
	for _, a := range in.live {
		if err := p.checkAccount(ctx, srv, a, in.onServerDB[a.database], r); err != nil {
			return err
		}
		if err := p.checkRole(ctx, srv, a, granted, r); err != nil {
			return err
		}
	}
	return nil
}

// inventory is what Check learns walking the catalog: which databases and
// DB users the catalog owns, what is missing from the server, and the
// accounts that must exist and work (live).
type inventory struct {
	tenants                  []central.Tenant // on this server
	spares                   []central.Spare
	owned                    ownership // on every server
	onServerDB, onServerUser map[string]bool
	r                        *Report
	live                     []account
}

func (in *inventory) tenant(t central.Tenant) {
	if t.Status == central.StatusProvisioning || t.Status == central.StatusFailed {
		return // not created yet, or half-way: repair finishes it
	}
	// A tenant deleted before provisioning finished may never have had
	// its database or DB user: expect only what its steps created.
	if stepIndex(t.Step) >= stepIndex(stepDatabase) && !in.onServerDB[t.DatabaseName] {
		in.r.MissingDatabases = append(in.r.MissingDatabases, t.Slug+": "+t.DatabaseName)
	}
	if stepIndex(t.Step) >= stepIndex(stepUser) && !in.onServerUser[t.DBUser] {
		in.r.MissingUsers = append(in.r.MissingUsers, t.Slug+": "+t.DBUser)
	}
	if in.onServerUser[t.DBUser] {
		in.live = append(in.live, account{t.Slug, t.DBUser, t.DatabaseName, t.DBPasswordEnc, t.Status == central.StatusDeleted})
	}
}

func (in *inventory) spare(s central.Spare) {
	if s.Status == central.StatusProvisioning {
		return // being built, or left half-built: the next refill drops it
	}
	label := "spare " + s.DatabaseName
	if !in.onServerDB[s.DatabaseName] {
		in.r.MissingDatabases = append(in.r.MissingDatabases, label+": "+s.DatabaseName)
	}
	if !in.onServerUser[s.DBUser] {
		in.r.MissingUsers = append(in.r.MissingUsers, label+": "+s.DBUser)
		return
	}
	in.live = append(in.live, account{label, s.DBUser, s.DatabaseName, s.DBPasswordEnc, false})
}

// checkAccount adds a's wrong grants and, when its database exists, a
// failed login to r.
func (p *Provisioner) checkAccount(ctx context.Context, srv Server, a account, dbExists bool, r *Report) error {
	problems, err := srv.GrantProblems(ctx, a.user, a.database)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		r.WrongGrants = append(r.WrongGrants, a.label+": "+a.user+": "+strings.Join(problems, "; "))
	}
	if !dbExists || a.locked {
		return nil // reported missing, or locked on purpose
	}
	if reason := p.loginProblem(ctx, srv, a); reason != "" {
		r.BrokenUsers = append(r.BrokenUsers, a.label+": "+a.user+": "+reason)
	}
	return nil
}

// loginProblem tries to log in as a's DB user to its database and returns
// why that fails ("" when it works).
func (p *Provisioner) loginProblem(ctx context.Context, srv Server, a account) string {
	pw, err := p.box.Open(a.passwordEnc, []byte(a.user))
	if err != nil {
		return "its password cannot be decrypted"
	}
	err = srv.WithTenantDB(ctx, a.database, a.user, string(pw), func(*sqlx.DB) error { return nil })
	if err == nil {
		return ""
	}
	if reason := tenantdb.AccountReason(err); reason != "" {
		return reason
	}
	return "cannot log in: " + strings.ReplaceAll(err.Error(), string(pw), "[redacted]")
}

func set(items []string) map[string]bool {
	m := make(map[string]bool, len(items))
	for _, s := range items {
		m[s] = true
	}
	return m
}
