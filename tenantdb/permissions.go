package tenantdb

import (
	"database/sql"
	"slices"

	"github.com/silo-dev/silo/internal/lib/apperr"
)

// Permissions of API.md, the only ones a role may hold.
var Permissions = []string{
	"users:read", "users:write", "roles:write", "settings:write",
	"apikeys:write", "audit:read", "data:read", "data:write",
}

// ValidPermission reports whether p is one of Permissions.
func ValidPermission(p string) bool { return slices.Contains(Permissions, p) }

// checkPermissions adds to v each of perms that is not a permission.
func checkPermissions(v *apperr.Validator, perms []string) {
	for _, p := range perms {
		if !ValidPermission(p) {
			v.Add("permissions", "unknown permission: "+p)
		}
	}
}

// Has reports whether the caller holds permission p. It is the one
// authorization decision of the tenant plane: every route asks it, and
// the caller's permissions were read from the tenant database for this
// request.
func (c *Caller) Has(p string) bool { return slices.Contains(c.Permissions, p) }

// Covers reports whether the caller holds every permission in ps, so that
// nobody can hand out (to a role, a user or an API key) more than they have.
func (c *Caller) Covers(ps []string) bool {
	for _, p := range ps {
		if !c.Has(p) {
			return false
		}
	}
	return true
}

// actor names the caller for the audit log: a user, an API key, or a
// central admin acting as a user (impersonation) or on their own.
func (c *Caller) actor() (kind, id string, actingAs sql.NullString) {
	switch {
	case c.APIKey != nil:
		return "api_key", c.APIKey.ID, sql.NullString{}
	case c.ImpersonatedBy != "":
		return "central_admin", c.ImpersonatedBy, sql.NullString{String: c.User.ID, Valid: true}
	case c.User != nil:
		return "user", c.User.ID, sql.NullString{}
	}
	return c.Kind, c.ID, sql.NullString{}
}

// ActorID is the id the audit log and created records name the caller by.
func (c *Caller) ActorID() string {
	_, id, _ := c.actor()
	return id
}
