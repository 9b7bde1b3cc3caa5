package tenantdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/internal/lib/dberr"
	"github.com/silo-dev/silo/internal/lib/login"
	"github.com/silo-dev/silo/internal/lib/page"
	"github.com/silo-dev/silo/internal/lib/sqllike"
)

// Built-in tenant roles.
const (
	RoleTenantAdmin = "tenant_admin"
	RoleMember      = "member"
)

// User is a tenant user as stored in the tenant database.
type User struct {
	ID           string    `db:"id"`
	Email        string    `db:"email"`
	PasswordHash string    `db:"password_hash"`
	FirstName    string    `db:"first_name"`
	LastName     string    `db:"last_name"`
	IsActive     bool      `db:"is_active"`
	CreatedAt    time.Time `db:"created_at"`
	UpdatedAt    time.Time `db:"updated_at"`
}

const userColumns = "id, email, password_hash, first_name, last_name, is_active, created_at, updated_at"

// CreateUser inserts u with roles in one transaction. It returns login.ErrUserExists
// when the email is taken; inserting the same user (same id) again is a no-op,
// so a retried provisioning step is harmless.
func CreateUser(ctx context.Context, db *sqlx.DB, u *User, roles ...string) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return dberr.Translate(err)
	}
	defer tx.Rollback()
	var existing string
	err = tx.GetContext(ctx, &existing, "SELECT id FROM users WHERE email = ?", u.Email)
	switch {
	case err == nil && existing == u.ID:
		return nil
	case err == nil:
		return login.ErrUserExists
	case !errors.Is(err, sql.ErrNoRows):
		return dberr.Translate(err)
	}
	_, err = tx.ExecContext(ctx,
		"INSERT INTO users (id, email, password_hash, first_name, last_name, is_active, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		u.ID, u.Email, u.PasswordHash, u.FirstName, u.LastName, u.IsActive, u.CreatedAt, u.UpdatedAt)
	if dberr.IsDuplicate(err) {
		return login.ErrUserExists
	}
	if err != nil {
		return dberr.Translate(err)
	}
	for _, r := range roles {
		if _, err := tx.ExecContext(ctx, "INSERT INTO user_roles (user_id, role_name) VALUES (?, ?)", u.ID, r); err != nil {
			return dberr.Translate(err)
		}
	}
	return dberr.Translate(tx.Commit())
}

// UserByID returns the tenant user with id, or ErrUserNotFound.
func UserByID(ctx context.Context, db sqlx.QueryerContext, id string) (*User, error) {
	var u User
	err := sqlx.GetContext(ctx, db, &u, "SELECT "+userColumns+" FROM users WHERE id = ?", id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrUserNotFound
	}
	if err != nil {
		return nil, dberr.Translate(err)
	}
	return &u, nil
}

// UserByEmail returns the tenant user with email (lower-cased), or
// ErrUserNotFound.
func UserByEmail(ctx context.Context, db sqlx.QueryerContext, email string) (*User, error) {
	u, err := userByEmail(ctx, db, email)
	if err == nil && u == nil {
		err = ErrUserNotFound
	}
	return u, err
}

// userByEmail returns the tenant user with email (lower-cased), or nil.
func userByEmail(ctx context.Context, db sqlx.QueryerContext, email string) (*User, error) {
	var u User
	err := sqlx.GetContext(ctx, db, &u, "SELECT "+userColumns+" FROM users WHERE email = ?", email)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, dberr.Translate(err)
	}
	return &u, nil
}

