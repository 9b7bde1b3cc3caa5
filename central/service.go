package central

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/internal/lib/clock"
	"github.com/silo-dev/silo/internal/lib/dberr"
	"github.com/silo-dev/silo/internal/lib/login"
	"github.com/silo-dev/silo/internal/lib/page"
	"github.com/silo-dev/silo/internal/lib/refresh"
	"github.com/silo-dev/silo/internal/lib/token"
)

// Service implements central-admin authentication and administration.
type Service struct {
	db      *sqlx.DB
	audit   *Audit
	keys    *token.Keys
	guard   *login.Guard
	refresh refresh.Tokens
	log     *slog.Logger
	now     clock.Clock
}

// NewService returns a Service on the central database db.
func NewService(db *sqlx.DB, keys *token.Keys, guard *login.Guard, refreshTTL time.Duration, log *slog.Logger) *Service {
	return &Service{db: db, audit: NewAudit(db), keys: keys, guard: guard, refresh: refresh.Tokens{TTL: refreshTTL, Now: clock.System}, log: log, now: clock.System}
}

// SetClock makes the service stamp the times it writes with c.
func (s *Service) SetClock(c clock.Clock) { s.now, s.audit.now, s.refresh.Now = c, c, c }

// Audit returns the central audit log the service writes to: Silo's one
// instance, as it bounds the failed-login entries it records.
func (s *Service) Audit() *Audit { return s.audit }

// Ping checks that the central database answers.
func (s *Service) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return dberr.Unavailable(err)
	}
	return nil
}

// Session is what a login or refresh hands out.
type Session struct {
	AccessToken  string
	ExpiresIn    int // seconds
	RefreshToken string
	Admin        *Admin
}

// NewAdmin is the input to Register and Create.
type NewAdmin struct {
	Email, Password, FirstName, LastName, Role string
}

// AdminPatch changes an admin; nil fields are left alone.
type AdminPatch struct {
	FirstName, LastName, Role *string
	IsActive                  *bool
}

// Errors of the central plane.
var (
	ErrRegistrationShut = apperr.New(apperr.Unauthenticated, "UNAUTHENTICATED", "Registration is closed: a superadmin must register new central admins")
	ErrLastSuperadmin   = apperr.New(apperr.Conflict, "CONFLICT", "The last active superadmin cannot be removed, demoted or deactivated")
	ErrFirstMustBeSuper = apperr.Validation(apperr.FieldError{Field: "role", Message: "the first central admin must be a superadmin"})
	errAdminNotFound    = apperr.New(apperr.NotFound, "NOT_FOUND", "Central admin not found")
)

func validRole(r string) bool { return r == RoleAdmin || r == RoleSuperadmin }

// validate checks every field of a new admin and returns it normalised.
func (in NewAdmin) validate(defaultRole string) (NewAdmin, error) {
	var v apperr.Validator
	email := login.NewUser{Email: in.Email, Password: in.Password, FirstName: in.FirstName, LastName: in.LastName}.Check(&v, "")
	if in.Role == "" {
		in.Role = defaultRole
	}
	v.Check(validRole(in.Role), "role", "must be admin or superadmin")
	in.Email = email
	return in, v.Err()
}

// Register creates a central admin through the API. While no admin exists
// anyone may register the first one, which must be a superadmin; afterwards
// only an active superadmin (actor) may.
func (s *Service) Register(ctx context.Context, actor *Admin, in NewAdmin) (*Admin, error) {
	// Refuse early, before spending bcrypt time on a request that cannot succeed.
	n, err := countAdmins(ctx, s.db)
	if err != nil {
		return nil, err
	}
	bootstrap := n == 0
	if err := authorizeRegister(bootstrap, actor); err != nil {
		return nil, err
	}
	def := RoleAdmin
	if bootstrap {
		def = RoleSuperadmin
	}
	in, err = in.validate(def)
	if err != nil {
		return nil, err
	}
	return s.create(ctx, in, func(count int) error {
		if err := authorizeRegister(count == 0, actor); err != nil {
			return err
		}
		if count == 0 && in.Role != RoleSuperadmin {
			return ErrFirstMustBeSuper
		}
		return nil
	})
}

