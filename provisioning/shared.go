package provisioning

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/silo-dev/silo/tenantdb"
)

// The shared connection mode's accounts (Options.SharedConns): each
// tenant's role (tenantdb.RoleFor its DB user) holds the tenant privileges
// on its database and is granted to the server's shared login
// (tenantdb.SharedLoginName). Provisioning creates the role at the grant
// step and whenever it redoes an account (a claimed spare, a repair);
// `silo tenant repair` gives existing tenants theirs after the mode is
// switched on. Deleting a tenant revokes its role from the login; purging
// it drops the role in either mode.

// sharedLogin is the shared connection mode's login ("" when it is off).
func (p *Provisioner) sharedLogin() string {
	if !p.opts.SharedConns {
		return ""
	}
	return tenantdb.SharedLoginName(p.opts.Prefix)
}

// fixRole leaves the role of the tenant whose DB user is user with exactly
// the tenant privileges on database, granted to the shared login; nothing
// when the mode is off.
func (p *Provisioner) fixRole(ctx context.Context, srv Server, user, database string) error {
	login, role, err := p.sharedRole(user)
	if err != nil || login == "" {
		return err
	}
	if _, done := p.logins.Load(srv.Addr()); !done && p.opts.SharedPassword != "" {
		if err := srv.EnsureSharedLogin(ctx, login, p.opts.SharedPassword); err != nil {
			return err
		}
		p.logins.Store(srv.Addr(), true)
	}
	_, err = srv.FixRole(ctx, role, database, login)
	return err
}

// revokeRole takes a deleted tenant's role from the shared login.
func (p *Provisioner) revokeRole(ctx context.Context, srv Server, user string) error {
	login, role, err := p.sharedRole(user)
	if err != nil || login == "" {
		return err
	}
	return srv.RevokeRole(ctx, role, login)
}

// sharedRole is the shared login and the role of the tenant whose DB user
// is user; login is "" when the shared mode is off.
func (p *Provisioner) sharedRole(user string) (login, role string, err error) {
	if login = p.sharedLogin(); login == "" {
		return "", "", nil
	}
	role, err = tenantdb.RoleFor(user)
	return login, role, err
}

// dropRole drops a purged tenant's role, if any (in either mode: the mode
// may have been on before).
func (p *Provisioner) dropRole(ctx context.Context, srv Server, user string) error {
	role, err := tenantdb.RoleFor(user)
	if err != nil {
		return nil // no role can have this name
	}
	return srv.DropRole(ctx, role)
}

// grantedRoles lists the roles granted to the shared login; nil when the
// mode is off.
func (p *Provisioner) grantedRoles(ctx context.Context, srv Server) (map[string]bool, error) {
	login := p.sharedLogin()
	if login == "" {
		return nil, nil
	}
	return srv.SharedRoles(ctx, login)
}

// roleProblems describes what is wrong with a's role in the shared mode
// (granted lists the login's roles): its privileges, or that the login
// lacks it. None when the mode is off or a is locked (deleted).
func (p *Provisioner) roleProblems(ctx context.Context, srv Server, a account, granted map[string]bool) ([]string, error) {
	if granted == nil || a.locked {
		return nil, nil
	}
	role, err := tenantdb.RoleFor(a.user)
	if err != nil {
		return nil, err
	}
	problems, err := srv.RoleProblems(ctx, role, a.database)
	if err != nil {
		return nil, err
	}
	if !granted[role] {
		problems = append(problems, "not granted to "+p.sharedLogin())
	}
	for i, pr := range problems {
		problems[i] = role + ": " + pr
	}
	return problems, nil
}

// ownedRoleNames adds to owned (the tenants' and spares' DB users) the
// names Silo's shared mode owns among the server's accounts, which MySQL
// lists with the users: the shared login and each user's role.
func (p *Provisioner) ownedRoleNames(owned map[string]bool) {
	users := slices.Collect(maps.Keys(owned))
	owned[tenantdb.SharedLoginName(p.opts.Prefix)] = true
	for _, u := range users {
		if role, err := tenantdb.RoleFor(u); err == nil {
			owned[role] = true
		}
	}
}

// checkRole adds what is wrong with a tenant's role to r (shared mode;
// a spare gets its role when a tenant claims it).
func (p *Provisioner) checkRole(ctx context.Context, srv Server, a account, granted map[string]bool, r *Report) error {
	if strings.HasPrefix(a.label, "spare ") { // a slug has no space
		return nil
	}
	problems, err := p.roleProblems(ctx, srv, a, granted)
	if len(problems) > 0 {
		r.WrongRoles = append(r.WrongRoles, a.label+": "+strings.Join(problems, "; "))
	}
	return err
}
