package tenantdb

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/internal/apperr"
	"github.com/silo-dev/silo/internal/clock"
	"github.com/silo-dev/silo/internal/dberr"
	"github.com/silo-dev/silo/internal/login"
	"github.com/silo-dev/silo/internal/refresh"
	"github.com/silo-dev/silo/internal/token"
)

// Auth authenticates tenant users against their own tenant's database.
// Every method takes the tenant's slug and its pooled database; tokens are
// bound to the tenant by their audience (silo:tenant:<slug>) and tid claim.
type Auth struct {
	keys          *token.Keys
	guard         *login.Guard
	refreshTTL    time.Duration
	log           *slog.Logger
	impersonators ImpersonatorCheck
}

// ImpersonatorCheck reports whether the central admin adminID may still act
// as a tenant user (exists, is active, is a superadmin), as the central
// database has them now.
type ImpersonatorCheck func(ctx context.Context, adminID string) (bool, error)

// NewAuth returns tenant-user authentication.
func NewAuth(keys *token.Keys, guard *login.Guard, refreshTTL time.Duration, log *slog.Logger) *Auth {
	return &Auth{keys: keys, guard: guard, refreshTTL: refreshTTL, log: log}
}

// CheckImpersonators sets how tokens carrying an act claim (a central admin
// impersonating a user) are checked on every request, and returns a. Without
// it, such tokens are refused.
func (a *Auth) CheckImpersonators(check ImpersonatorCheck) *Auth {
	a.impersonators = check
	return a
}

// Session is what a tenant login or refresh hands out.
type Session struct {
	AccessToken  string
	ExpiresIn    int
	RefreshToken string
	User         *User
}

// ErrSignupClosed refuses a sign-up to a tenant that does not allow it.
var ErrSignupClosed = apperr.New(apperr.Forbidden, "FORBIDDEN", "This tenant does not allow public sign-up")

// NewUser is the input of Register, AddUser and AcceptInvitation.
type NewUser = login.NewUser

