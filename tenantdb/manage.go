package tenantdb

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/internal/apperr"
	"github.com/silo-dev/silo/internal/clock"
	"github.com/silo-dev/silo/internal/dberr"
	"github.com/silo-dev/silo/internal/login"
	"github.com/silo-dev/silo/internal/page"
	"github.com/silo-dev/silo/internal/sqllike"
)

// Errors of tenant administration.
var (
	ErrLastAdmin       = apperr.New(apperr.Conflict, "CONFLICT", "The last tenant_admin cannot lose the role or be deleted")
	ErrEscalation      = apperr.New(apperr.Forbidden, "FORBIDDEN", "You cannot grant permissions you do not have")
	ErrAdminProtected  = apperr.New(apperr.Forbidden, "FORBIDDEN", "Only a caller holding every permission can change or remove a tenant_admin")
	ErrRoleNotFound    = apperr.New(apperr.NotFound, "NOT_FOUND", "Role not found")
	ErrRoleExists      = apperr.New(apperr.Conflict, "CONFLICT", "A role with this name already exists")
	ErrBuiltInRole     = apperr.New(apperr.Forbidden, "FORBIDDEN", "Built-in roles cannot be changed or deleted")
	ErrRoleInUse       = apperr.New(apperr.Conflict, "CONFLICT", "The role is still assigned to users")
	rolePattern        = regexp.MustCompile(`^[a-z][a-z0-9_-]{1,63}$`)
	colorPattern       = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
	errUnknownRoleName = "is not a role of this tenant: "
)

// logoURLPattern is an https URL with a host name, port, path, query and
// fragment of URL characters only: no space, quote, angle bracket,
// backslash, backtick, parenthesis, brace or control character, so the
// value is inert in an HTML attribute, a CSS url() or a script string.
var logoURLPattern = regexp.MustCompile(`^https://[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~!$&+,;=:@%/-]*)?(?:\?[A-Za-z0-9._~!$&+,;=:@%/?-]*)?(?:#[A-Za-z0-9._~!$&+,;=:@%/?-]*)?$`)

// Role is a tenant role with its permissions.
type Role struct {
	Name        string   `db:"name"`
	Description string   `db:"description"`
	BuiltIn     bool     `db:"built_in"`
	Permissions []string `db:"-"`
}

