package tenantdb

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/internal/lib/dberr"
	"github.com/silo-dev/silo/internal/lib/login"
	"github.com/silo-dev/silo/internal/lib/opaque"
)

// InvitationTTL is how long an invitation can be accepted.
const InvitationTTL = 7 * 24 * time.Hour

const invitationPrefix = "silo_inv_"

// Invitation is a stored invitation; its token is never stored.
type Invitation struct {
	ID         string         `db:"id"`
	Email      string         `db:"email"`
	Role       string         `db:"role_name"`
	CreatedBy  string         `db:"created_by"`
	CreatedAt  time.Time      `db:"created_at"`
	ExpiresAt  time.Time      `db:"expires_at"`
	AcceptedAt sql.NullTime   `db:"accepted_at"`
	AcceptedBy sql.NullString `db:"accepted_by"`
	RevokedAt  sql.NullTime   `db:"revoked_at"`
}

// Status is pending, accepted, revoked or expired.
func (i *Invitation) Status() string {
	switch {
	case i.AcceptedAt.Valid:
		return "accepted"
	case i.RevokedAt.Valid:
		return "revoked"
	case !time.Now().Before(i.ExpiresAt):
		return "expired"
	}
	return "pending"
}

const invitationColumns = "id, email, role_name, created_by, created_at, expires_at, accepted_at, accepted_by, revoked_at"

// Invitation errors: each names what is wrong with the token.
var (
	ErrInvitationNotFound = apperr.New(apperr.NotFound, "NOT_FOUND", "Invitation not found")
	ErrInvitationInvalid  = apperr.New(apperr.Invalid, "INVITATION_INVALID", "This invitation token is not valid for this tenant")
	ErrInvitationUsed     = apperr.New(apperr.Conflict, "INVITATION_USED", "This invitation has already been accepted")
	ErrInvitationRevoked  = apperr.New(apperr.Conflict, "INVITATION_REVOKED", "This invitation has been revoked")
	ErrInvitationExpired  = apperr.New(apperr.Conflict, "INVITATION_EXPIRED", "This invitation has expired")
	ErrInvitationEmail    = apperr.New(apperr.Forbidden, "FORBIDDEN", "This invitation is for another email address")
	ErrInvitationRole     = apperr.New(apperr.Conflict, "INVITATION_ROLE_GONE", "The role this invitation grants no longer exists; ask for a new invitation")
)

// CentralCaller is a central superadmin acting on a tenant through the
// central API: it may grant any role.
func CentralCaller(adminID, requestID string) *Caller {
	return &Caller{Kind: "central_admin", ID: adminID, RequestID: requestID, Permissions: Permissions}
}

// CentralFirstAdminCaller is a plain central admin acting on a tenant
// through the central API: like CentralCaller, but CreateInvitation refuses
// it (ErrTenantHasAdmin) once the tenant has an active tenant_admin, so that
// it can give a tenant its first administrator and never make itself one of
// a tenant that has one.
func CentralFirstAdminCaller(adminID, requestID string) *Caller {
	c := CentralCaller(adminID, requestID)
	c.firstAdminOnly = true
	return c
}

// ErrTenantHasAdmin refuses a plain central admin's invitation into a
// tenant that already has an active tenant_admin.
var ErrTenantHasAdmin = apperr.New(apperr.Forbidden, "FORBIDDEN",
	"This tenant already has an active tenant_admin: only a superadmin may invite into it")

// CreateInvitation invites email to the tenant with role; the caller must
// hold every permission of the role. The token is returned once.
func (st *Store) CreateInvitation(ctx context.Context, caller *Caller, rawEmail, role string) (*Invitation, string, error) {
	var v apperr.Validator
	email := login.CheckEmail(&v, "email", rawEmail)
	v.Check(role != "", "role", "is required")
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	perms, err := permissionsOf(ctx, st.db, []string{role})
	if err != nil {
		return nil, "", apperr.Validation(apperr.FieldError{Field: "role", Message: errUnknownRoleName + role})
	}
	if !caller.Covers(perms) {
		return nil, "", ErrEscalation
	}
	raw := opaque.New(invitationPrefix)
	now := st.now()
	inv := &Invitation{ID: uuid.Must(uuid.NewV7()).String(), Email: email, Role: role, CreatedBy: caller.ActorID(),
		CreatedAt: now, ExpiresAt: now.Add(InvitationTTL)}
	err = dberr.InTx(ctx, st.db, func(tx *sqlx.Tx) error {
		if err := firstAdminOnly(ctx, tx, caller); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO invitations (id, email, role_name, token_hash, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
			inv.ID, inv.Email, inv.Role, opaque.Hash(raw), inv.CreatedBy, inv.CreatedAt, inv.ExpiresAt)
		if err != nil {
			return dberr.Translate(err)
		}
		return st.Audit(ctx, tx, caller, "invitation.create", "invitation", inv.ID, email+" as "+role)
	})
	if err != nil {
		return nil, "", err
	}
	return inv, raw, nil
}

