package tenantdb

import (
	"context"
	"database/sql"
	"errors"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/internal/lib/dberr"
	"github.com/silo-dev/silo/internal/lib/login"
)

// Errors of tenant administration.
var (
	ErrLastAdmin       = apperr.New(apperr.Conflict, "CONFLICT", "The last tenant_admin cannot lose the role, be deactivated or be deleted")
	ErrEscalation      = apperr.New(apperr.Forbidden, "FORBIDDEN", "You cannot grant permissions you do not have")
	ErrAdminProtected  = apperr.New(apperr.Forbidden, "FORBIDDEN", "Only a caller holding every permission can change or remove a tenant_admin")
	ErrRoleNotFound    = apperr.New(apperr.NotFound, "NOT_FOUND", "Role not found")
	ErrRoleExists      = apperr.New(apperr.Conflict, "CONFLICT", "A role with this name already exists")
	ErrBuiltInRole     = apperr.New(apperr.Forbidden, "FORBIDDEN", "Built-in roles cannot be changed or deleted")
	ErrRoleInUse       = apperr.New(apperr.Conflict, "CONFLICT", "The role is still assigned to users")
	rolePattern        = regexp.MustCompile(`^[a-z][a-z0-9_-]{1,63}$`)
	errUnknownRoleName = "is not a role of this tenant: "
)

// Role is a tenant role with its permissions.
type Role struct {
	Name        string   `db:"name"`
	Description string   `db:"description"`
	BuiltIn     bool     `db:"built_in"`
	Permissions []string `db:"-"`
}

// listRoles lists the tenant's roles with their permissions.
func listRoles(ctx context.Context, db sqlx.QueryerContext) ([]Role, error) {
	var roles []Role
	if err := sqlx.SelectContext(ctx, db, &roles, "SELECT name, description, built_in FROM roles ORDER BY name"); err != nil {
		return nil, dberr.Translate(err)
	}
	var perms []struct {
		Role string `db:"role_name"`
		Perm string `db:"permission"`
	}
	if err := sqlx.SelectContext(ctx, db, &perms, "SELECT role_name, permission FROM role_permissions ORDER BY permission"); err != nil {
		return nil, dberr.Translate(err)
	}
	byName := map[string]*Role{}
	for i := range roles {
		roles[i].Permissions = []string{}
		byName[roles[i].Name] = &roles[i]
	}
	for _, p := range perms {
		if r := byName[p.Role]; r != nil {
			r.Permissions = append(r.Permissions, p.Perm)
		}
	}
	return roles, nil
}

// permissionsOf returns the union of the permissions of roles, failing on
// an unknown role.
func permissionsOf(ctx context.Context, db sqlx.QueryerContext, roles []string) ([]string, error) {
	all, err := listRoles(ctx, db)
	if err != nil {
		return nil, err
	}
	byName := map[string]Role{}
	for _, r := range all {
		byName[r.Name] = r
	}
	var v apperr.Validator
	var out []string
	for _, name := range roles {
		r, ok := byName[name]
		if !ok {
			v.Add("roles", errUnknownRoleName+name)
			continue
		}
		out = append(out, r.Permissions...)
	}
	return out, v.Err()
}

// lockAdmins serialises changes that could remove the last tenant_admin.
func lockAdmins(ctx context.Context, tx *sqlx.Tx) error {
	var name string
	err := tx.GetContext(ctx, &name, "SELECT name FROM roles WHERE name = 'tenant_admin' FOR UPDATE")
	return dberr.Translate(err)
}

func countAdmins(ctx context.Context, tx *sqlx.Tx) (int, error) {
	var n int
	err := tx.GetContext(ctx, &n,
		"SELECT COUNT(*) FROM user_roles r JOIN users u ON u.id = r.user_id WHERE r.role_name = 'tenant_admin' AND u.is_active = 1")
	return n, dberr.Translate(err)
}

func hasRole(ctx context.Context, tx *sqlx.Tx, userID, role string) (bool, error) {
	var n int
	err := tx.GetContext(ctx, &n, "SELECT COUNT(*) FROM user_roles WHERE user_id = ? AND role_name = ?", userID, role)
	return n > 0, dberr.Translate(err)
}

// RoleInput creates or replaces a custom role.
type RoleInput struct {
	Name, Description string
	Permissions       []string
}

