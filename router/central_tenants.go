package router

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/internal/lib/page"
	"github.com/silo-dev/silo/provisioning"
)

// TenantView is a tenant as the API (and the CLI's --json) shows it: never its DB user's password.
type TenantView struct {
	ID            string    `json:"id"`
	Slug          string    `json:"slug"`
	Name          string    `json:"name"`
	Status        string    `json:"status" enum:"provisioning,active,suspended,failed,deleted"`
	Domains       []string  `json:"domains"`
	DatabaseName  string    `json:"databaseName"`
	DatabaseHost  string    `json:"databaseHost"`
	Server        string    `json:"server"`
	SchemaVersion int64     `json:"schemaVersion"`
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
	LastError     *string   `json:"lastError,omitempty"`
}

// ViewTenant returns the API view of t.
func ViewTenant(t *central.Tenant) TenantView {
	v := TenantView{
		ID: t.ID, Slug: t.Slug, Name: t.Name, Status: t.Status, Domains: t.Domains,
		DatabaseName: t.DatabaseName, DatabaseHost: t.DatabaseHost, Server: t.Server, SchemaVersion: t.SchemaVersion,
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
	}
	if v.Domains == nil {
		v.Domains = []string{}
	}
	if t.LastError.Valid && t.Status == central.StatusFailed {
		v.LastError = &t.LastError.String
	}
	return v
}

type tenantAdminRequest struct {
	Email     string `json:"email" api:"required"`
	Password  string `json:"password" api:"required"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
}

type createTenantRequest struct {
	Slug    string              `json:"slug" api:"required"`
	Name    string              `json:"name" api:"required"`
	Domains []string            `json:"domains"`
	Admin   *tenantAdminRequest `json:"admin"`
	// Server places the tenant on the named database server; else Labels
	// pick among the active servers carrying all of them.
	Server string            `json:"server"`
	Labels map[string]string `json:"labels"`
}

func (h *handlers) createTenant(c *gin.Context) {
	var in createTenantRequest
	if err := Decode(c, &in); err != nil {
		Fail(c, err)
		return
	}
	nt := provisioning.NewTenant{Slug: in.Slug, Name: in.Name, Domains: in.Domains, Server: in.Server, Labels: in.Labels}
	if in.Admin != nil {
		a := provisioning.NewAdmin(*in.Admin)
		nt.Admin = &a
	}
	t, err := h.tenants.Create(c.Request.Context(), nt)
	if err != nil {
		Fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, tenantAnswer{Tenant: ViewTenant(t)})
}

func (h *handlers) listTenants(c *gin.Context) {
	limit, err := PageLimit(c)
	if err != nil {
		Fail(c, err)
		return
	}
	ts, next, err := h.tenants.List(c.Request.Context(), central.TenantFilter{
		Status: c.Query("status"), Query: c.Query("q"), Limit: limit, Cursor: c.Query("cursor"),
	})
	if err != nil {
		Fail(c, err)
		return
	}
	out := make([]TenantView, 0, len(ts))
	for i := range ts {
		out = append(out, ViewTenant(&ts[i]))
	}
	c.JSON(http.StatusOK, tenantsAnswer{Tenants: out, NextCursor: page.Next(next)})
}

func (h *handlers) getTenant(c *gin.Context) {
	t, err := h.tenants.Get(c.Request.Context(), c.Param("slug"))
	h.answerTenant(c, t, err)
}

type patchTenantRequest struct {
	Name    *string   `json:"name"`
	Domains *[]string `json:"domains"`
}

func (h *handlers) patchTenant(c *gin.Context) {
	var in patchTenantRequest
	if err := Decode(c, &in); err != nil {
		Fail(c, err)
		return
	}
	t, err := h.tenants.Update(c.Request.Context(), c.Param("slug"), in.Name, in.Domains)
	h.answerTenant(c, t, err)
}

func (h *handlers) suspendTenant(c *gin.Context) {
	t, err := h.tenants.Suspend(c.Request.Context(), c.Param("slug"))
	h.answerTenant(c, t, err)
}

func (h *handlers) resumeTenant(c *gin.Context) {
	t, err := h.tenants.Resume(c.Request.Context(), c.Param("slug"))
	h.answerTenant(c, t, err)
}

// provisionTenant resumes a failed provisioning, or redoes an active or
// suspended tenant's DB account (provisioning.Provision, which also closes
// the tenant's pooled connections).
func (h *handlers) provisionTenant(c *gin.Context) {
	t, err := h.tenants.Provision(c.Request.Context(), c.Param("slug"))
	h.answerTenant(c, t, err)
}

func (h *handlers) deleteTenant(c *gin.Context) {
	purge := false
	switch c.Query("purge") {
	case "", "false":
	case "true":
		purge = true
	default:
		Fail(c, apperr.Validation(apperr.FieldError{Field: "purge", Message: "must be true or false"}))
		return
	}
	if err := h.tenants.Delete(c.Request.Context(), c.Param("slug"), purge); err != nil {
		Fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (h *handlers) answerTenant(c *gin.Context, t *central.Tenant, err error) {
	if err != nil {
		Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, tenantAnswer{Tenant: ViewTenant(t)})
}

type auditView struct {
	ID        int64       `json:"id"`
	At        time.Time   `json:"at"`
	Actor     auditActor  `json:"actor"`
	Action    string      `json:"action"`
	Target    auditTarget `json:"target"`
	RequestID string      `json:"requestId,omitempty"`
	ClientIP  string      `json:"clientIp,omitempty"`
	Outcome   string      `json:"outcome"`
	Detail    string      `json:"detail,omitempty"`
}

type auditActor struct {
	Kind  string `json:"kind"`
	ID    string `json:"id,omitempty"`
	Email string `json:"email,omitempty"`
}

type auditTarget struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

func (h *handlers) listAudit(c *gin.Context) {
	limit, err := PageLimit(c)
	if err != nil {
		Fail(c, err)
		return
	}
	entries, next, err := h.central.Audit().List(c.Request.Context(), limit, c.Query("cursor"))
	if err != nil {
		Fail(c, err)
		return
	}
	out := make([]auditView, 0, len(entries))
	for i := range entries {
		out = append(out, viewAudit(&entries[i]))
	}
	c.JSON(http.StatusOK, auditAnswer{Entries: out, NextCursor: page.Next(next)})
}

// viewAudit is a central audit entry as the API shows it.
func viewAudit(e *central.AuditEntry) auditView {
	return auditView{
		ID: e.ID, At: e.At, Action: e.Action, Outcome: e.Outcome, Detail: e.Detail.String,
		Actor:     auditActor{Kind: e.ActorKind, ID: e.ActorID.String, Email: e.ActorEmail.String},
		Target:    auditTarget{Type: e.TargetType, ID: e.Target},
		RequestID: e.RequestID.String, ClientIP: e.ClientIP.String,
	}
}

// migrationStatus reports every tenant's schema version against the latest.
func (h *handlers) migrationStatus(c *gin.Context) {
	st, err := h.tenants.FleetStatus(c.Request.Context())
	if err != nil {
		Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, st)
}