func authorizeRegister(bootstrap bool, actor *Admin) error {
	switch {
	case bootstrap:
		return nil
	case actor == nil:
		return ErrRegistrationShut
	case actor.Role != RoleSuperadmin || !actor.IsActive:
		return apperr.ErrForbidden
	}
	return nil
}

// Create creates a central admin from the operator's command line.
func (s *Service) Create(ctx context.Context, in NewAdmin) (*Admin, error) {
	in, err := in.validate("")
	if err != nil {
		return nil, err
	}
	return s.create(ctx, in, func(int) error { return nil })
}

// create hashes the password, then inserts the admin in a transaction that
// holds the admins lock and asks allow (given the current number of admins).
func (s *Service) create(ctx context.Context, in NewAdmin, allow func(count int) error) (*Admin, error) {
	if existing, err := adminByEmail(ctx, s.db, in.Email); err != nil {
		return nil, err
	} else if existing != nil {
		return nil, login.ErrUserExists
	}
	hash, err := s.guard.Hash(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	t := s.now()
	a := &Admin{
		ID: uuid.Must(uuid.NewV7()).String(), Email: in.Email, PasswordHash: hash,
		FirstName: in.FirstName, LastName: in.LastName, Role: in.Role, IsActive: true,
		CreatedAt: t, UpdatedAt: t,
	}
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := lockAdmins(ctx, tx); err != nil {
			return err
		}
		n, err := countAdmins(ctx, tx)
		if err != nil {
			return err
		}
		if err := allow(n); err != nil {
			return err
		}
		if err := insertAdmin(ctx, tx, a); isDuplicate(err) {
			return login.ErrUserExists
		} else if err != nil {
			return translate(err)
		}
		return audit(ctx, tx, s.now(), "admin.create", "admin", a.ID, OutcomeSuccess, a.Email+" as "+a.Role)
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Login checks an admin's credentials and starts a new session. An
// inactive admin is answered as a wrong password, whatever the password;
// a wrong email or password is recorded in the audit log (Audit.FailedLogin).
func (s *Service) Login(ctx context.Context, clientIP, rawEmail, password string) (*Session, error) {
	var a *Admin
	err := s.guard.Attempt(ctx, clientIP, "central", rawEmail, password, func(email string) (string, bool, error) {
		var err error
		a, err = adminByEmail(ctx, s.db, email)
		if a == nil {
			return "", false, err
		}
		hash, usable := login.Usable(a.PasswordHash, a.IsActive)
		return hash, usable, nil
	}, func(hash string) error { return updatePasswordHash(ctx, s.db, a.ID, hash, s.now()) })
	if errors.Is(err, login.ErrInvalidCredentials) {
		if aerr := s.audit.FailedLogin(ctx, rawEmail); aerr != nil {
			s.log.WarnContext(ctx, "recording a failed central login", "err", aerr)
		}
	}
	if err != nil {
		return nil, err
	}
	var raw string
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		if raw, err = s.refresh.Start(ctx, tx, a.ID); err != nil {
			return err
		}
		ctx := WithActor(ctx, withAdmin(ActorFrom(ctx), a))
		return audit(ctx, tx, s.now(), "auth.login", "admin", a.ID, OutcomeSuccess, "")
	})
	if err != nil {
		return nil, err
	}
	return s.session(a, raw)
}

func (s *Service) session(a *Admin, refresh string) (*Session, error) {
	access, err := s.keys.Issue(token.CentralAudience, a.ID, token.Claims{
		Email: a.Email, Role: a.Role, IsCentralAdmin: true,
	})
	if err != nil {
		return nil, err
	}
	return &Session{AccessToken: access, ExpiresIn: int(s.keys.TTL().Seconds()), RefreshToken: refresh, Admin: a}, nil
}