// firstAdminOnly refuses a first-admin-only caller when the tenant has an
// active tenant_admin. It holds the admins lock for the rest of tx, so the
// answer stays true until the invitation is written.
func firstAdminOnly(ctx context.Context, tx *sqlx.Tx, caller *Caller) error {
	if !caller.firstAdminOnly {
		return nil
	}
	if err := lockAdmins(ctx, tx); err != nil {
		return err
	}
	n, err := countAdmins(ctx, tx)
	if err != nil {
		return err
	}
	if n > 0 {
		return ErrTenantHasAdmin
	}
	return nil
}

// inviterMayStill applies the first-admin rule again when an invitation is
// accepted: one whose creator is neither a user or API key of this tenant
// nor an active superadmin (a plain central admin, or a creator since
// removed) is accepted only while the tenant has no active tenant_admin.
// Otherwise a plain admin could invite itself while the tenant had none and
// accept after the tenant got one. It holds the admins lock for the rest of
// tx.
func (st *Store) inviterMayStill(ctx context.Context, tx *sqlx.Tx, inv *Invitation) error {
	if _, err := UserByID(ctx, tx, inv.CreatedBy); !errors.Is(err, ErrUserNotFound) {
		return err // a user of this tenant (nil), or the lookup failed
	}
	if k, err := getKey(ctx, tx, keyByID, inv.CreatedBy); err != nil || k != nil {
		return err
	}
	if _, err := uuid.Parse(inv.CreatedBy); err == nil && st.auth.impersonators != nil {
		super, err := st.auth.impersonators(ctx, inv.CreatedBy)
		if err != nil || super {
			return err
		}
	}
	err := firstAdminOnly(ctx, tx, &Caller{firstAdminOnly: true})
	if errors.Is(err, ErrTenantHasAdmin) {
		return ErrInviterNoLongerMay
	}
	return err
}

// ErrInviterNoLongerMay refuses an invitation whose creator could not make
// it now (see inviterMayStill).
var ErrInviterNoLongerMay = apperr.New(apperr.Forbidden, "FORBIDDEN",
	"This invitation was for the tenant's first tenant_admin, which it now has: ask a tenant admin for a new invitation")

// Invitations lists the tenant's invitations, newest first.
func (st *Store) Invitations(ctx context.Context) ([]Invitation, error) {
	var out []Invitation
	err := sqlx.SelectContext(ctx, st.db, &out, "SELECT "+invitationColumns+" FROM invitations ORDER BY id DESC")
	return out, dberr.Translate(err)
}

// RevokeInvitation revokes a pending invitation.
func (st *Store) RevokeInvitation(ctx context.Context, caller *Caller, id string) error {
	if !isUUID(id) {
		return ErrInvitationNotFound
	}
	return dberr.InTx(ctx, st.db, func(tx *sqlx.Tx) error {
		var inv Invitation
		err := tx.GetContext(ctx, &inv, "SELECT "+invitationColumns+" FROM invitations WHERE id = ? FOR UPDATE", id)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrInvitationNotFound
		}
		if err != nil {
			return dberr.Translate(err)
		}
		if inv.AcceptedAt.Valid {
			return ErrInvitationUsed
		}
		if inv.RevokedAt.Valid {
			return nil
		}
		if _, err := tx.ExecContext(ctx, "UPDATE invitations SET revoked_at = ? WHERE id = ?", st.now(), id); err != nil {
			return dberr.Translate(err)
		}
		return st.Audit(ctx, tx, caller, "invitation.revoke", "invitation", id, inv.Email)
	})
}

// Acceptance is how an invitation is accepted: as a new account (NewUser)
// or by an existing user of the tenant (Existing, their authenticated self).
type Acceptance struct {
	Token     string
	RequestID string
	NewUser   *NewUser // Email is taken from the invitation
	Existing  *Caller
	ClientIP  string // limits acceptances per client IP
}

