package router

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/internal/token"
)

type impersonateRequest struct {
	UserID string `json:"userId"`
}

// impersonate gives a superadmin a 15-minute token of a tenant user, which
// names the admin in its act claim. Both audit logs (the tenant's and the
// central one) are written before the token is issued, so no impersonation
// goes unrecorded.
func (h *handlers) impersonate(c *gin.Context) {
	var in impersonateRequest
	if err := Decode(c, &in); err != nil {
		Fail(c, err)
		return
	}
	ctx := c.Request.Context()
	admin := currentAdmin(c)
	t, u, err := h.tenants.Impersonate(ctx, c.Param("slug"), in.UserID, admin.ID, requestID(c))
	if err != nil {
		Fail(c, err)
		return
	}
	if err := h.audit.Record(ctx, "tenant.impersonate", "tenant", t.Slug, central.OutcomeSuccess, "user "+u.ID+" ("+u.Email+")"); err != nil {
		Fail(c, err)
		return
	}
	tok, err := h.keys.Issue(token.TenantAudience(t.Slug), u.ID, token.Claims{
		Email: u.Email, TenantID: t.Slug, Actor: &token.Actor{Subject: admin.ID},
	})
	if err != nil {
		Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{
		"access_token": tok, "token_type": "Bearer", "expires_in": int(h.keys.TTL().Seconds()),
		"user":   gin.H{"id": u.ID, "email": u.Email, "firstName": u.FirstName, "lastName": u.LastName},
		"tenant": gin.H{"slug": t.Slug, "name": t.Name},
	})
}