// Refresh spends a refresh token and returns a new session in the same
// family. A token that was already spent revokes the whole family.
func (s *Service) Refresh(ctx context.Context, raw string) (*Session, error) {
	if err := refresh.CheckFormat(raw); err != nil {
		return nil, err
	}
	var a *Admin
	var out refresh.Outcome
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		out, err = s.refresh.Rotate(ctx, tx, raw, func(userID string) (bool, error) {
			var err error
			a, err = adminByID(ctx, tx, userID)
			return a != nil && a.IsActive, err
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	if out.Refused != nil {
		if out.Refused == refresh.ErrReused {
			s.log.WarnContext(ctx, "refresh token reuse: family revoked", "admin", out.UserID)
		}
		return nil, out.Refused
	}
	return s.session(a, out.Next)
}

// Logout revokes the family of a refresh token. Unknown tokens are ignored.
func (s *Service) Logout(ctx context.Context, raw string) error {
	if err := refresh.CheckFormat(raw); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		userID, err := s.refresh.Revoke(ctx, tx, raw)
		if err != nil || userID == "" {
			return err
		}
		return audit(ctx, tx, s.now(), "auth.logout", "admin", userID, OutcomeSuccess, "")
	})
}

// Authenticate verifies a central access token and returns its admin as the
// database has it now: an admin deactivated or removed since the token was
// issued is refused, and the role is the current one.
func (s *Service) Authenticate(ctx context.Context, raw string) (*Admin, error) {
	claims, err := s.keys.Verify(raw, token.CentralAudience)
	switch {
	case errors.Is(err, token.ErrExpired):
		return nil, token.ErrAccessExpired
	case err != nil, !claims.IsCentralAdmin:
		return nil, token.ErrBadAccessToken
	}
	if _, err := uuid.Parse(claims.Subject); err != nil {
		return nil, token.ErrBadAccessToken
	}
	a, err := adminByID(ctx, s.db, claims.Subject)
	if err != nil {
		return nil, err
	}
	if a == nil || !a.IsActive {
		return nil, token.ErrBadAccessToken
	}
	return a, nil
}

// MayImpersonate reports whether the central admin id may act as a tenant
// user now: it exists, is active and is a superadmin. Tenant-plane requests
// made with an impersonation token ask it every time (one primary-key read
// of the central database, not cached), so that deleting, deactivating or
// demoting the admin ends their impersonations from the next request on.
func (s *Service) MayImpersonate(ctx context.Context, id string) (bool, error) {
	if _, err := uuid.Parse(id); err != nil {
		return false, nil
	}
	a, err := adminByID(ctx, s.db, id)
	if err != nil {
		return false, err
	}
	return a != nil && a.IsActive && a.Role == RoleSuperadmin, nil
}

// ListAdmins returns up to limit admins after the cursor (an admin id) and
// the cursor of the next page, empty on the last page.
func (s *Service) ListAdmins(ctx context.Context, limit int, cursor string) ([]Admin, string, error) {
	var v apperr.Validator
	page.CheckAfter(&v, cursor)
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	admins, err := listAdmins(ctx, s.db, cursor, limit+1)
	if err != nil {
		return nil, "", err
	}
	admins, next := page.Cut(admins, limit, func(a *Admin) string { return a.ID })
	return admins, next, nil
}

// GetAdmin returns one admin.
func (s *Service) GetAdmin(ctx context.Context, id string) (*Admin, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, errAdminNotFound
	}
	a, err := adminByID(ctx, s.db, id)
	if err == nil && a == nil {
		err = errAdminNotFound
	}
	return a, err
}

// AdminByEmail returns the admin with this email (compared as login
// normalises it), for the operator's command line, which names admins by
// email.
func (s *Service) AdminByEmail(ctx context.Context, rawEmail string) (*Admin, error) {
	email, ok := login.NormalizeEmail(rawEmail)
	if !ok {
		return nil, errAdminNotFound
	}
	a, err := adminByEmail(ctx, s.db, email)
	if err == nil && a == nil {
		err = errAdminNotFound
	}
	return a, err
}

