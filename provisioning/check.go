package provisioning

import (
	"context"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/tenantdb"
)

// Report is the reconciliation of the database server with the catalog.
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
}

// Clean reports whether the server and the catalog agree.
func (r *Report) Clean() bool {
	return len(r.OrphanDatabases)+len(r.OrphanUsers)+len(r.MissingDatabases)+len(r.MissingUsers)+
		len(r.WrongGrants)+len(r.BrokenUsers)+len(r.WrongRoles) == 0
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

// Check compares the databases and DB users on the server with the catalog,
// and the privileges and logins of every tenant's and spare's DB user with
// what they must be.
func (p *Provisioner) Check(ctx context.Context) (*Report, error) {
	// Read the catalog before the server: an object created in between is
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
	dbs, err := p.server.Databases(ctx, p.opts.Prefix)
	if err != nil {
		return nil, err
	}
	users, err := p.server.Users(ctx, p.opts.Prefix)
	if err != nil {
		return nil, err
	}
	in := &inventory{onServerDB: set(dbs), onServerUser: set(users),
		ownedDB: map[string]bool{p.opts.CentralDatabase: true}, ownedUser: map[string]bool{},
		r: &Report{OrphanDatabases: []string{}, OrphanUsers: []string{}, MissingDatabases: []string{}, MissingUsers: []string{},
			WrongGrants: []string{}, BrokenUsers: []string{}, WrongRoles: []string{}}}
	for _, t := range tenants {
		in.tenant(t)
	}
	for _, s := range spares {
		in.spare(s)
	}
	onServerDB, ownedDB, ownedUser, r, live := in.onServerDB, in.ownedDB, in.ownedUser, in.r, in.live
	for _, d := range dbs {
		if !ownedDB[d] {
			r.OrphanDatabases = append(r.OrphanDatabases, d)
		}
	}
	p.ownedRoleNames(ownedUser)
	for _, u := range users {
		if !ownedUser[u] {
			r.OrphanUsers = append(r.OrphanUsers, u)
		}
	}
	granted, err := p.grantedRoles(ctx)
	if err != nil {
		return nil, err
	}
	for _, a := range live {
		if err := p.checkAccount(ctx, a, onServerDB[a.database], r); err != nil {
			return nil, err
		}
		if err := p.checkRole(ctx, a, granted, r); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// inventory is what Check learns walking the catalog: which databases and
// DB users the catalog owns, what is missing from the server, and the
// accounts that must exist and work (live).
type inventory struct {
	onServerDB, onServerUser map[string]bool
	ownedDB, ownedUser       map[string]bool
	r                        *Report
	live                     []account
}

func (in *inventory) tenant(t central.Tenant) {
	in.ownedDB[t.DatabaseName], in.ownedUser[t.DBUser] = true, true
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
	in.ownedDB[s.DatabaseName], in.ownedUser[s.DBUser] = true, true
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
func (p *Provisioner) checkAccount(ctx context.Context, a account, dbExists bool, r *Report) error {
	problems, err := p.server.GrantProblems(ctx, a.user, a.database)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		r.WrongGrants = append(r.WrongGrants, a.label+": "+a.user+": "+strings.Join(problems, "; "))
	}
	if !dbExists || a.locked {
		return nil // reported missing, or locked on purpose
	}
	if reason := p.loginProblem(ctx, a); reason != "" {
		r.BrokenUsers = append(r.BrokenUsers, a.label+": "+a.user+": "+reason)
	}
	return nil
}

// loginProblem tries to log in as a's DB user to its database and returns
// why that fails ("" when it works).
func (p *Provisioner) loginProblem(ctx context.Context, a account) string {
	pw, err := p.box.Open(a.passwordEnc, []byte(a.user))
	if err != nil {
		return "its password cannot be decrypted"
	}
	err = p.server.WithTenantDB(ctx, a.database, a.user, string(pw), func(*sqlx.DB) error { return nil })
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
