package router

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/internal/apperr"
	"github.com/silo-dev/silo/tenantdb"
)

type invitationView struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"createdAt"`
	ExpiresAt time.Time `json:"expiresAt"`
}

func viewInvitation(i *tenantdb.Invitation) invitationView {
	return invitationView{ID: i.ID, Email: i.Email, Role: i.Role, Status: i.Status(), CreatedAt: i.CreatedAt, ExpiresAt: i.ExpiresAt}
}

type invitationRequest struct {
	Email string `json:"email"`
	Role  string `json:"role"`
}

func (h *handlers) createInvitation(c *gin.Context) {
	var in invitationRequest
	if err := Decode(c, &in); err != nil {
		Fail(c, err)
		return
	}
	inv, raw, err := h.store(c).CreateInvitation(c.Request.Context(), Caller(c), in.Email, in.Role)
	if err != nil {
		Fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"invitation": viewInvitation(inv), "token": raw})
}

func (h *handlers) listInvitations(c *gin.Context) {
	invs, err := h.store(c).Invitations(c.Request.Context())
	if err != nil {
		Fail(c, err)
		return
	}
	out := make([]invitationView, 0, len(invs))
	for i := range invs {
		out = append(out, viewInvitation(&invs[i]))
	}
	c.JSON(http.StatusOK, gin.H{"invitations": out})
}

func (h *handlers) revokeInvitation(c *gin.Context) {
	if err := h.store(c).RevokeInvitation(c.Request.Context(), Caller(c), c.Param("id")); err != nil {
		Fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

type acceptRequest struct {
	Token     string  `json:"token"`
	Password  *string `json:"password"`
	FirstName string  `json:"firstName"`
	LastName  string  `json:"lastName"`
}

// acceptInvitation is public: with password and names it creates the
// invited account; with the invitee's bearer token instead it adds the
// role to their existing account.
func (h *handlers) acceptInvitation(c *gin.Context) {
	var in acceptRequest
	if err := Decode(c, &in); err != nil {
		Fail(c, err)
		return
	}
	if in.Token == "" {
		Fail(c, apperr.Validation(apperr.FieldError{Field: "token", Message: "is required"}))
		return
	}
	acc := tenantdb.Acceptance{Token: in.Token, RequestID: requestID(c), ClientIP: c.ClientIP()}
	status := http.StatusOK
	if raw, present := bearer(c); present {
		caller, err := h.store(c).Authenticate(c.Request.Context(), raw)
		if err != nil {
			Fail(c, err)
			return
		}
		caller.RequestID = requestID(c)
		acc.Existing = caller
	} else {
		if in.Password == nil {
			Fail(c, apperr.Validation(apperr.FieldError{Field: "password", Message: "is required to create an account (or send the invitee's bearer token)"}))
			return
		}
		acc.NewUser = &tenantdb.NewUser{Password: *in.Password, FirstName: in.FirstName, LastName: in.LastName}
		status = http.StatusCreated
	}
	u, err := h.store(c).AcceptInvitation(c.Request.Context(), acc)
	if err != nil {
		Fail(c, err)
		return
	}
	c.JSON(status, gin.H{"user": viewTenantUser(&u.User, u.Roles, nil)})
}

// inviteToTenant creates a tenant invitation through the central plane,
// audited in both logs (tenant: by the central admin; central: tenant.invite).
// A plain admin may only invite into a tenant without an active
// tenant_admin; that refusal is audited in the central log too.
func (h *handlers) inviteToTenant(c *gin.Context) {
	var in invitationRequest
	if err := Decode(c, &in); err != nil {
		Fail(c, err)
		return
	}
	ctx := c.Request.Context()
	t, inv, raw, err := h.tenants.Invite(ctx, c.Param("slug"), currentAdmin(c), requestID(c), in.Email, in.Role)
	if errors.Is(err, tenantdb.ErrTenantHasAdmin) {
		// Both passed validation before the refusal: a plain address, a role of the tenant.
		detail := strings.ToLower(strings.TrimSpace(in.Email)) + " as " + in.Role + ": refused, the tenant has an active tenant_admin"
		if aerr := h.audit.Record(ctx, "tenant.invite", "tenant", c.Param("slug"), central.OutcomeFailure, detail); aerr != nil {
			logFrom(c).ErrorContext(ctx, "recording a refused invitation failed", "err", aerr)
		}
	}
	if err != nil {
		Fail(c, err)
		return
	}
	if err := h.audit.Record(ctx, "tenant.invite", "tenant", t.Slug, central.OutcomeSuccess, inv.Email+" as "+inv.Role); err != nil {
		Fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"invitation": viewInvitation(inv), "token": raw})
}
