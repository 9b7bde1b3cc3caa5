package tenantdb

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/internal/lib/clock"
	"github.com/silo-dev/silo/internal/lib/dberr"
	"github.com/silo-dev/silo/internal/lib/login"
	"github.com/silo-dev/silo/internal/lib/refresh"
	"github.com/silo-dev/silo/internal/lib/token"
)

// Auth is what the stores of every tenant share, and the only part of the
// tenant plane not bound to one tenant's database: the keys that sign and
// verify tokens, the login guard (rate limits, password hashing), the
// refresh-token lifetime, the log and the impersonator check. Auth.Store
// binds it to a tenant's database; tokens are bound to the tenant by their
// audience (silo:tenant:<slug>) and tid claim.
type Auth struct {
	keys          *token.Keys
	guard         *login.Guard
	refresh       refresh.Tokens
	log           *slog.Logger
	impersonators ImpersonatorCheck
	now           clock.Clock
	// callers caches authenticated callers (nil: none); announce tells
	// the other instances of a change to a tenant's authorization.
	callers  *CallerCache
	announce func(ctx context.Context, tenantID string)
}

// ImpersonatorCheck reports whether the central admin adminID may still act
// as a tenant user (exists, is active, is a superadmin), as the central
// database has them now.
type ImpersonatorCheck func(ctx context.Context, adminID string) (bool, error)

// NewAuth returns what tenant stores share.
func NewAuth(keys *token.Keys, guard *login.Guard, refreshTTL time.Duration, log *slog.Logger) *Auth {
	return &Auth{keys: keys, guard: guard, refresh: refresh.Tokens{TTL: refreshTTL, Now: clock.System}, log: log, now: clock.System}
}

// SetClock makes every Store of a stamp the times it writes with c.
func (a *Auth) SetClock(c clock.Clock) { a.now, a.refresh.Now = c, c }

// CheckImpersonators sets how tokens carrying an act claim (a central admin
// impersonating a user) are checked on every request, and returns a. Without
// it, such tokens are refused.
func (a *Auth) CheckImpersonators(check ImpersonatorCheck) *Auth {
	a.impersonators = check
	return a
}

// CacheCallers makes every Store of a keep the callers it authenticates in
// c, and report each committed change to what a tenant's callers may do to
// announce, which records it where the other instances look for it (the
// central database's tenant_auth_epochs); it returns a.
func (a *Auth) CacheCallers(c *CallerCache, announce func(ctx context.Context, tenantID string)) *Auth {
	a.callers, a.announce = c, announce
	return a
}

// CallerStats returns the authentications answered from the cache of
// callers (hits) and those read from the tenant database while it was in
// use (misses); zero without a cache.
func (a *Auth) CallerStats() (hits, misses int64) { return a.callers.Stats() }

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