// userWithRoles returns the user with id, its role names and the union of
// their permissions in one round trip (the hot path of every authenticated
// tenant request), or ErrUserNotFound. The user's row comes once per
// (role, permission) pair, as ordinary rows: a GROUP_CONCAT of them would
// be cut at group_concat_max_len (1024 bytes by default on MySQL).
func userWithRoles(ctx context.Context, db sqlx.QueryerContext, id string) (*User, []string, []string, error) {
	var rows []struct {
		User
		Role       sql.NullString `db:"role_name"`
		Permission sql.NullString `db:"permission"`
	}
	err := sqlx.SelectContext(ctx, db, &rows, `SELECT u.id, u.email, u.password_hash, u.first_name, u.last_name, u.is_active, u.created_at, u.updated_at,
		r.role_name, p.permission
		FROM users u LEFT JOIN user_roles r ON r.user_id = u.id LEFT JOIN role_permissions p ON p.role_name = r.role_name
		WHERE u.id = ? ORDER BY r.role_name, p.permission`, id)
	if err != nil {
		return nil, nil, nil, dberr.Translate(err)
	}
	if len(rows) == 0 {
		return nil, nil, nil, ErrUserNotFound
	}
	roles, perms := []string{}, []string{}
	for _, r := range rows {
		if r.Role.Valid && (len(roles) == 0 || roles[len(roles)-1] != r.Role.String) {
			roles = append(roles, r.Role.String)
		}
		if r.Permission.Valid {
			perms = append(perms, r.Permission.String)
		}
	}
	slices.Sort(perms)
	return &rows[0].User, roles, slices.Compact(perms), nil
}

// UserView is a user with its roles.
type UserView struct {
	User
	Roles []string
}

// ListUsers lists users in id order after cursor, optionally those whose
// email or name contains q, and returns the next page's cursor.
func (st *Store) ListUsers(ctx context.Context, q string, limit int, cursor string) ([]UserView, string, error) {
	var v apperr.Validator
	page.CheckAfter(&v, cursor)
	v.Check(utf8.ValidString(q) && len(q) <= 200, "q", "must be valid UTF-8, at most 200 bytes")
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	query := "SELECT " + userColumns + " FROM users WHERE id > ?"
	args := []any{cursor}
	if q != "" {
		like := sqllike.Contains(q)
		// Emails are stored lower-cased and compare exactly; names compare
		// case-insensitively.
		query += " AND (email LIKE ? OR first_name LIKE ? OR last_name LIKE ?)"
		args = append(args, strings.ToLower(like), like, like)
	}
	query += " ORDER BY id LIMIT ?"
	args = append(args, limit+1)
	var users []User
	if err := sqlx.SelectContext(ctx, st.db, &users, query, args...); err != nil {
		return nil, "", dberr.Translate(err)
	}
	users, next := page.Cut(users, limit, func(u *User) string { return u.ID })
	roles, err := rolesOfUsers(ctx, st.db, users)
	if err != nil {
		return nil, "", err
	}
	out := make([]UserView, 0, len(users))
	for _, u := range users {
		r := roles[u.ID]
		if r == nil {
			r = []string{}
		}
		out = append(out, UserView{User: u, Roles: r})
	}
	return out, next, nil
}

// rolesOfUsers reads the role names of a page of users in one query.
func rolesOfUsers(ctx context.Context, db sqlx.QueryerContext, users []User) (map[string][]string, error) {
	out := map[string][]string{}
	if len(users) == 0 {
		return out, nil
	}
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	q, args, err := sqlx.In("SELECT user_id, role_name FROM user_roles WHERE user_id IN (?) ORDER BY role_name", ids)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		UserID string `db:"user_id"`
		Role   string `db:"role_name"`
	}
	if err := sqlx.SelectContext(ctx, db, &rows, q, args...); err != nil {
		return nil, dberr.Translate(err)
	}
	for _, r := range rows {
		out[r.UserID] = append(out[r.UserID], r.Role)
	}
	return out, nil
}

// GetUser returns one user with roles.
func (st *Store) GetUser(ctx context.Context, id string) (*UserView, error) {
	if !isUUID(id) {
		return nil, ErrUserNotFound
	}
	u, roles, _, err := userWithRoles(ctx, st.db, id)
	if err != nil {
		return nil, err
	}
	return &UserView{User: *u, Roles: roles}, nil
}

// actOn loads the user a caller wants to change: only a caller holding
// every permission may change or remove a tenant_admin, so that a user
// manager (users:write) cannot unseat the tenant's administrators.
func actOn(ctx context.Context, tx *sqlx.Tx, caller *Caller, userID string) (*User, error) {
	u, roles, _, err := userWithRoles(ctx, tx, userID)
	if err != nil {
		return nil, err
	}
	if slices.Contains(roles, RoleTenantAdmin) && !caller.Covers(Permissions) {
		return nil, ErrAdminProtected
	}
	return u, nil
}

