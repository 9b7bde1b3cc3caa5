package provisioning

import (
	"context"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/internal/lib/apperr"
)

// password decrypts the DB password of user.
func (p *Provisioner) password(user string, enc []byte) (string, error) {
	pw, err := p.box.Open(enc, []byte(user))
	if err != nil {
		return "", apperr.Wrap(apperr.Internal, "INTERNAL", "The tenant's DB password cannot be decrypted (was SILO_MASTER_KEY changed?)", err)
	}
	return string(pw), nil
}

// redoAccount redoes the user, password and grant steps of a tenant's or a
// spare's DB account, each idempotent (CREATE USER IF NOT EXISTS, ALTER
// USER with the catalog's password and ACCOUNT UNLOCK, FixGrants, and in
// the shared connection mode the tenant's role: fixRole), then
// proves the account by logging in to its database with it.
func (p *Provisioner) redoAccount(ctx context.Context, srv Server, user, database, password string) error {
	if err := srv.CreateUser(ctx, user, password); err != nil {
		return err
	}
	if _, err := srv.FixGrants(ctx, user, database); err != nil {
		return err
	}
	if err := p.fixRole(ctx, srv, user, database); err != nil {
		return err
	}
	return srv.WithTenantDB(ctx, database, user, password, func(*sqlx.DB) error { return nil })
}

// errAccountRepair is answered when an active tenant's DB account could not
// be put right; the cause is logged.
var errAccountRepair = apperr.New(apperr.Unavailable, "PROVISIONING_FAILED",
	"The tenant's DB account could not be repaired (see the server log; silo tenant repair --check lists what is wrong)")

// repairAccount redoes an active or suspended tenant's DB account (the
// caller holds the tenant's lock). Its status is left as it is.
func (p *Provisioner) repairAccount(ctx context.Context, t *central.Tenant) error {
	password, err := p.password(t.DBUser, t.DBPasswordEnc)
	if err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	srv, err := p.servers.Get(ctx, t.Server)
	if err == nil {
		err = p.redoAccount(ctx, srv, t.DBUser, t.DatabaseName, password)
	}
	if err != nil {
		p.log.ErrorContext(ctx, "tenant DB account repair failed", "tenant", t.Slug, "err", err)
		e := *errAccountRepair
		e.Err = err
		return &e
	}
	return nil
}

// RepairAccounts redoes the DB account of every active or suspended tenant
// and every ready spare whose account Check finds wrong (missing user,
// wrong grants, login refused), and corrects the grants of deleted
// tenants' (locked) users. A tenant locked by another process is
// left for the next run. It returns what it repaired ("slug" or "spare
// NAME"); a spare that cannot be repaired is dropped (the pool builds a
// fresh one), as it holds no tenant's data.
func (p *Provisioner) RepairAccounts(ctx context.Context) ([]string, error) {
	broken, err := p.brokenAccounts(ctx)
	if err != nil {
		return nil, err
	}
	var done []string
	var errs []error
	for _, a := range broken.tenants {
		ok, err := p.repairTenantAccount(ctx, a)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", a, err))
		} else if ok {
			done = append(done, a)
		}
	}
	for _, s := range broken.spares {
		if err := p.repairSpare(ctx, s); err != nil {
			errs = append(errs, fmt.Errorf("spare %s: %w", s.DatabaseName, err))
			continue
		}
		done = append(done, "spare "+s.DatabaseName)
	}
	return done, errors.Join(errs...)
}

// brokenSet is what RepairAccounts works on: slugs and spares.
type brokenSet struct {
	tenants []string
	spares  []central.Spare
}

// brokenAccounts lists the tenants (active or suspended) and ready spares
// whose DB account is missing, wrongly granted or refused, on every
// registered server; a server that cannot be reached is an error, and the
// others are still looked at.
func (p *Provisioner) brokenAccounts(ctx context.Context) (*brokenSet, error) {
	tenants, err := p.catalog.TenantsByStatus(ctx, central.StatusActive, central.StatusSuspended, central.StatusDeleted)
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
	var b brokenSet
	var errs []error
	for _, rec := range servers {
		if err := p.brokenOn(ctx, rec.Name, tenants, spares, &b); err != nil {
			errs = append(errs, fmt.Errorf("server %s: %w", rec.Name, err))
		}
	}
	return &b, errors.Join(errs...)
}