// Register creates a member of the tenant, if the tenant allows sign-up.
// Public sign-up never grants more than the member role. Sign-ups are
// limited per client IP and per tenant before any other work, and the
// password is hashed only once everything else is known to be right.
func (st *Store) Register(ctx context.Context, clientIP string, in NewUser) (*User, error) {
	if err := st.auth.guard.AllowSignup(ctx, clientIP, st.slug); err != nil {
		return nil, err
	}
	var v apperr.Validator
	email := in.Check(&v, "")
	if err := v.Err(); err != nil {
		return nil, err
	}
	open, err := publicSignup(ctx, st.db)
	if err != nil {
		return nil, err
	}
	if !open {
		return nil, ErrSignupClosed
	}
	if u, err := userByEmail(ctx, st.db, email); err != nil {
		return nil, err
	} else if u != nil {
		return nil, login.ErrUserExists
	}
	hash, err := st.auth.guard.Hash(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	now := st.now()
	u := &User{ID: uuid.Must(uuid.NewV7()).String(), Email: email, PasswordHash: hash,
		FirstName: in.FirstName, LastName: in.LastName, IsActive: true, CreatedAt: now, UpdatedAt: now}
	if err := CreateUser(ctx, st.db, u, RoleMember); err != nil {
		return nil, err
	}
	return u, nil
}

// Login checks a tenant user's credentials and starts a session. An
// inactive user is answered as a wrong password, whatever the password.
func (st *Store) Login(ctx context.Context, clientIP, rawEmail, password string) (*Session, error) {
	var u *User
	err := st.auth.guard.Attempt(ctx, clientIP, "tenant:"+st.slug, rawEmail, password, func(email string) (string, bool, error) {
		var err error
		u, err = userByEmail(ctx, st.db, email)
		if u == nil {
			return "", false, err
		}
		hash, usable := login.Usable(u.PasswordHash, u.IsActive)
		return hash, usable, nil
	}, func(hash string) error {
		_, err := st.db.ExecContext(ctx, "UPDATE users SET password_hash = ? WHERE id = ?", hash, u.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	raw, err := st.auth.refresh.Start(ctx, st.db, u.ID)
	if err != nil {
		return nil, err
	}
	return st.session(u, raw)
}

func (st *Store) session(u *User, refreshToken string) (*Session, error) {
	access, err := st.auth.keys.Issue(token.TenantAudience(st.slug), u.ID, token.Claims{Email: u.Email, TenantID: st.slug})
	if err != nil {
		return nil, err
	}
	return &Session{AccessToken: access, ExpiresIn: int(st.auth.keys.TTL().Seconds()), RefreshToken: refreshToken, User: u}, nil
}

// Refresh rotates a tenant refresh token (reuse revokes its family).
func (st *Store) Refresh(ctx context.Context, raw string) (*Session, error) {
	if err := refresh.CheckFormat(raw); err != nil {
		return nil, err
	}
	var u *User
	var out refresh.Outcome
	err := dberr.InTx(ctx, st.db, func(tx *sqlx.Tx) error {
		var err error
		out, err = st.auth.refresh.Rotate(ctx, tx, raw, func(userID string) (bool, error) {
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
			st.auth.log.WarnContext(ctx, "refresh token reuse: family revoked", "tenant", st.slug, "user", out.UserID)
		}
		return nil, out.Refused
	}
	return st.session(u, out.Next)
}

// Logout revokes the family of a refresh token; unknown tokens are ignored.
func (st *Store) Logout(ctx context.Context, raw string) error {
	if err := refresh.CheckFormat(raw); err != nil {
		return err
	}
	return dberr.InTx(ctx, st.db, func(tx *sqlx.Tx) error {
		_, err := st.auth.refresh.Revoke(ctx, tx, raw)
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

// Authenticate verifies an access token for the tenant and loads its user,
// roles and permissions from the tenant database, or from the cache of
// callers, which every change made through a Store ends (see CallerCache): a
// removed or deactivated user is refused, and role changes apply, from the
// next request on. A
// token carrying an act claim is refused as soon as its central admin is no
// longer an active superadmin (see CheckImpersonators).
func (st *Store) Authenticate(ctx context.Context, raw string) (*Caller, error) {
	claims, err := st.auth.keys.Verify(raw, token.TenantAudience(st.slug))
	switch {
	case errors.Is(err, token.ErrExpired):
		return nil, token.ErrAccessExpired
	case err != nil, claims.TenantID != st.slug, claims.IsCentralAdmin:
		return nil, token.ErrBadAccessToken
	}
	if _, err := uuid.Parse(claims.Subject); err != nil {
		return nil, token.ErrBadAccessToken
	}
	if claims.Actor != nil {
		if err := st.auth.checkImpersonator(ctx, claims.Actor.Subject); err != nil {
			return nil, err
		}
	}
	c, err := st.userCaller(ctx, claims.Subject)
	if err != nil {
		return nil, err
	}
	if claims.Actor != nil {
		c.ImpersonatedBy = claims.Actor.Subject
	}
	return c, nil
}

// userCaller returns the active user id with its roles and permissions,
// from the cache when it holds them for the tenant's current authorization
// (see CallerCache), else from the tenant database.
func (st *Store) userCaller(ctx context.Context, id string) (*Caller, error) {
	key := cacheKey{tenant: st.tenantID, kind: 'u', id: id}
	e, gen, use := st.auth.callers.lookup(key)
	if e != nil {
		u := e.user.user
		return &Caller{User: &u, Roles: e.user.roles, Permissions: e.user.perms}, nil
	}
	u, roles, perms, err := userWithRoles(ctx, st.db, id)
	if errors.Is(err, ErrUserNotFound) || (err == nil && !u.IsActive) {
		return nil, token.ErrBadAccessToken
	}
	if err != nil {
		return nil, err
	}
	if use {
		cu := &cachedUser{user: *u, roles: slices.Clip(roles), perms: slices.Clip(perms)}
		cu.user.PasswordHash = "" // not needed to authorize, not kept
		st.auth.callers.store(&cacheEntry{key: key, user: cu}, gen, maxExpiry)
	}
	return &Caller{User: u, Roles: roles, Permissions: perms}, nil
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
