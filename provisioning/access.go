package provisioning

import (
	"context"
	"errors"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/internal/lib/login"
	"github.com/silo-dev/silo/internal/lib/token"
	"github.com/silo-dev/silo/tenantdb"
)

// A central admin's access to a tenant: inviting its users and acting as
// one of them. Each is recorded in both audit logs, the tenant's (by the
// central admin) and the central one, whose actor is the one in ctx.

// ErrNotActive is returned for work that needs an active tenant.
var ErrNotActive = apperr.New(apperr.Conflict, "CONFLICT", "The tenant is not active")

// errNoCentralAudit is answered when the Provisioner was built without the
// central audit log or the token keys (Options.Audit, Options.Keys).
var errNoCentralAudit = apperr.New(apperr.Internal, "INTERNAL", "The central audit log is not configured")

// withActiveTenant runs fn on slug's database as the tenant's own DB user;
// the tenant must be active.
func (p *Provisioner) withActiveTenant(ctx context.Context, slug string, fn func(*sqlx.DB) error) (*central.Tenant, error) {
	t, err := p.Get(ctx, slug)
	if err != nil {
		return nil, err
	}
	if t.Status != central.StatusActive {
		return nil, ErrNotActive
	}
	pw, err := p.password(t.DBUser, t.DBPasswordEnc)
	if err != nil {
		return nil, err
	}
	srv, err := p.servers.Get(ctx, t.Server)
	if err != nil {
		return nil, err
	}
	return t, srv.WithTenantDB(ctx, t.DatabaseName, t.DBUser, pw, fn)
}

// Invite creates an invitation in an active tenant on behalf of a central
// admin (how a tenant created without an admin gets its first one). A
// superadmin may invite into any active tenant; a plain admin only into one
// without an active tenant_admin (tenantdb.ErrTenantHasAdmin otherwise).
// by is nil for the operator's command line, which invites as a superadmin
// does and is named in both logs by the actor in ctx. The invitation is
// audited in the tenant's log by the admin and in the central log
// (tenant.invite); a refusal for an existing tenant_admin is audited in
// the central log too. The token is returned once.
func (p *Provisioner) Invite(ctx context.Context, slug string, by *central.Admin, requestID, email, role string) (*tenantdb.Invitation, string, error) {
	if p.opts.Audit == nil {
		return nil, "", errNoCentralAudit
	}
	var caller *tenantdb.Caller
	switch {
	case by == nil:
		operator := central.ActorFrom(ctx)
		caller = tenantdb.CentralCaller(operator.ID, requestID)
		caller.Kind = operator.Kind
	case by.Role == central.RoleSuperadmin:
		caller = tenantdb.CentralCaller(by.ID, requestID)
	default:
		caller = tenantdb.CentralFirstAdminCaller(by.ID, requestID)
	}
	var inv *tenantdb.Invitation
	var raw string
	t, err := p.withActiveTenant(ctx, slug, func(db *sqlx.DB) error {
		var err error
		inv, raw, err = tenantdb.CreateInvitation(ctx, db, caller, email, role)
		return err
	})
	if errors.Is(err, tenantdb.ErrTenantHasAdmin) {
		// Both passed validation before the refusal: a plain address, a role of the tenant.
		detail := strings.ToLower(strings.TrimSpace(email)) + " as " + role + ": refused, the tenant has an active tenant_admin"
		if aerr := p.opts.Audit.Record(ctx, "tenant.invite", "tenant", slug, central.OutcomeFailure, detail); aerr != nil {
			p.log.ErrorContext(ctx, "recording a refused invitation failed", "request_id", requestID, "err", aerr)
		}
	}
	if err != nil {
		return nil, "", err
	}
	if err := p.opts.Audit.Record(ctx, "tenant.invite", "tenant", t.Slug, central.OutcomeSuccess, inv.Email+" as "+inv.Role); err != nil {
		return nil, "", err
	}
	return inv, raw, nil
}

// Impersonation is a short-lived token of a tenant user that names the
// central admin acting as them.
type Impersonation struct {
	Tenant      *central.Tenant
	User        *tenantdb.User
	AccessToken string
	ExpiresIn   int // seconds
}

// UserRef names a tenant user by id or by email: exactly one of the two.
type UserRef struct {
	ID, Email string
}

// check validates r and returns it with its email normalised.
func (r UserRef) check() (UserRef, error) {
	switch {
	case r.ID == "" && r.Email == "":
		return r, apperr.Validation(apperr.FieldError{Field: "userId", Message: "is required (or email)"})
	case r.ID != "" && r.Email != "":
		return r, apperr.Validation(apperr.FieldError{Field: "email", Message: "give userId or email, not both"})
	case r.ID != "" && !isUUID(r.ID):
		return r, apperr.Validation(apperr.FieldError{Field: "userId", Message: "must be a user id"})
	case r.Email != "":
		email, ok := login.NormalizeEmail(r.Email)
		if !ok {
			return r, apperr.Validation(apperr.FieldError{Field: "email", Message: "must be an email address"})
		}
		r.Email = email
	}
	return r, nil
}

// find returns the user r names, or tenantdb.ErrUserNotFound.
func (r UserRef) find(ctx context.Context, db sqlx.QueryerContext) (*tenantdb.User, error) {
	if r.ID != "" {
		return tenantdb.UserByID(ctx, db, r.ID)
	}
	return tenantdb.UserByEmail(ctx, db, r.Email)
}

// Impersonate gives a central admin a token of the user who names, an
// active user of an active tenant, whose act claim names the admin. Both
// audit logs (the tenant's: impersonation.start; the central one:
// tenant.impersonate) are written before the token is issued, so no
// impersonation goes unrecorded.
func (p *Provisioner) Impersonate(ctx context.Context, slug string, who UserRef, adminID, requestID string) (*Impersonation, error) {
	if p.opts.Audit == nil || p.opts.Keys == nil {
		return nil, errNoCentralAudit
	}
	who, err := who.check()
	if err != nil {
		return nil, err
	}
	var u *tenantdb.User
	t, err := p.withActiveTenant(ctx, slug, func(db *sqlx.DB) error {
		var err error
		if u, err = who.find(ctx, db); err != nil {
			return err
		}
		if !u.IsActive {
			return tenantdb.ErrUserNotFound
		}
		return tenantdb.Audit(ctx, db, p.now(), tenantdb.CentralCaller(adminID, requestID), "impersonation.start", "user", u.ID, u.Email)
	})
	if err != nil {
		return nil, err
	}
	if err := p.opts.Audit.Record(ctx, "tenant.impersonate", "tenant", t.Slug, central.OutcomeSuccess, "user "+u.ID+" ("+u.Email+")"); err != nil {
		return nil, err
	}
	tok, err := p.opts.Keys.Issue(token.TenantAudience(t.Slug), u.ID, token.Claims{
		Email: u.Email, TenantID: t.Slug, Actor: &token.Actor{Subject: adminID},
	})
	if err != nil {
		return nil, err
	}
	return &Impersonation{Tenant: t, User: u, AccessToken: tok, ExpiresIn: int(p.opts.Keys.TTL().Seconds())}, nil
}