// pendingInvitation returns the pending invitation of token, or the error
// that says why it cannot be accepted.
// With forUpdate the row is locked for the caller's transaction.
func pendingInvitation(ctx context.Context, q sqlx.QueryerContext, token string, forUpdate bool) (*Invitation, error) {
	query := "SELECT " + invitationColumns + " FROM invitations WHERE token_hash = ?"
	if forUpdate {
		query += " FOR UPDATE"
	}
	var inv Invitation
	err := sqlx.GetContext(ctx, q, &inv, query, opaque.Hash(token))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrInvitationInvalid
	}
	if err != nil {
		return nil, dberr.Translate(err)
	}
	switch inv.Status() {
	case "accepted":
		return nil, ErrInvitationUsed
	case "revoked":
		return nil, ErrInvitationRevoked
	case "expired":
		return nil, ErrInvitationExpired
	}
	return &inv, nil
}

// acceptable checks, without locking, that token names a pending
// invitation whose email has no account yet.
func acceptable(ctx context.Context, db *sqlx.DB, token string) error {
	inv, err := pendingInvitation(ctx, db, token, false)
	if err != nil {
		return err
	}
	if u, err := userByEmail(ctx, db, inv.Email); err != nil {
		return err
	} else if u != nil {
		return login.ErrUserExists
	}
	return nil
}

// AcceptInvitation spends an invitation token once: it creates the invited
// account with the invitation's role, or adds the role to the caller's
// account when their email is the invited one.
func (st *Store) AcceptInvitation(ctx context.Context, in Acceptance) (*UserView, error) {
	if err := st.auth.guard.AllowAccept(ctx, in.ClientIP); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(in.Token, invitationPrefix) || len(in.Token) > 100 {
		return nil, ErrInvitationInvalid
	}
	var hash string
	if in.NewUser != nil {
		var v apperr.Validator
		in.NewUser.CheckWithoutEmail(&v, "")
		if err := v.Err(); err != nil {
			return nil, err
		}
		// Hash only for an invitation that can be accepted: a wrong token
		// costs a lookup, never a bcrypt. The transaction checks again.
		if err := acceptable(ctx, st.db, in.Token); err != nil {
			return nil, err
		}
		var err error
		if hash, err = st.auth.guard.Hash(ctx, in.NewUser.Password); err != nil {
			return nil, err
		}
	}
	var userID string
	err := st.authzTx(ctx, func(tx *sqlx.Tx) error {
		inv, err := pendingInvitation(ctx, tx, in.Token, true)
		if err != nil {
			return err
		}
		if err := st.inviterMayStill(ctx, tx, inv); err != nil {
			return err
		}
		caller := in.Existing
		if caller != nil {
			if caller.User == nil || caller.User.Email != inv.Email {
				return ErrInvitationEmail
			}
			userID = caller.User.ID
		} else {
			if u, err := userByEmail(ctx, tx, inv.Email); err != nil {
				return err
			} else if u != nil {
				return login.ErrUserExists
			}
			now := st.now()
			u := &User{ID: uuid.Must(uuid.NewV7()).String(), Email: inv.Email, PasswordHash: hash,
				FirstName: in.NewUser.FirstName, LastName: in.NewUser.LastName, IsActive: true, CreatedAt: now, UpdatedAt: now}
			_, err := tx.ExecContext(ctx,
				"INSERT INTO users (id, email, password_hash, first_name, last_name, is_active, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?)",
				u.ID, u.Email, u.PasswordHash, u.FirstName, u.LastName, u.CreatedAt, u.UpdatedAt)
			if dberr.IsDuplicate(err) {
				return login.ErrUserExists
			}
			if err != nil {
				return dberr.Translate(err)
			}
			userID = u.ID
			caller = &Caller{User: u, RequestID: in.RequestID}
		}
		// Not INSERT IGNORE: that would also swallow the foreign key of a role
		// deleted since the invitation was made, and accept it with no role.
		_, err = tx.ExecContext(ctx, "INSERT INTO user_roles (user_id, role_name) VALUES (?, ?) ON DUPLICATE KEY UPDATE role_name = role_name", userID, inv.Role)
		if dberr.IsMissingParent(err) {
			return ErrInvitationRole
		}
		if err != nil {
			return dberr.Translate(err)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE invitations SET accepted_at = ?, accepted_by = ? WHERE id = ?", st.now(), userID, inv.ID); err != nil {
			return dberr.Translate(err)
		}
		return st.Audit(ctx, tx, caller, "invitation.accept", "invitation", inv.ID, inv.Email+" as "+inv.Role)
	})
	if err != nil {
		return nil, err
	}
	return st.GetUser(ctx, userID)
}

// CreateInvitation is Store.CreateInvitation on db, for the lifecycle
// (provisioning), which works on a tenant's database outside a request.
func CreateInvitation(ctx context.Context, db *sqlx.DB, caller *Caller, rawEmail, role string) (*Invitation, string, error) {
	return (&Store{db: db}).CreateInvitation(ctx, caller, rawEmail, role)
}
