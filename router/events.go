package router

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/tenantdb"
)

// The live event streams (server-sent events) and their tickets; see
// docs/API.md, "Live events". A stream follows durable data only, read by
// id: on the central plane the central events table (which every instance
// writes and reads), on the tenant plane the tenant's audit log. So a
// stream on any instance sees every instance's changes, and a client that
// reconnects with the last id it saw (Last-Event-ID) misses nothing.

const (
	ctxTicket = "silo.eventTicket"

	// permAuditRead lets a tenant caller follow the tenant's events.
	permAuditRead = "audit:read"

	planeCentral = "central"
	planeTenant  = "tenant"
)

// The paths of the stream routes, to which the request timeout does not
// apply (see limits).
const (
	centralStreamPath = "/api/central/events"
	tenantStreamPath  = "/api/events"
)

var (
	errTicketAndHeader = apperr.Validation(apperr.FieldError{Field: "ticket",
		Message: "give a ticket or an Authorization (or X-API-Key) header, not both"})
	errBadLastEventID = apperr.Validation(apperr.FieldError{Field: "lastEventId",
		Message: "must be an event id (a whole number, 0 or more)"})
	errEventsUnavailable = apperr.New(apperr.Unavailable, "EVENTS_UNAVAILABLE", "Live events are not available on this instance")
)

type ticketAnswer struct {
	Ticket    string `json:"ticket" doc:"single use: open the stream with ?ticket=… within expiresIn seconds"`
	ExpiresIn int    `json:"expiresIn" doc:"seconds"`
}

// decodeNothing accepts no body or an empty JSON object.
func decodeNothing(c *gin.Context) error {
	if c.Request.ContentLength == 0 && len(c.Request.TransferEncoding) == 0 {
		return nil
	}
	var none struct{}
	return Decode(c, &none)
}

// issueTicket answers a ticket for the request's credential.
func (h *handlers) issueTicket(c *gin.Context, tk central.Ticket) {
	if err := decodeNothing(c); err != nil {
		Fail(c, err)
		return
	}
	if h.tickets == nil {
		Fail(c, errEventsUnavailable)
		return
	}
	raw, err := h.tickets.Issue(c.Request.Context(), tk)
	if err != nil {
		Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, ticketAnswer{Ticket: raw, ExpiresIn: int(central.TicketTTL.Seconds())})
}

func (h *handlers) centralEventsTicket(c *gin.Context) {
	raw, _ := bearer(c) // requireCentral accepted it
	h.issueTicket(c, central.Ticket{Plane: planeCentral, Credential: raw})
}

func (h *handlers) tenantEventsTicket(c *gin.Context) {
	raw, _ := tenantCredential(c) // requireTenantUser accepted it
	t := currentTenant(c)
	h.issueTicket(c, central.Ticket{Plane: planeTenant, TenantID: t.ID, TenantSlug: t.Slug, Credential: raw})
}

// streamTicket redeems the ?ticket= of a stream request, if any, before
// anything else (on the tenant plane, the ticket names the tenant when
// neither the host nor x-tenant-id does: an EventSource sends no header).
func (h *handlers) streamTicket(plane string) gin.HandlerFunc {
	return func(c *gin.Context) {
		raw := c.Query("ticket")
		if raw == "" {
			c.Next()
			return
		}
		if c.GetHeader("Authorization") != "" || c.GetHeader("X-API-Key") != "" {
			Fail(c, errTicketAndHeader)
			return
		}
		if h.tickets == nil {
			Fail(c, errEventsUnavailable)
			return
		}
		tk, err := h.tickets.Redeem(c.Request.Context(), raw, plane)
		if err != nil {
			Fail(c, err)
			return
		}
		c.Set(ctxTicket, tk)
		c.Next()
	}
}

// redeemedTicket is the ticket streamTicket redeemed (nil: none).
func redeemedTicket(c *gin.Context) *central.Ticket {
	if v, ok := c.Get(ctxTicket); ok {
		return v.(*central.Ticket)
	}
	return nil
}

