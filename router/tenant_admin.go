package router

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/internal/lib/page"
	"github.com/silo-dev/silo/tenantdb"
)

// can admits the caller only if they hold permission, read from the tenant
// database for this request (tenantdb.Caller.Has is the one decision).
func can(permission string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !Caller(c).Has(permission) {
			Fail(c, apperr.ErrForbidden)
			return
		}
		c.Next()
	}
}

func (h *handlers) listUsers(c *gin.Context) {
	limit, err := PageLimit(c)
	if err != nil {
		Fail(c, err)
		return
	}
	users, next, err := h.store(c).ListUsers(c.Request.Context(), c.Query("q"), limit, c.Query("cursor"))
	if err != nil {
		Fail(c, err)
		return
	}
	out := make([]tenantUserView, 0, len(users))
	for _, u := range users {
		out = append(out, viewTenantUser(&u.User, u.Roles, nil))
	}
	c.JSON(http.StatusOK, tenantUsersAnswer{Users: out, NextCursor: page.Next(next)})
}

func (h *handlers) getUser(c *gin.Context) {
	u, err := h.store(c).GetUser(c.Request.Context(), c.Param("id"))
	if err != nil {
		Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, tenantUserAnswer{User: viewTenantUser(&u.User, u.Roles, nil)})
}

type addUserRequest struct {
	Email     string   `json:"email" api:"required"`
	Password  string   `json:"password" api:"required"`
	FirstName string   `json:"firstName"`
	LastName  string   `json:"lastName"`
	Roles     []string `json:"roles"`
}

func (h *handlers) addUser(c *gin.Context) {
	var in addUserRequest
	if err := Decode(c, &in); err != nil {
		Fail(c, err)
		return
	}
	u, err := h.store(c).AddUser(c.Request.Context(), Caller(c),
		tenantdb.NewUser{Email: in.Email, Password: in.Password, FirstName: in.FirstName, LastName: in.LastName}, in.Roles)
	if err != nil {
		Fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, tenantUserAnswer{User: viewTenantUser(&u.User, u.Roles, nil)})
}

type rolesRequest struct {
	Roles []string `json:"roles" api:"required"`
}

func (h *handlers) setUserRoles(c *gin.Context) {
	var in rolesRequest
	if err := Decode(c, &in); err != nil {
		Fail(c, err)
		return
	}
	if in.Roles == nil {
		Fail(c, apperr.Validation(apperr.FieldError{Field: "roles", Message: "is required"}))
		return
	}
	u, err := h.store(c).SetRoles(c.Request.Context(), Caller(c), c.Param("id"), in.Roles)
	if err != nil {
		Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, tenantUserAnswer{User: viewTenantUser(&u.User, u.Roles, nil)})
}

type patchUserRequest struct {
	IsActive *bool `json:"isActive" api:"required"`
}

// patchUser deactivates or reactivates a user (the one field it takes).
func (h *handlers) patchUser(c *gin.Context) {
	var in patchUserRequest
	if err := Decode(c, &in); err != nil {
		Fail(c, err)
		return
	}
	if in.IsActive == nil {
		Fail(c, apperr.Validation(apperr.FieldError{Field: "isActive", Message: "is required"}))
		return
	}
	u, err := h.store(c).SetActive(c.Request.Context(), Caller(c), c.Param("id"), *in.IsActive)
	if err != nil {
		Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, tenantUserAnswer{User: viewTenantUser(&u.User, u.Roles, nil)})
}

