package tenantdb

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/internal/dberr"
	"github.com/silo-dev/silo/internal/login"
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