// Roles lists the tenant's roles with their permissions.
func Roles(ctx context.Context, db sqlx.QueryerContext) ([]Role, error) {
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
	all, err := Roles(ctx, db)
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

// Audit records a tenant mutation by caller in the tenant's audit log.
func Audit(ctx context.Context, e sqlx.ExecerContext, caller *Caller, action, targetType, target, detail string) error {
	kind, actor, actingAs := caller.actor()
	if len(detail) > 1000 {
		detail = detail[:1000]
	}
	_, err := e.ExecContext(ctx,
		"INSERT INTO audit_log (at, actor_kind, actor_id, acting_as, action, target_type, target, request_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		clock.Now(), kind, actor, actingAs, action, targetType, target,
		sql.NullString{String: caller.RequestID, Valid: caller.RequestID != ""}, sql.NullString{String: detail, Valid: detail != ""})
	return dberr.Translate(err)
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

// actOn loads the user a caller wants to change: only a caller holding
// every permission may change or remove a tenant_admin, so that a user
// manager (users:write) cannot unseat the tenant's administrators.
func actOn(ctx context.Context, tx *sqlx.Tx, caller *Caller, userID string) (*User, error) {
	u, roles, _, err := UserWithRoles(ctx, tx, userID)
	if err != nil {
		return nil, err
	}
	if slices.Contains(roles, RoleTenantAdmin) && !caller.Covers(Permissions) {
		return nil, ErrAdminProtected
	}
	return u, nil
}

// UserView is a user with its roles.
type UserView struct {
	User
	Roles []string
}

// ListUsers lists users in id order after cursor, optionally those whose
// email or name contains q, and returns the next page's cursor.
func ListUsers(ctx context.Context, db sqlx.QueryerContext, q string, limit int, cursor string) ([]UserView, string, error) {
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
	if err := sqlx.SelectContext(ctx, db, &users, query, args...); err != nil {
		return nil, "", dberr.Translate(err)
	}
	users, next := page.Cut(users, limit, func(u *User) string { return u.ID })
	roles, err := rolesOfUsers(ctx, db, users)
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

func isUUID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil
}

// GetUser returns one user with roles.
func GetUser(ctx context.Context, db sqlx.QueryerContext, id string) (*UserView, error) {
	if !isUUID(id) {
		return nil, ErrUserNotFound
	}
	u, roles, _, err := UserWithRoles(ctx, db, id)
	if err != nil {
		return nil, err
	}
	return &UserView{User: *u, Roles: roles}, nil
}

// AddUser creates a user with a password and roles; the caller must hold
// every permission the roles give.
func (a *Auth) AddUser(ctx context.Context, db *sqlx.DB, caller *Caller, in NewUser, roles []string) (*UserView, error) {
	var v apperr.Validator
	email := in.Check(&v, "")
	if len(roles) == 0 {
		roles = []string{RoleMember}
	}
	roles = dedupe(roles)
	perms, err := permissionsOf(ctx, db, roles)
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
	hash, err := a.guard.Hash(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	now := clock.Now()
	u := &User{ID: uuid.Must(uuid.NewV7()).String(), Email: email, PasswordHash: hash,
		FirstName: in.FirstName, LastName: in.LastName, IsActive: true, CreatedAt: now, UpdatedAt: now}
	if err := CreateUser(ctx, db, u, roles...); err != nil {
		return nil, err
	}
	if err := Audit(ctx, db, caller, "user.create", "user", u.ID, email+" as "+strings.Join(roles, ",")); err != nil {
		return nil, err
	}
	return &UserView{User: *u, Roles: roles}, nil
}

// SetRoles replaces a user's roles. Nobody may grant what they do not
// hold, and the last tenant_admin keeps the role.
func (a *Auth) SetRoles(ctx context.Context, db *sqlx.DB, caller *Caller, userID string, roles []string) (*UserView, error) {
	if !isUUID(userID) {
		return nil, ErrUserNotFound
	}
	roles = dedupe(roles)
	perms, err := permissionsOf(ctx, db, roles)
	if err != nil {
		return nil, err
	}
	if !caller.Covers(perms) {
		return nil, ErrEscalation
	}
	err = dberr.InTx(ctx, db, func(tx *sqlx.Tx) error {
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
		return Audit(ctx, tx, caller, "user.roles", "user", userID, strings.Join(roles, ","))
	})
	if err != nil {
		return nil, err
	}
	return GetUser(ctx, db, userID)
}

// DeleteUser removes a user (their tokens stop working on the next
// request) and revokes the API keys they created, and the keys those keys
// created; the last tenant_admin cannot be deleted.
func (a *Auth) DeleteUser(ctx context.Context, db *sqlx.DB, caller *Caller, userID string) error {
	if !isUUID(userID) {
		return ErrUserNotFound
	}
	return dberr.InTx(ctx, db, func(tx *sqlx.Tx) error {
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
		if err := Audit(ctx, tx, caller, "user.delete", "user", userID, u.Email); err != nil {
			return err
		}
		return revokeKeysOf(ctx, tx, caller, "its creator was removed", userID)
	})
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
func (a *Auth) SaveRole(ctx context.Context, db *sqlx.DB, caller *Caller, in RoleInput, create bool) (*Role, error) {
	// A permission listed many times is one row (and one statement).
	in.Permissions = dedupe(in.Permissions)
	if err := in.check(caller, create); err != nil {
		return nil, err
	}
	err := dberr.InTx(ctx, db, func(tx *sqlx.Tx) error {
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
			if _, err := tx.ExecContext(ctx, "INSERT INTO roles (name, description, built_in, created_at) VALUES (?, ?, 0, ?)", in.Name, in.Description, clock.Now()); err != nil {
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
		return Audit(ctx, tx, caller, action, "role", in.Name, strings.Join(in.Permissions, ","))
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
func (a *Auth) DeleteRole(ctx context.Context, db *sqlx.DB, caller *Caller, name string) error {
	if !rolePattern.MatchString(name) {
		return ErrRoleNotFound
	}
	return dberr.InTx(ctx, db, func(tx *sqlx.Tx) error {
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
		return Audit(ctx, tx, caller, "role.delete", "role", name, "")
	})
}

// Settings are a tenant's settings.
type Settings struct {
	DisplayName       string `db:"display_name" json:"displayName"`
	LogoURL           string `db:"logo_url" json:"logoUrl"`
	PrimaryColor      string `db:"primary_color" json:"primaryColor"`
	AllowPublicSignup bool   `db:"allow_public_signup" json:"allowPublicSignup"`
}

// GetSettings returns the tenant's settings.
func GetSettings(ctx context.Context, db sqlx.QueryerContext) (*Settings, error) {
	var s Settings
	err := sqlx.GetContext(ctx, db, &s, "SELECT display_name, logo_url, primary_color, allow_public_signup FROM settings WHERE id = 1")
	if errors.Is(err, sql.ErrNoRows) {
		return &Settings{}, nil
	}
	return &s, dberr.Translate(err)
}

// validLogoURL accepts "" or a strict https URL (see logoURLPattern).
func validLogoURL(raw string) bool {
	if raw == "" {
		return true
	}
	if len(raw) > 2048 || !logoURLPattern.MatchString(raw) {
		return false
	}
	u, err := url.Parse(raw)
	return err == nil && u.Scheme == "https" && u.Hostname() != "" && u.User == nil && u.Opaque == ""
}

// SettingsPatch changes settings; nil fields are left alone.
type SettingsPatch struct {
	DisplayName       *string
	LogoURL           *string
	PrimaryColor      *string
	AllowPublicSignup *bool
}

// UpdateSettings validates and applies p, naming every bad field.
func (a *Auth) UpdateSettings(ctx context.Context, db *sqlx.DB, caller *Caller, p SettingsPatch) (*Settings, error) {
	s, err := GetSettings(ctx, db)
	if err != nil {
		return nil, err
	}
	var v apperr.Validator
	if p.DisplayName != nil {
		v.Check(login.PlainText(*p.DisplayName) && utf8.RuneCountInString(*p.DisplayName) <= 200,
			"displayName", "must be at most 200 characters without control or invisible formatting characters")
		s.DisplayName = *p.DisplayName
	}
	if p.LogoURL != nil {
		v.Check(validLogoURL(*p.LogoURL), "logoUrl",
			"must be an https URL with a host, at most 2048 bytes, without spaces, quotes, angle brackets, parentheses, backslashes or control characters (or empty)")
		s.LogoURL = *p.LogoURL
	}
	if p.PrimaryColor != nil {
		v.Check(*p.PrimaryColor == "" || colorPattern.MatchString(*p.PrimaryColor), "primaryColor", "must be #rrggbb (or empty)")
		s.PrimaryColor = strings.ToLower(*p.PrimaryColor)
	}
	if p.AllowPublicSignup != nil {
		s.AllowPublicSignup = *p.AllowPublicSignup
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	err = dberr.InTx(ctx, db, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE settings SET display_name = ?, logo_url = ?, primary_color = ?, allow_public_signup = ?, updated_at = ? WHERE id = 1",
			s.DisplayName, s.LogoURL, s.PrimaryColor, s.AllowPublicSignup, clock.Now())
		if err != nil {
			return dberr.Translate(err)
		}
		return Audit(ctx, tx, caller, "settings.update", "settings", "settings", "")
	})
	return s, err
}

// AuditEntry is a row of the tenant audit log.
type AuditEntry struct {
	ID         int64          `db:"id"`
	At         time.Time      `db:"at"`
	ActorKind  string         `db:"actor_kind"`
	ActorID    sql.NullString `db:"actor_id"`
	ActingAs   sql.NullString `db:"acting_as"`
	Action     string         `db:"action"`
	TargetType string         `db:"target_type"`
	Target     string         `db:"target"`
	RequestID  sql.NullString `db:"request_id"`
	Detail     sql.NullString `db:"detail"`
}

// AuditLog lists entries newest first, older than cursor (an entry id).
func AuditLog(ctx context.Context, db sqlx.QueryerContext, limit int, cursor string) ([]AuditEntry, string, error) {
	before, err := page.Before(cursor)
	if err != nil {
		return nil, "", err
	}
	var out []AuditEntry
	if err := sqlx.SelectContext(ctx, db, &out, "SELECT * FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT ?", before, limit+1); err != nil {
		return nil, "", dberr.Translate(err)
	}
	out, next := page.Cut(out, limit, func(e *AuditEntry) string { return strconv.FormatInt(e.ID, 10) })
	return out, next, nil
}
