package central

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"
)

// Central admin roles.
const (
	RoleAdmin      = "admin"
	RoleSuperadmin = "superadmin"
)

// Admin is a central admin as stored.
type Admin struct {
	ID           string    `db:"id"`
	Email        string    `db:"email"`
	PasswordHash string    `db:"password_hash"`
	FirstName    string    `db:"first_name"`
	LastName     string    `db:"last_name"`
	Role         string    `db:"role"`
	IsActive     bool      `db:"is_active"`
	CreatedAt    time.Time `db:"created_at"`
	UpdatedAt    time.Time `db:"updated_at"`
}

const adminColumns = "id, email, password_hash, first_name, last_name, role, is_active, created_at, updated_at"

func adminByEmail(ctx context.Context, q sqlx.QueryerContext, email string) (*Admin, error) {
	return getAdmin(ctx, q, "SELECT "+adminColumns+" FROM users WHERE email = ?", email)
}

func adminByID(ctx context.Context, q sqlx.QueryerContext, id string) (*Admin, error) {
	return getAdmin(ctx, q, "SELECT "+adminColumns+" FROM users WHERE id = ?", id)
}

func adminByIDForUpdate(ctx context.Context, q sqlx.QueryerContext, id string) (*Admin, error) {
	return getAdmin(ctx, q, "SELECT "+adminColumns+" FROM users WHERE id = ? FOR UPDATE", id)
}

// getAdmin returns nil, nil when no row matches.
func getAdmin(ctx context.Context, q sqlx.QueryerContext, query string, arg any) (*Admin, error) {
	var a Admin
	err := sqlx.GetContext(ctx, q, &a, query, arg)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, translate(err)
	}
	return &a, nil
}

func listAdmins(ctx context.Context, q sqlx.QueryerContext, afterID string, limit int) ([]Admin, error) {
	var out []Admin
	err := sqlx.SelectContext(ctx, q, &out,
		"SELECT "+adminColumns+" FROM users WHERE id > ? ORDER BY id LIMIT ?", afterID, limit)
	return out, translate(err)
}

func insertAdmin(ctx context.Context, e sqlx.ExecerContext, a *Admin) error {
	_, err := e.ExecContext(ctx,
		"INSERT INTO users (id, email, password_hash, first_name, last_name, role, is_active, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		a.ID, a.Email, a.PasswordHash, a.FirstName, a.LastName, a.Role, a.IsActive, a.CreatedAt, a.UpdatedAt)
	return err
}

func updateAdmin(ctx context.Context, e sqlx.ExecerContext, a *Admin) error {
	_, err := e.ExecContext(ctx,
		"UPDATE users SET first_name = ?, last_name = ?, role = ?, is_active = ?, updated_at = ? WHERE id = ?",
		a.FirstName, a.LastName, a.Role, a.IsActive, a.UpdatedAt, a.ID)
	return translate(err)
}

func updatePasswordHash(ctx context.Context, e sqlx.ExecerContext, id, hash string, at time.Time) error {
	_, err := e.ExecContext(ctx, "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?", hash, at, id)
	return translate(err)
}

func deleteAdmin(ctx context.Context, e sqlx.ExecerContext, id string) error {
	_, err := e.ExecContext(ctx, "DELETE FROM users WHERE id = ?", id)
	return translate(err)
}

func countAdmins(ctx context.Context, q sqlx.QueryerContext) (int, error) {
	var n int
	err := sqlx.GetContext(ctx, q, &n, "SELECT COUNT(*) FROM users")
	return n, translate(err)
}

func countActiveSuperadmins(ctx context.Context, q sqlx.QueryerContext) (int, error) {
	var n int
	err := sqlx.GetContext(ctx, q, &n, "SELECT COUNT(*) FROM users WHERE role = 'superadmin' AND is_active = 1")
	return n, translate(err)
}

// lockAdmins serialises transactions that check an invariant over all admins
// (bootstrap registration, the last active superadmin).
func lockAdmins(ctx context.Context, q sqlx.QueryerContext) error {
	var name string
	err := sqlx.GetContext(ctx, q, &name, "SELECT name FROM central_locks WHERE name = 'admins' FOR UPDATE")
	return translate(err)
}