// Register creates a member of tenant slug, if the tenant allows sign-up.
// Public sign-up never grants more than the member role. Sign-ups are
// limited per client IP and per tenant before any other work, and the
// password is hashed only once everything else is known to be right.
func (a *Auth) Register(ctx context.Context, db *sqlx.DB, slug, clientIP string, in NewUser) (*User, error) {
	if err := a.guard.AllowSignup(ctx, clientIP, slug); err != nil {
		return nil, err
	}
	var v apperr.Validator
	email := in.Check(&v, "")
	if err := v.Err(); err != nil {
		return nil, err
	}
	open, err := PublicSignup(ctx, db)
	if err != nil {
		return nil, err
	}
	if !open {
		return nil, ErrSignupClosed
	}
	if u, err := UserByEmail(ctx, db, email); err != nil {
		return nil, err
	} else if u != nil {
		return nil, login.ErrUserExists
	}
	hash, err := a.guard.Hash(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	now := clock.Now()
	u := &User{ID: uuid.Must(uuid.NewV7()).String(), Email: email, PasswordHash: hash,
		FirstName: in.FirstName, LastName: in.LastName, IsActive: true, CreatedAt: now, UpdatedAt: now}
	if err := CreateUser(ctx, db, u, RoleMember); err != nil {
		return nil, err
	}
	return u, nil
}

// Login checks a tenant user's credentials and starts a session. An
// inactive user is answered as a wrong password, whatever the password.
func (a *Auth) Login(ctx context.Context, db *sqlx.DB, slug, clientIP, rawEmail, password string) (*Session, error) {
	var u *User
	err := a.guard.Attempt(ctx, clientIP, "tenant:"+slug, rawEmail, password, func(email string) (string, bool, error) {
		var err error
		u, err = UserByEmail(ctx, db, email)
		if u == nil {
			return "", false, err
		}
		hash, usable := login.Usable(u.PasswordHash, u.IsActive)
		return hash, usable, nil
	}, func(hash string) error {
		_, err := db.ExecContext(ctx, "UPDATE users SET password_hash = ? WHERE id = ?", hash, u.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	raw, err := refresh.Start(ctx, db, u.ID, a.refreshTTL)
	if err != nil {
		return nil, err
	}
	return a.session(slug, u, raw)
}

func (a *Auth) session(slug string, u *User, refreshToken string) (*Session, error) {
	access, err := a.keys.Issue(token.TenantAudience(slug), u.ID, token.Claims{Email: u.Email, TenantID: slug})
	if err != nil {
		return nil, err
	}
	return &Session{AccessToken: access, ExpiresIn: int(a.keys.TTL().Seconds()), RefreshToken: refreshToken, User: u}, nil
}

// Refresh rotates a tenant refresh token (reuse revokes its family).
func (a *Auth) Refresh(ctx context.Context, db *sqlx.DB, slug, raw string) (*Session, error) {
	if err := refresh.CheckFormat(raw); err != nil {
		return nil, err
	}
	var u *User
	var out refresh.Outcome
	err := dberr.InTx(ctx, db, func(tx *sqlx.Tx) error {
		var err error
		out, err = refresh.Rotate(ctx, tx, raw, a.refreshTTL, func(userID string) (bool, error) {
			var err error
			u, err = UserByID(ctx, tx, userID)
			if errors.Is(err, ErrUserNotFound) {
				return false, nil
			}
			return err == nil && u.IsActive, err
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	if out.Refused != nil {
		if out.Refused == refresh.ErrReused {
			a.log.WarnContext(ctx, "refresh token reuse: family revoked", "tenant", slug, "user", out.UserID)
		}
		return nil, out.Refused
	}
	return a.session(slug, u, out.Next)
}

// Logout revokes the family of a refresh token; unknown tokens are ignored.
func (a *Auth) Logout(ctx context.Context, db *sqlx.DB, raw string) error {
	if err := refresh.CheckFormat(raw); err != nil {
		return err
	}
	return dberr.InTx(ctx, db, func(tx *sqlx.Tx) error {
		_, err := refresh.Revoke(ctx, tx, raw)
		return err
	})
}

// Caller is an authenticated tenant user (or API key) as the database has
// them now.
type Caller struct {
	User        *User   // nil for an API key
	APIKey      *APIKey // set for an API key
	Roles       []string
	Permissions []string
	// ImpersonatedBy is the central admin acting as this user, if any.
	ImpersonatedBy string
	// RequestID is written to the tenant audit log with the caller's changes.
	RequestID string
	// Kind and ID name a caller that is neither a user nor a key (a central
	// admin acting through the central API, "central_admin").
	Kind, ID string
	// keyChain is, for an API key, how many keys stand between the request
	// and the user at the root of its creators (the key included).
	keyChain int
	// firstAdminOnly limits a central caller to tenants without an active
	// tenant_admin (a plain central admin; see CentralFirstAdminCaller).
	firstAdminOnly bool
}

// Authenticate verifies an access token for tenant slug and loads its user,
// roles and permissions from the tenant database: a removed or deactivated
// user is refused at once, and role changes apply to the next request. A
// token carrying an act claim is refused as soon as its central admin is no
// longer an active superadmin (see CheckImpersonators).
func (a *Auth) Authenticate(ctx context.Context, db *sqlx.DB, slug, raw string) (*Caller, error) {
	claims, err := a.keys.Verify(raw, token.TenantAudience(slug))
	switch {
	case errors.Is(err, token.ErrExpired):
		return nil, token.ErrAccessExpired
	case err != nil, claims.TenantID != slug, claims.IsCentralAdmin:
		return nil, token.ErrBadAccessToken
	}
	if _, err := uuid.Parse(claims.Subject); err != nil {
		return nil, token.ErrBadAccessToken
	}
	if claims.Actor != nil {
		if err := a.checkImpersonator(ctx, claims.Actor.Subject); err != nil {
			return nil, err
		}
	}
	u, roles, perms, err := UserWithRoles(ctx, db, claims.Subject)
	if errors.Is(err, ErrUserNotFound) || (err == nil && !u.IsActive) {
		return nil, token.ErrBadAccessToken
	}
	if err != nil {
		return nil, err
	}
	c := &Caller{User: u, Roles: roles, Permissions: perms}
	if claims.Actor != nil {
		c.ImpersonatedBy = claims.Actor.Subject
	}
	return c, nil
}

// checkImpersonator admits an impersonation only while its central admin
// may still impersonate; the central database is asked on every request.
func (a *Auth) checkImpersonator(ctx context.Context, adminID string) error {
	if _, err := uuid.Parse(adminID); err != nil || a.impersonators == nil {
		return token.ErrBadAccessToken
	}
	ok, err := a.impersonators(ctx, adminID)
	if err != nil {
		return err
	}
	if !ok {
		return token.ErrBadAccessToken
	}
	return nil
}