// lastEventID is where the client resumes: the Last-Event-ID header (an
// EventSource's reconnection), else ?lastEventId=; false for a fresh
// stream.
func lastEventID(c *gin.Context) (int64, bool, error) {
	v := c.GetHeader("Last-Event-ID")
	if v == "" {
		v = c.Query("lastEventId")
	}
	if v == "" {
		return 0, false, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 0 {
		return 0, false, errBadLastEventID
	}
	return id, true, nil
}

// centralEvents streams the central plane's events to a central admin.
func (h *handlers) centralEvents(c *gin.Context) {
	raw, _ := bearer(c)
	if tk := redeemedTicket(c); tk != nil {
		raw = tk.Credential
	}
	if raw == "" {
		Fail(c, apperr.ErrUnauthenticated)
		return
	}
	a, err := h.central.Authenticate(c.Request.Context(), raw)
	if err != nil {
		Fail(c, err)
		return
	}
	if h.events == nil {
		Fail(c, errEventsUnavailable)
		return
	}
	src := &centralSource{events: h.events, svc: h.central, raw: raw, super: a.Role == central.RoleSuperadmin}
	h.stream(c, src, planeCentral+":"+a.ID, raw)
}

// tenantCredential is the request's tenant credential: the bearer token,
// else an API key in X-API-Key (which carries API keys only).
func tenantCredential(c *gin.Context) (string, error) {
	raw, _ := bearer(c)
	if key := c.GetHeader("X-API-Key"); key != "" && raw == "" {
		if !strings.HasPrefix(key, tenantdb.APIKeyPrefix) {
			return "", apperr.ErrUnauthenticated
		}
		raw = key
	}
	if raw == "" {
		return "", apperr.ErrUnauthenticated
	}
	return raw, nil
}

// authenticateTenant returns the caller a tenant credential stands for.
func authenticateTenant(ctx context.Context, st *tenantdb.Store, raw string) (*tenantdb.Caller, error) {
	if strings.HasPrefix(raw, tenantdb.APIKeyPrefix) {
		return st.AuthenticateKey(ctx, raw)
	}
	return st.Authenticate(ctx, raw)
}

// tenantEvents streams the tenant's audit log to a caller holding
// audit:read. Unlike the tenant routes, it leases the tenant's pool for
// each read alone (see tenantSource.withStore).
func (h *handlers) tenantEvents(c *gin.Context) {
	t := currentTenant(c)
	raw, err := tenantCredential(c)
	if tk := redeemedTicket(c); tk != nil {
		if tk.TenantID != t.ID {
			Fail(c, central.ErrTicketInvalid)
			return
		}
		raw, err = tk.Credential, nil
	}
	if err != nil {
		Fail(c, err)
		return
	}
	src := &tenantSource{conns: h.conns, auth: h.tenantAuth, tenant: t, cache: h.resolver.cache, raw: raw}
	var caller *tenantdb.Caller
	err = src.withStore(c.Request.Context(), func(st *tenantdb.Store) (err error) {
		caller, err = authenticateTenant(c.Request.Context(), st, raw)
		return err
	})
	if err != nil {
		Fail(c, err)
		return
	}
	if !caller.Has(permAuditRead) {
		Fail(c, apperr.ErrForbidden)
		return
	}
	who := planeTenant + ":" + t.ID + ":"
	switch {
	case caller.User != nil:
		who += "user:" + caller.User.ID
	case caller.APIKey != nil:
		who += "key:" + caller.APIKey.ID
	}
	h.stream(c, src, who, raw)
}

// centralSource is the central plane's events, as one admin may see them:
// audit entries only while the admin is a superadmin (as GET
// /api/central/audit).
type centralSource struct {
	events *central.Events
	svc    *central.Service
	raw    string
	super  bool
}

func (s *centralSource) bounds(ctx context.Context) (central.EventBounds, error) {
	return s.events.Bounds(ctx)
}

func (s *centralSource) fetch(ctx context.Context, after int64, limit int) ([]streamItem, error) {
	evs, err := s.events.After(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]streamItem, len(evs))
	for i, e := range evs {
		out[i] = streamItem{id: e.ID, ev: s.render(e)}
	}
	return out, nil
}