// UpdateAdmin changes an admin's names, role or active flag. The last
// active superadmin cannot be demoted or deactivated. Deactivation ends the
// admin's sessions: refresh tokens are revoked and access tokens stop
// working on their next use.
func (s *Service) UpdateAdmin(ctx context.Context, id string, p AdminPatch) (*Admin, error) {
	var v apperr.Validator
	if p.FirstName != nil {
		login.CheckName(&v, "firstName", *p.FirstName)
	}
	if p.LastName != nil {
		login.CheckName(&v, "lastName", *p.LastName)
	}
	if p.Role != nil {
		v.Check(validRole(*p.Role), "role", "must be admin or superadmin")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if _, err := uuid.Parse(id); err != nil {
		return nil, errAdminNotFound
	}
	var out *Admin
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		a, err := lockedAdmin(ctx, tx, id)
		if err != nil {
			return err
		}
		next := *a
		if p.FirstName != nil {
			next.FirstName = *p.FirstName
		}
		if p.LastName != nil {
			next.LastName = *p.LastName
		}
		if p.Role != nil {
			next.Role = *p.Role
		}
		if p.IsActive != nil {
			next.IsActive = *p.IsActive
		}
		losesSuper := a.Role == RoleSuperadmin && a.IsActive && (next.Role != RoleSuperadmin || !next.IsActive)
		if err := s.keepOneSuperadmin(ctx, tx, losesSuper); err != nil {
			return err
		}
		next.UpdatedAt = s.now()
		if err := updateAdmin(ctx, tx, &next); err != nil {
			return err
		}
		if a.IsActive && !next.IsActive {
			if err := s.refresh.RevokeUser(ctx, tx, a.ID); err != nil {
				return err
			}
		}
		out = &next
		return audit(ctx, tx, s.now(), "admin.update", "admin", a.ID, OutcomeSuccess, describeChange(a, &next))
	})
	return out, err
}

// lockedAdmin takes the admins lock and reads admin id for update:
// errAdminNotFound when there is none.
func lockedAdmin(ctx context.Context, tx *sqlx.Tx, id string) (*Admin, error) {
	if err := lockAdmins(ctx, tx); err != nil {
		return nil, err
	}
	a, err := adminByIDForUpdate(ctx, tx, id)
	if err == nil && a == nil {
		err = errAdminNotFound
	}
	return a, err
}

// DeleteAdmin removes an admin and their refresh tokens.
func (s *Service) DeleteAdmin(ctx context.Context, id string) error {
	if _, err := uuid.Parse(id); err != nil {
		return errAdminNotFound
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		a, err := lockedAdmin(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := s.keepOneSuperadmin(ctx, tx, a.Role == RoleSuperadmin && a.IsActive); err != nil {
			return err
		}
		if err := deleteAdmin(ctx, tx, id); err != nil {
			return err
		}
		return audit(ctx, tx, s.now(), "admin.delete", "admin", a.ID, OutcomeSuccess, a.Email)
	})
}

// keepOneSuperadmin refuses a change that takes an active superadmin away
// when it is the last one. The caller holds the admins lock.
func (s *Service) keepOneSuperadmin(ctx context.Context, tx *sqlx.Tx, losesSuper bool) error {
	if !losesSuper {
		return nil
	}
	n, err := countActiveSuperadmins(ctx, tx)
	if err != nil {
		return err
	}
	if n <= 1 {
		return ErrLastSuperadmin
	}
	return nil
}

// inTx runs fn in a transaction on the central database; see inTx.
func (s *Service) inTx(ctx context.Context, fn func(*sqlx.Tx) error) error {
	return dberr.InTx(ctx, s.db, fn)
}

// withAdmin fills an actor's identity from a central admin.
func withAdmin(a Actor, admin *Admin) Actor {
	a.Kind, a.ID, a.Email = "admin", admin.ID, admin.Email
	return a
}

// describeChange lists the fields an update changed, for the audit log.
func describeChange(before, after *Admin) string {
	var parts []string
	if before.Role != after.Role {
		parts = append(parts, "role "+before.Role+" -> "+after.Role)
	}
	if before.IsActive != after.IsActive {
		parts = append(parts, fmt.Sprintf("isActive %t -> %t", before.IsActive, after.IsActive))
	}
	if before.FirstName != after.FirstName || before.LastName != after.LastName {
		parts = append(parts, "name")
	}
	return strings.Join(parts, ", ")
}