func (h *handlers) deleteUser(c *gin.Context) {
	if err := h.store(c).DeleteUser(c.Request.Context(), Caller(c), c.Param("id")); err != nil {
		Fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

type roleView struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	BuiltIn     bool     `json:"builtIn"`
	Permissions []string `json:"permissions"`
}

func viewRole(r *tenantdb.Role) roleView {
	return roleView{Name: r.Name, Description: r.Description, BuiltIn: r.BuiltIn, Permissions: r.Permissions}
}

func (h *handlers) listRoles(c *gin.Context) {
	roles, err := h.store(c).Roles(c.Request.Context())
	if err != nil {
		Fail(c, err)
		return
	}
	out := make([]roleView, 0, len(roles))
	for i := range roles {
		out = append(out, viewRole(&roles[i]))
	}
	c.JSON(http.StatusOK, rolesAnswer{Roles: out})
}

type roleRequest struct {
	Name        string   `json:"name" doc:"required when creating; on a change it must be absent or the route's name"`
	Description string   `json:"description"`
	Permissions []string `json:"permissions"`
}

func (h *handlers) createRole(c *gin.Context) { h.saveRole(c, true) }
func (h *handlers) updateRole(c *gin.Context) { h.saveRole(c, false) }

func (h *handlers) saveRole(c *gin.Context, create bool) {
	var in roleRequest
	if err := Decode(c, &in); err != nil {
		Fail(c, err)
		return
	}
	if !create {
		if in.Name != "" && in.Name != c.Param("name") {
			Fail(c, apperr.Validation(apperr.FieldError{Field: "name", Message: "cannot be changed"}))
			return
		}
		in.Name = c.Param("name")
	}
	r, err := h.store(c).SaveRole(c.Request.Context(), Caller(c), tenantdb.RoleInput(in), create)
	if err != nil {
		Fail(c, err)
		return
	}
	status := http.StatusOK
	if create {
		status = http.StatusCreated
	}
	c.JSON(status, roleAnswer{Role: viewRole(r)})
}

func (h *handlers) deleteRole(c *gin.Context) {
	if err := h.store(c).DeleteRole(c.Request.Context(), Caller(c), c.Param("name")); err != nil {
		Fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (h *handlers) getSettings(c *gin.Context) {
	s, err := h.store(c).Settings(c.Request.Context())
	if err != nil {
		Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, settingsAnswer{Settings: *s})
}

type settingsRequest struct {
	DisplayName       *string `json:"displayName"`
	LogoURL           *string `json:"logoUrl"`
	PrimaryColor      *string `json:"primaryColor"`
	AllowPublicSignup *bool   `json:"allowPublicSignup"`
}

func (h *handlers) putSettings(c *gin.Context) {
	var in settingsRequest
	if err := Decode(c, &in); err != nil {
		Fail(c, err)
		return
	}
	s, err := h.store(c).UpdateSettings(c.Request.Context(), Caller(c), tenantdb.SettingsPatch(in))
	if err != nil {
		Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, settingsAnswer{Settings: *s})
}

type tenantAuditView struct {
	ID        int64       `json:"id"`
	At        time.Time   `json:"at"`
	Actor     auditActor  `json:"actor"`
	ActingAs  string      `json:"actingAs,omitempty"`
	Action    string      `json:"action"`
	Target    auditTarget `json:"target"`
	RequestID string      `json:"requestId,omitempty"`
	Detail    string      `json:"detail,omitempty"`
}

func (h *handlers) tenantAudit(c *gin.Context) {
	limit, err := PageLimit(c)
	if err != nil {
		Fail(c, err)
		return
	}
	entries, next, err := h.store(c).AuditLog(c.Request.Context(), limit, c.Query("cursor"))
	if err != nil {
		Fail(c, err)
		return
	}
	out := make([]tenantAuditView, 0, len(entries))
	for i := range entries {
		out = append(out, viewTenantAudit(&entries[i]))
	}
	c.JSON(http.StatusOK, tenantAuditAnswer{Entries: out, NextCursor: page.Next(next)})
}

// viewTenantAudit is a tenant audit entry as the API shows it.
func viewTenantAudit(e *tenantdb.AuditEntry) tenantAuditView {
	return tenantAuditView{ID: e.ID, At: e.At, Action: e.Action, ActingAs: e.ActingAs.String,
		Actor:  auditActor{Kind: e.ActorKind, ID: e.ActorID.String},
		Target: auditTarget{Type: e.TargetType, ID: e.Target}, RequestID: e.RequestID.String, Detail: e.Detail.String}
}
