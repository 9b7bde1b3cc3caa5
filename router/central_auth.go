package router

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/internal/lib/apperr"
)

const ctxAdmin = "silo.centralAdmin"

// adminView is a central admin as the API shows it: never the password hash.
type adminView struct {
	ID             string    `json:"id"`
	Email          string    `json:"email"`
	FirstName      string    `json:"firstName"`
	LastName       string    `json:"lastName"`
	Role           string    `json:"role"`
	IsActive       bool      `json:"isActive"`
	IsCentralAdmin bool      `json:"isCentralAdmin"`
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt"`
}

func viewAdmin(a *central.Admin) adminView {
	return adminView{
		ID: a.ID, Email: a.Email, FirstName: a.FirstName, LastName: a.LastName,
		Role: a.Role, IsActive: a.IsActive, IsCentralAdmin: true,
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
	}
}

type sessionView struct {
	AccessToken  string    `json:"access_token"`
	TokenType    string    `json:"token_type"`
	ExpiresIn    int       `json:"expires_in"`
	RefreshToken string    `json:"refresh_token"`
	User         adminView `json:"user"`
}

func viewSession(s *central.Session) sessionView {
	return sessionView{
		AccessToken: s.AccessToken, TokenType: "Bearer", ExpiresIn: s.ExpiresIn,
		RefreshToken: s.RefreshToken, User: viewAdmin(s.Admin),
	}
}

type credentials struct {
	Email    string `json:"email" api:"required"`
	Password string `json:"password" api:"required"`
}

func (h *handlers) centralLogin(c *gin.Context) {
	var in credentials
	if err := Decode(c, &in); err != nil {
		Fail(c, err)
		return
	}
	s, err := h.central.Login(c.Request.Context(), c.ClientIP(), in.Email, in.Password)
	h.metrics.login("central", err)
	if err != nil {
		Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, viewSession(s))
}

type registerRequest struct {
	Email     string `json:"email" api:"required"`
	Password  string `json:"password" api:"required"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	Role      string `json:"role" enum:"superadmin,admin" doc:"central registration only (default superadmin for the first admin); refused on a tenant's sign-up"`
}

// centralRegister is open while no central admin exists; afterwards the
// caller must present a superadmin's token, which the service checks.
func (h *handlers) centralRegister(c *gin.Context) {
	var actor *central.Admin
	if raw, present := bearer(c); present {
		a, err := h.central.Authenticate(c.Request.Context(), raw)
		if err != nil {
			Fail(c, err)
			return
		}
		actor = a
		setActor(c, a)
	}
	var in registerRequest
	if err := Decode(c, &in); err != nil {
		Fail(c, err)
		return
	}
	a, err := h.central.Register(c.Request.Context(), actor, central.NewAdmin(in))
	if err != nil {
		Fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, adminAnswer{User: viewAdmin(a)})
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token" api:"required"`
}

func (h *handlers) centralRefresh(c *gin.Context) {
	var in refreshRequest
	if err := Decode(c, &in); err != nil {
		Fail(c, err)
		return
	}
	s, err := h.central.Refresh(c.Request.Context(), in.RefreshToken)
	if err != nil {
		Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, viewSession(s))
}

func (h *handlers) centralLogout(c *gin.Context) {
	var in refreshRequest
	if err := Decode(c, &in); err != nil {
		Fail(c, err)
		return
	}
	if err := h.central.Logout(c.Request.Context(), in.RefreshToken); err != nil {
		Fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (h *handlers) centralMe(c *gin.Context) {
	c.JSON(http.StatusOK, adminAnswer{User: viewAdmin(currentAdmin(c))})
}

// bearer returns the token of an "Authorization: Bearer" header and whether
// an Authorization header was sent at all.
func bearer(c *gin.Context) (string, bool) {
	h := c.GetHeader("Authorization")
	if h == "" {
		return "", false
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", true
	}
	return strings.TrimSpace(tok), true
}

// requireCentral admits only a central admin with a valid access token,
// as the database has them now.
func (h *handlers) requireCentral(c *gin.Context) {
	raw, _ := bearer(c)
	if raw == "" {
		Fail(c, apperr.ErrUnauthenticated)
		return
	}
	a, err := h.central.Authenticate(c.Request.Context(), raw)
	if err != nil {
		Fail(c, err)
		return
	}
	c.Set(ctxAdmin, a)
	setActor(c, a)
	c.Next()
}

// setActor records the authenticated admin as the actor of this request.
func setActor(c *gin.Context, a *central.Admin) {
	ctx := c.Request.Context()
	actor := central.ActorFrom(ctx)
	actor.Kind, actor.ID, actor.Email = "admin", a.ID, a.Email
	c.Request = c.Request.WithContext(central.WithActor(ctx, actor))
}

func requireSuperadmin(c *gin.Context) {
	if currentAdmin(c).Role != central.RoleSuperadmin {
		Fail(c, apperr.ErrForbidden)
		return
	}
	c.Next()
}

func currentAdmin(c *gin.Context) *central.Admin {
	return c.MustGet(ctxAdmin).(*central.Admin)
}
