package router

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/tenantdb"
)

// tenantUserView is a tenant user as the API shows it.
type tenantUserView struct {
	ID          string    `json:"id"`
	Email       string    `json:"email"`
	FirstName   string    `json:"firstName"`
	LastName    string    `json:"lastName"`
	IsActive    bool      `json:"isActive"`
	Roles       []string  `json:"roles"`
	Permissions []string  `json:"permissions,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
}

func viewTenantUser(u *tenantdb.User, roles, permissions []string) tenantUserView {
	if roles == nil {
		roles = []string{}
	}
	return tenantUserView{ID: u.ID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName,
		IsActive: u.IsActive, Roles: roles, Permissions: permissions, CreatedAt: u.CreatedAt}
}

type tenantRef struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
}

func refTenant(t *central.Tenant) tenantRef { return tenantRef{Slug: t.Slug, Name: t.Name} }

type tenantSessionView struct {
	AccessToken  string         `json:"access_token"`
	TokenType    string         `json:"token_type"`
	ExpiresIn    int            `json:"expires_in"`
	RefreshToken string         `json:"refresh_token"`
	User         tenantUserView `json:"user"`
	Tenant       tenantRef      `json:"tenant"`
}

func (h *handlers) tenantSession(c *gin.Context, s *tenantdb.Session) {
	_, roles, perms, err := h.store(c).UserWithRoles(c.Request.Context(), s.User.ID)
	if err != nil {
		Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, tenantSessionView{
		AccessToken: s.AccessToken, TokenType: "Bearer", ExpiresIn: s.ExpiresIn, RefreshToken: s.RefreshToken,
		User: viewTenantUser(s.User, roles, perms), Tenant: refTenant(currentTenant(c)),
	})
}

func (h *handlers) tenantRegister(c *gin.Context) {
	var in registerRequest
	if err := Decode(c, &in); err != nil {
		Fail(c, err)
		return
	}
	if in.Role != "" {
		// Public sign-up always makes a member; refuse rather than ignore.
		Fail(c, errRoleNotAllowed)
		return
	}
	u, err := h.store(c).Register(c.Request.Context(), c.ClientIP(), tenantdb.NewUser{
		Email: in.Email, Password: in.Password, FirstName: in.FirstName, LastName: in.LastName,
	})
	if err != nil {
		Fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, tenantUserAnswer{User: viewTenantUser(u, []string{tenantdb.RoleMember}, nil)})
}

func (h *handlers) tenantLogin(c *gin.Context) {
	var in credentials
	if err := Decode(c, &in); err != nil {
		Fail(c, err)
		return
	}
	s, err := h.store(c).Login(c.Request.Context(), c.ClientIP(), in.Email, in.Password)
	h.metrics.login("tenant", err)
	if err != nil {
		Fail(c, err)
		return
	}
	h.tenantSession(c, s)
}

// brandingView is what a login page may show of the tenant a request
// resolves to, before anyone logs in: its settings' branding and whether
// it takes sign-ups. Nothing else of the tenant (no id, status, domains,
// database or users).
type brandingView struct {
	Slug              string `json:"slug"`
	Name              string `json:"name" doc:"the name to show: the displayName setting, else the tenant's name"`
	PrimaryColor      string `json:"primaryColor" doc:"#rrggbb, or empty for the default"`
	LogoURL           string `json:"logoUrl" doc:"an https URL, or empty"`
	AllowPublicSignup bool   `json:"allowPublicSignup"`
}

type brandingAnswer struct {
	Tenant brandingView `json:"tenant"`
}

// tenantBranding answers the tenant's branding: one read of its settings,
// no credentials checked and no password hashed.
func (h *handlers) tenantBranding(c *gin.Context) {
	t := currentTenant(c)
	s, err := h.store(c).Settings(c.Request.Context())
	if err != nil {
		Fail(c, err)
		return
	}
	name := s.DisplayName
	if name == "" {
		name = t.Name
	}
	c.JSON(http.StatusOK, brandingAnswer{Tenant: brandingView{Slug: t.Slug, Name: name, PrimaryColor: s.PrimaryColor,
		LogoURL: s.LogoURL, AllowPublicSignup: s.AllowPublicSignup}})
}

func (h *handlers) tenantRefresh(c *gin.Context) {
	var in refreshRequest
	if err := Decode(c, &in); err != nil {
		Fail(c, err)
		return
	}
	s, err := h.store(c).Refresh(c.Request.Context(), in.RefreshToken)
	if err != nil {
		Fail(c, err)
		return
	}
	h.tenantSession(c, s)
}

func (h *handlers) tenantLogout(c *gin.Context) {
	var in refreshRequest
	if err := Decode(c, &in); err != nil {
		Fail(c, err)
		return
	}
	if err := h.store(c).Logout(c.Request.Context(), in.RefreshToken); err != nil {
		Fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// errNotAUser refuses user-only routes to API keys.
var errNotAUser = apperr.New(apperr.Forbidden, "FORBIDDEN", "API keys have no user account; use a user's token")

// usersOnly refuses API keys on a user-only route (TenantRoute.UsersOnly).
func usersOnly(c *gin.Context) {
	if Caller(c).User == nil {
		Fail(c, errNotAUser)
		c.Abort()
	}
}

func (h *handlers) tenantMe(c *gin.Context) {
	caller := Caller(c)
	c.JSON(http.StatusOK, meAnswer{
		User:   viewTenantUser(caller.User, caller.Roles, caller.Permissions),
		Tenant: refTenant(currentTenant(c)), ImpersonatedBy: caller.ImpersonatedBy,
	})
}

type configBody struct {
	Config json.RawMessage `json:"config"`
}

type configRequest struct {
	Config json.RawMessage `json:"config" api:"required"`
}

func (h *handlers) getTenantConfig(c *gin.Context) {
	cfg, err := h.store(c).Config(c.Request.Context(), Caller(c).User.ID)
	if err != nil {
		Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, configBody{Config: cfg})
}

func (h *handlers) putTenantConfig(c *gin.Context) {
	var in configRequest
	if err := Decode(c, &in); err != nil {
		Fail(c, err)
		return
	}
	if err := h.store(c).SetConfig(c.Request.Context(), Caller(c).User.ID, in.Config); err != nil {
		Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, configBody{Config: in.Config})
}