// brokenOn adds the broken accounts of the tenants and spares on server
// name to b.
func (p *Provisioner) brokenOn(ctx context.Context, name string, tenants []central.Tenant, spares []central.Spare, b *brokenSet) error {
	srv, err := p.servers.Get(ctx, name)
	if err != nil {
		return err
	}
	users, err := srv.Users(ctx, p.opts.Prefix)
	if err != nil {
		return err
	}
	exists := set(users)
	granted, err := p.grantedRoles(ctx, srv)
	if err != nil {
		return err
	}
	for _, t := range tenants {
		deleted := t.Status == central.StatusDeleted
		if t.Server != name || (deleted && !exists[t.DBUser]) {
			continue // elsewhere, purged, or never created
		}
		bad, err := p.accountBroken(ctx, srv, account{t.Slug, t.DBUser, t.DatabaseName, t.DBPasswordEnc, deleted}, exists, granted)
		if err != nil {
			return err
		}
		if bad {
			b.tenants = append(b.tenants, t.Slug)
		}
	}
	for _, s := range spares {
		if s.Server != name || s.Status == central.StatusProvisioning {
			continue
		}
		bad, err := p.accountBroken(ctx, srv, account{"spare " + s.DatabaseName, s.DBUser, s.DatabaseName, s.DBPasswordEnc, false}, exists, nil)
		if err != nil {
			return err
		}
		if bad {
			b.spares = append(b.spares, s)
		}
	}
	return nil
}

// accountBroken reports whether a's account needs repair: a missing user,
// wrong grants, a refused login, or in the shared mode (granted, the
// login's roles, not nil) a wrong or ungranted role.
func (p *Provisioner) accountBroken(ctx context.Context, srv Server, a account, exists, granted map[string]bool) (bool, error) {
	if !exists[a.user] {
		return true, nil
	}
	if problems, err := p.roleProblems(ctx, srv, a, granted); err != nil || len(problems) > 0 {
		return len(problems) > 0, err
	}
	problems, err := srv.GrantProblems(ctx, a.user, a.database)
	if err != nil || len(problems) > 0 || a.locked {
		return len(problems) > 0, err
	}
	return p.loginProblem(ctx, srv, a) != "", nil
}

// repairTenantAccount redoes slug's account under its lock (a deleted
// tenant's grants only); false when another process holds the lock or
// the tenant's status changed to one repair leaves alone.
func (p *Provisioner) repairTenantAccount(ctx context.Context, slug string) (bool, error) {
	release, ok, err := p.catalog.TryLock(ctx, "tenant:"+slug)
	if err != nil || !ok {
		return false, err
	}
	defer release()
	t, err := p.catalog.Tenant(ctx, slug)
	if err != nil {
		return false, err
	}
	switch t.Status {
	case central.StatusActive, central.StatusSuspended:
	case central.StatusDeleted:
		// Its user stays locked; only wrong grants are corrected.
		srv, err := p.servers.Get(ctx, t.Server)
		if err != nil {
			return false, err
		}
		if err := p.revokeRole(context.WithoutCancel(ctx), srv, t.DBUser); err != nil {
			return false, err
		}
		return srv.FixGrants(context.WithoutCancel(ctx), t.DBUser, t.DatabaseName)
	default:
		return false, nil
	}
	if err := p.repairAccount(ctx, t); err != nil {
		return false, err
	}
	p.log.InfoContext(ctx, "repaired tenant DB account", "tenant", slug)
	return true, nil
}

// repairSpare redoes a spare's account. A tenant may claim the spare
// meanwhile; it redoes the account itself, and both runs are idempotent.
// A spare that cannot be repaired is left in place and reported: it is
// never dropped here, as a claim may have made it a tenant's database.
func (p *Provisioner) repairSpare(ctx context.Context, s central.Spare) error {
	password, err := p.password(s.DBUser, s.DBPasswordEnc)
	if err != nil {
		return err
	}
	srv, err := p.servers.Get(ctx, s.Server)
	if err != nil {
		return err
	}
	return p.redoAccount(context.WithoutCancel(ctx), srv, s.DBUser, s.DatabaseName, password)
}