// AddUser creates a user with a password and roles; the caller must hold
// every permission the roles give.
func (st *Store) AddUser(ctx context.Context, caller *Caller, in NewUser, roles []string) (*UserView, error) {
	var v apperr.Validator
	email := in.Check(&v, "")
	if len(roles) == 0 {
		roles = []string{RoleMember}
	}
	roles = dedupe(roles)
	perms, err := permissionsOf(ctx, st.db, roles)
	var roleErr *apperr.Error
	if errors.As(err, &roleErr) && roleErr.Kind == apperr.Invalid {
		for _, d := range roleErr.Details {
			v.Add(d.Field, d.Message)
		}
	} else if err != nil {
		return nil, err
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if !caller.Covers(perms) {
		return nil, ErrEscalation
	}
	hash, err := st.auth.guard.Hash(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	now := st.now()
	u := &User{ID: uuid.Must(uuid.NewV7()).String(), Email: email, PasswordHash: hash,
		FirstName: in.FirstName, LastName: in.LastName, IsActive: true, CreatedAt: now, UpdatedAt: now}
	if err := CreateUser(ctx, st.db, u, roles...); err != nil {
		return nil, err
	}
	if err := st.Audit(ctx, st.db, caller, "user.create", "user", u.ID, email+" as "+strings.Join(roles, ",")); err != nil {
		return nil, err
	}
	return &UserView{User: *u, Roles: roles}, nil
}

// SetRoles replaces a user's roles. Nobody may grant what they do not
// hold, and the last tenant_admin keeps the role.
func (st *Store) SetRoles(ctx context.Context, caller *Caller, userID string, roles []string) (*UserView, error) {
	if !isUUID(userID) {
		return nil, ErrUserNotFound
	}
	roles = dedupe(roles)
	perms, err := permissionsOf(ctx, st.db, roles)
	if err != nil {
		return nil, err
	}
	if !caller.Covers(perms) {
		return nil, ErrEscalation
	}
	err = st.authzTx(ctx, func(tx *sqlx.Tx) error {
		if err := lockAdmins(ctx, tx); err != nil {
			return err
		}
		target, err := actOn(ctx, tx, caller, userID)
		if err != nil {
			return err
		}
		wasAdmin, err := hasRole(ctx, tx, userID, RoleTenantAdmin)
		if err != nil {
			return err
		}
		if wasAdmin && target.IsActive && !slices.Contains(roles, RoleTenantAdmin) {
			if n, err := countAdmins(ctx, tx); err != nil {
				return err
			} else if n <= 1 {
				return ErrLastAdmin
			}
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM user_roles WHERE user_id = ?", userID); err != nil {
			return dberr.Translate(err)
		}
		for _, r := range roles {
			if _, err := tx.ExecContext(ctx, "INSERT IGNORE INTO user_roles (user_id, role_name) VALUES (?, ?)", userID, r); err != nil {
				return dberr.Translate(err)
			}
		}
		return st.Audit(ctx, tx, caller, "user.roles", "user", userID, strings.Join(roles, ","))
	})
	if err != nil {
		return nil, err
	}
	return st.GetUser(ctx, userID)
}

// DeleteUser removes a user (their tokens stop working on the next
// request) and revokes the API keys they created, and the keys those keys
// created; the last tenant_admin cannot be deleted.
func (st *Store) DeleteUser(ctx context.Context, caller *Caller, userID string) error {
	if !isUUID(userID) {
		return ErrUserNotFound
	}
	return st.authzTx(ctx, func(tx *sqlx.Tx) error {
		if err := lockAdmins(ctx, tx); err != nil {
			return err
		}
		u, err := actOn(ctx, tx, caller, userID)
		if err != nil {
			return err
		}
		if isAdmin, err := hasRole(ctx, tx, userID, RoleTenantAdmin); err != nil {
			return err
		} else if isAdmin && u.IsActive {
			if n, err := countAdmins(ctx, tx); err != nil {
				return err
			} else if n <= 1 {
				return ErrLastAdmin
			}
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM users WHERE id = ?", userID); err != nil {
			return dberr.Translate(err)
		}
		if err := st.Audit(ctx, tx, caller, "user.delete", "user", userID, u.Email); err != nil {
			return err
		}
		return st.revokeKeysOf(ctx, tx, caller, "its creator was removed", userID)
	})
}

// SetActive deactivates a user (active false) or reactivates one. A
// deactivated user's tokens, sessions and keys are refused from the next
// request on, their refresh tokens revoked; the last active tenant_admin
// cannot be deactivated. Setting the flag a user already has changes
// nothing.
func (st *Store) SetActive(ctx context.Context, caller *Caller, userID string, active bool) (*UserView, error) {
	if !isUUID(userID) {
		return nil, ErrUserNotFound
	}
	err := st.authzTx(ctx, func(tx *sqlx.Tx) error {
		if err := lockAdmins(ctx, tx); err != nil {
			return err
		}
		u, err := actOn(ctx, tx, caller, userID)
		if err != nil || u.IsActive == active {
			return err
		}
		if isAdmin, err := hasRole(ctx, tx, userID, RoleTenantAdmin); err != nil {
			return err
		} else if isAdmin && !active {
			if n, err := countAdmins(ctx, tx); err != nil {
				return err
			} else if n <= 1 {
				return ErrLastAdmin
			}
		}
		if _, err := tx.ExecContext(ctx, "UPDATE users SET is_active = ?, updated_at = ? WHERE id = ?", active, st.now(), userID); err != nil {
			return dberr.Translate(err)
		}
		action := "user.activate"
		if !active {
			action = "user.deactivate"
			if err := st.auth.refresh.RevokeUser(ctx, tx, userID); err != nil {
				return err
			}
		}
		return st.Audit(ctx, tx, caller, action, "user", userID, u.Email)
	})
	if err != nil {
		return nil, err
	}
	return st.GetUser(ctx, userID)
}

// Errors of a user's config.
var (
	ErrConfigTooLarge = apperr.New(apperr.TooLarge, "BODY_TOO_LARGE", "The config must be at most 64 KiB")
	errConfigNotJSON  = apperr.Validation(apperr.FieldError{Field: "config", Message: "must be a JSON object"})
)

// MaxConfigBytes bounds a user's config object.
const MaxConfigBytes = 64 << 10

// userConfig returns a user's stored config JSON, or "{}".
func userConfig(ctx context.Context, db sqlx.QueryerContext, userID string) (string, error) {
	var cfg string
	err := sqlx.GetContext(ctx, db, &cfg, "SELECT config FROM user_configs WHERE user_id = ?", userID)
	if errors.Is(err, sql.ErrNoRows) {
		return "{}", nil
	}
	return cfg, dberr.Translate(err)
}

// Config returns the caller's config object.
func (st *Store) Config(ctx context.Context, userID string) (json.RawMessage, error) {
	cfg, err := userConfig(ctx, st.db, userID)
	return json.RawMessage(cfg), err
}

// SetConfig replaces the caller's config object (a JSON object, ≤ 64 KiB).
func (st *Store) SetConfig(ctx context.Context, userID string, cfg json.RawMessage) error {
	if len(cfg) > MaxConfigBytes {
		return ErrConfigTooLarge
	}
	var obj map[string]json.RawMessage
	if !utf8.Valid(cfg) || json.Unmarshal(cfg, &obj) != nil || obj == nil {
		return errConfigNotJSON
	}
	now := st.now()
	_, err := st.db.ExecContext(ctx,
		"INSERT INTO user_configs (user_id, config, updated_at) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE config = ?, updated_at = ?",
		userID, string(cfg), now, string(cfg), now)
	return dberr.Translate(err)
}

// UserWithRoles returns the user with id, its role names and the union of
// their permissions, or ErrUserNotFound.
func (st *Store) UserWithRoles(ctx context.Context, id string) (*User, []string, []string, error) {
	return userWithRoles(ctx, st.db, id)
}
