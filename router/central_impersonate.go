package router

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/silo-dev/silo/provisioning"
)

type impersonateRequest struct {
	UserID string `json:"userId" doc:"the user's id; or give email instead"`
	Email  string `json:"email" doc:"the user's email, instead of userId"`
}

// impersonate gives a superadmin an access token of a tenant user, which
// names the admin in its act claim (provisioning.Impersonate audits it in
// both logs before issuing the token).
func (h *handlers) impersonate(c *gin.Context) {
	var in impersonateRequest
	if err := Decode(c, &in); err != nil {
		Fail(c, err)
		return
	}
	imp, err := h.tenants.Impersonate(c.Request.Context(), c.Param("slug"),
		provisioning.UserRef{ID: in.UserID, Email: in.Email}, currentAdmin(c).ID, requestID(c))
	if err != nil {
		Fail(c, err)
		return
	}
	u, t := imp.User, imp.Tenant
	c.JSON(http.StatusOK, impersonationAnswer{
		AccessToken: imp.AccessToken, TokenType: "Bearer", ExpiresIn: imp.ExpiresIn,
		User:   impersonatedAs{ID: u.ID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName},
		Tenant: tenantRef{Slug: t.Slug, Name: t.Name},
	})
}