// lookAlikeBuiltIn returns the built-in role name differs from only by
// '-' for '_' (tenant-admin for tenant_admin), or "".
func lookAlikeBuiltIn(name string) string {
	for _, b := range []string{RoleTenantAdmin, RoleMember} {
		if name != b && strings.ReplaceAll(name, "-", "_") == strings.ReplaceAll(b, "-", "_") {
			return b
		}
	}
	return ""
}

func (in RoleInput) check(caller *Caller, create bool) error {
	var v apperr.Validator
	v.Check(rolePattern.MatchString(in.Name), "name", "must be 2-64 characters: lower-case letters, digits, '-' and '_', starting with a letter")
	if b := lookAlikeBuiltIn(in.Name); b != "" && create {
		v.Add("name", "must not look like the built-in role "+b)
	}
	v.Check(login.PlainText(in.Description) && utf8.RuneCountInString(in.Description) <= 255, "description",
		"must be at most 255 characters without control or invisible formatting characters")
	checkPermissions(&v, in.Permissions)
	if err := v.Err(); err != nil {
		return err
	}
	if !caller.Covers(in.Permissions) {
		return ErrEscalation
	}
	return nil
}

// SaveRole creates (create=true) or replaces a custom role.
func (st *Store) SaveRole(ctx context.Context, caller *Caller, in RoleInput, create bool) (*Role, error) {
	// A permission listed many times is one row (and one statement).
	in.Permissions = dedupe(in.Permissions)
	if err := in.check(caller, create); err != nil {
		return nil, err
	}
	err := st.authzTx(ctx, func(tx *sqlx.Tx) error {
		var builtIn bool
		err := tx.GetContext(ctx, &builtIn, "SELECT built_in FROM roles WHERE name = ? FOR UPDATE", in.Name)
		switch {
		case err == nil && create:
			return ErrRoleExists
		case err == nil && builtIn:
			return ErrBuiltInRole
		case errors.Is(err, sql.ErrNoRows) && !create:
			return ErrRoleNotFound
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return dberr.Translate(err)
		}
		if create {
			if _, err := tx.ExecContext(ctx, "INSERT INTO roles (name, description, built_in, created_at) VALUES (?, ?, 0, ?)", in.Name, in.Description, st.now()); err != nil {
				return dberr.Translate(err)
			}
		} else if _, err := tx.ExecContext(ctx, "UPDATE roles SET description = ? WHERE name = ?", in.Description, in.Name); err != nil {
			return dberr.Translate(err)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM role_permissions WHERE role_name = ?", in.Name); err != nil {
			return dberr.Translate(err)
		}
		for _, p := range in.Permissions {
			if _, err := tx.ExecContext(ctx, "INSERT IGNORE INTO role_permissions (role_name, permission) VALUES (?, ?)", in.Name, p); err != nil {
				return dberr.Translate(err)
			}
		}
		action := "role.update"
		if create {
			action = "role.create"
		}
		return st.Audit(ctx, tx, caller, action, "role", in.Name, strings.Join(in.Permissions, ","))
	})
	if err != nil {
		return nil, err
	}
	perms := append([]string(nil), in.Permissions...)
	if perms == nil {
		perms = []string{}
	}
	return &Role{Name: in.Name, Description: in.Description, Permissions: perms}, nil
}

// DeleteRole deletes an unassigned custom role.
func (st *Store) DeleteRole(ctx context.Context, caller *Caller, name string) error {
	if !rolePattern.MatchString(name) {
		return ErrRoleNotFound
	}
	return st.authzTx(ctx, func(tx *sqlx.Tx) error {
		var builtIn bool
		err := tx.GetContext(ctx, &builtIn, "SELECT built_in FROM roles WHERE name = ? FOR UPDATE", name)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrRoleNotFound
		}
		if err != nil {
			return dberr.Translate(err)
		}
		if builtIn {
			return ErrBuiltInRole
		}
		var n int
		if err := tx.GetContext(ctx, &n, "SELECT COUNT(*) FROM user_roles WHERE role_name = ?", name); err != nil {
			return dberr.Translate(err)
		}
		if n > 0 {
			return ErrRoleInUse
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM roles WHERE name = ?", name); err != nil {
			return dberr.Translate(err)
		}
		return st.Audit(ctx, tx, caller, "role.delete", "role", name, "")
	})
}

// Roles lists the tenant's roles with their permissions.
func (st *Store) Roles(ctx context.Context) ([]Role, error) { return listRoles(ctx, st.db) }
