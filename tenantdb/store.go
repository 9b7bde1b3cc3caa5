package tenantdb

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/internal/clock"
	"github.com/silo-dev/silo/internal/dberr"
)

const userColumns = "id, email, password_hash, first_name, last_name, is_active, created_at, updated_at"

// UserByEmail returns the tenant user with email (lower-cased), or nil.
func UserByEmail(ctx context.Context, db sqlx.QueryerContext, email string) (*User, error) {
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

// PublicSignup reports whether the tenant allows anyone to register (not
// without a settings row).
func PublicSignup(ctx context.Context, db sqlx.QueryerContext) (bool, error) {
	var allow bool
	err := sqlx.GetContext(ctx, db, &allow, "SELECT allow_public_signup FROM settings WHERE id = 1")
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return allow, dberr.Translate(err)
}

// SetPublicSignup sets whether the tenant allows public sign-up, as a new
// tenant's default (the schema's own default is the historical "on").
func SetPublicSignup(ctx context.Context, db sqlx.ExecerContext, allow bool) error {
	_, err := db.ExecContext(ctx, "UPDATE settings SET allow_public_signup = ?, updated_at = ? WHERE id = 1", allow, clock.Now())
	return dberr.Translate(err)
}

// UserConfig returns a user's stored config JSON, or "{}".
func UserConfig(ctx context.Context, db sqlx.QueryerContext, userID string) (string, error) {
	var cfg string
	err := sqlx.GetContext(ctx, db, &cfg, "SELECT config FROM user_configs WHERE user_id = ?", userID)
	if errors.Is(err, sql.ErrNoRows) {
		return "{}", nil
	}
	return cfg, dberr.Translate(err)
}

// SetUserConfig stores a user's config JSON.
func SetUserConfig(ctx context.Context, db sqlx.ExecerContext, userID, config string) error {
	_, err := db.ExecContext(ctx,
		"INSERT INTO user_configs (user_id, config, updated_at) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE config = VALUES(config), updated_at = VALUES(updated_at)",
		userID, config, clock.Now())
	return dberr.Translate(err)
}

// UserWithRoles returns the user with id, its role names and the union of
// their permissions in one round trip (the hot path of every authenticated
// tenant request), or ErrUserNotFound.
func UserWithRoles(ctx context.Context, db sqlx.QueryerContext, id string) (*User, []string, []string, error) {
	var row struct {
		User
		Roles       sql.NullString `db:"roles"`
		Permissions sql.NullString `db:"permissions"`
	}
	// Correlated subqueries on primary keys: about as cheap as reading the
	// user row alone, where a join with GROUP BY costs twice as much.
	err := sqlx.GetContext(ctx, db, &row, `SELECT u.id, u.email, u.password_hash, u.first_name, u.last_name, u.is_active, u.created_at, u.updated_at,
		(SELECT GROUP_CONCAT(r.role_name ORDER BY r.role_name SEPARATOR ',') FROM user_roles r WHERE r.user_id = u.id) AS roles,
		(SELECT GROUP_CONCAT(DISTINCT p.permission ORDER BY p.permission SEPARATOR ',')
			FROM user_roles r JOIN role_permissions p ON p.role_name = r.role_name WHERE r.user_id = u.id) AS permissions
		FROM users u WHERE u.id = ?`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, nil, ErrUserNotFound
	}
	if err != nil {
		return nil, nil, nil, dberr.Translate(err)
	}
	return &row.User, splitList(row.Roles), splitList(row.Permissions), nil
}

func splitList(s sql.NullString) []string {
	if !s.Valid || s.String == "" {
		return []string{}
	}
	return strings.Split(s.String, ",")
}
