package router

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/silo-dev/silo/internal/lib/apperr"
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
	Email string `json:"email" api:"required"`
	Role  string `json:"role" api:"required"`
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
	c.JSON(http.StatusCreated, invitationAnswer{Invitation: viewInvitation(inv), Token: raw})
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
	c.JSON(http.StatusOK, invitationsAnswer{Invitations: out})
}

func (h *handlers) revokeInvitation(c *gin.Context) {
	if err := h.store(c).RevokeInvitation(c.Request.Context(), Caller(c), c.Param("id")); err != nil {
		Fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

type acceptRequest struct {
	Token     string  `json:"token" api:"required"`
	Password  *string `json:"password" doc:"creates the invited account; omit it and send the invitee's bearer token to add the role to an existing account"`
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
	c.JSON(status, tenantUserAnswer{User: viewTenantUser(&u.User, u.Roles, nil)})
}

// inviteToTenant creates a tenant invitation through the central plane;
// provisioning.Invite applies the first-admin rule and audits it.
func (h *handlers) inviteToTenant(c *gin.Context) {
	var in invitationRequest
	if err := Decode(c, &in); err != nil {
		Fail(c, err)
		return
	}
	inv, raw, err := h.tenants.Invite(c.Request.Context(), c.Param("slug"), currentAdmin(c), requestID(c), in.Email, in.Role)
	if err != nil {
		Fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, invitationAnswer{Invitation: viewInvitation(inv), Token: raw})
}