// render is the event as the stream sends it; nil when the admin may not
// see it.
func (s *centralSource) render(e central.Event) *sseEvent {
	ev := &sseEvent{ID: strconv.FormatInt(e.ID, 10), Type: e.Type, Tenant: e.Tenant.String, At: e.At}
	switch {
	case e.Type != central.EventAudit:
		ev.Data = json.RawMessage(e.Data)
	case s.super && e.Audit != nil:
		ev.Data = viewAudit(e.Audit)
	default:
		return nil
	}
	return ev
}

func (s *centralSource) check(ctx context.Context) string {
	a, err := s.svc.Authenticate(ctx, s.raw)
	if err != nil {
		return endReason(err)
	}
	s.super = a.Role == central.RoleSuperadmin
	return ""
}

// tenantSource is a tenant's audit log.
type tenantSource struct {
	conns  TenantConns
	auth   *tenantdb.Auth
	tenant *central.Tenant // as the catalog cache last had it
	cache  *central.TenantCache
	raw    string
}

// withStore runs fn on the tenant's store, over a lease of its pool taken
// for fn alone: between its reads a stream holds no connection, nor, in
// the shared connection mode, one of the server's shared connections
// (which a lease keeps from its first query to its release).
func (s *tenantSource) withStore(ctx context.Context, fn func(*tenantdb.Store) error) error {
	lease, err := s.conns.Lease(ctx, s.tenant)
	if err != nil {
		return err
	}
	defer lease.Release()
	return fn(s.auth.Store(lease.DB, s.tenant.Slug, s.tenant.ID))
}

func (s *tenantSource) bounds(ctx context.Context) (b central.EventBounds, err error) {
	err = s.withStore(ctx, func(st *tenantdb.Store) error {
		b.Newest, b.Step, err = st.LastAuditID(ctx) // the tenant audit log is never pruned: no Oldest
		return err
	})
	return b, err
}

func (s *tenantSource) fetch(ctx context.Context, after int64, limit int) ([]streamItem, error) {
	var entries []tenantdb.AuditEntry
	err := s.withStore(ctx, func(st *tenantdb.Store) (err error) {
		entries, err = st.AuditAfter(ctx, after, limit)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]streamItem, len(entries))
	for i := range entries {
		e := &entries[i]
		out[i] = streamItem{id: e.ID, ev: &sseEvent{ID: strconv.FormatInt(e.ID, 10), Type: central.EventAudit,
			Tenant: s.tenant.Slug, At: e.At, Data: viewTenantAudit(e)}}
	}
	return out, nil
}

// check ends the stream once the tenant is no longer active (or is
// another tenant under the same slug), or the caller may no longer read
// the audit log.
func (s *tenantSource) check(ctx context.Context) string {
	t, err := s.cache.BySlug(ctx, s.tenant.Slug)
	switch {
	case apperr.Is(err, "TENANT_NOT_FOUND"), err == nil && (t.ID != s.tenant.ID || t.Status != central.StatusActive):
		return "tenant-unavailable"
	case err != nil:
		return "" // the catalog is away for now: check again later
	}
	s.tenant = t
	var caller *tenantdb.Caller
	err = s.withStore(ctx, func(st *tenantdb.Store) (err error) {
		caller, err = authenticateTenant(ctx, st, s.raw)
		return err
	})
	if err != nil {
		return endReason(err)
	}
	if !caller.Has(permAuditRead) {
		return "revoked"
	}
	return ""
}

// endReason is why a stream ends when its credential is refused: its
// token expired, or it was revoked (the account deactivated, removed or
// demoted, the key revoked); "" for a failure that may pass (a database
// away), after which the stream goes on.
func endReason(err error) string {
	e := apperr.From(err)
	switch {
	case e.Code == "TOKEN_EXPIRED":
		return "expired"
	case e.Kind == apperr.Unauthenticated, e.Kind == apperr.Forbidden:
		return "revoked"
	}
	return ""
}
