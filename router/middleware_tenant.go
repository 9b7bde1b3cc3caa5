package router

import (
	"net"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/provisioning"
	"github.com/silo-dev/silo/tenantdb"
)

const (
	ctxTenant   = "silo.tenant"
	ctxTenantDB = "silo.tenantDB"
	// ctxTenantStore is the tenant schema's Store bound to the lease.
	ctxTenantStore = "silo.tenantStore"
	ctxCaller      = "silo.caller"
)

// Tenant-resolution errors of API.md.
var (
	errTenantRequired    = apperr.New(apperr.Invalid, "TENANT_ID_REQUIRED", "Tenant ID is required")
	errTenantMismatch    = apperr.New(apperr.Invalid, "TENANT_MISMATCH", "The x-tenant-id header and the host name different tenants")
	errTenantSuspended   = apperr.New(apperr.Forbidden, "TENANT_SUSPENDED", "This tenant is suspended")
	errTenantUnavailable = apperr.New(apperr.Unavailable, "TENANT_UNAVAILABLE", "This tenant is not available yet, retry later")
	errRoleNotAllowed    = apperr.Validation(apperr.FieldError{Field: "role", Message: "cannot be chosen at sign-up; new users are members"})
)

// tenantResolver finds the tenant of a request: the x-tenant-id header,
// then the subdomain of the base domain, then a mapped custom domain.
type tenantResolver struct {
	cache      *central.TenantCache
	baseDomain string
	trusted    []*net.IPNet
}

// hostName returns the request's host name: lower-case, without port or
// trailing dot. X-Forwarded-Host is used only from a trusted proxy.
func (r *tenantResolver) hostName(c *gin.Context) string {
	host := c.Request.Host
	if fwd := c.GetHeader("X-Forwarded-Host"); fwd != "" && r.fromTrustedProxy(c) {
		host, _, _ = strings.Cut(fwd, ",")
	}
	host = strings.TrimSpace(host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.TrimSuffix(strings.ToLower(host), ".")
}

func (r *tenantResolver) fromTrustedProxy(c *gin.Context) bool {
	ipStr, _, err := net.SplitHostPort(c.Request.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(ipStr)
	for _, n := range r.trusted {
		if ip != nil && n.Contains(ip) {
			return true
		}
	}
	return false
}

// resolve returns the request's tenant or the API.md error for it. A host
// that names no known tenant (api.example.com, an unmapped domain) does not
// stand in the way of the header; only two different known tenants clash.
func (r *tenantResolver) resolve(c *gin.Context) (*central.Tenant, error) {
	ctx := c.Request.Context()
	hostTenant, hostErr := r.fromHost(c)
	if hostErr != nil && !apperr.Is(hostErr, "TENANT_NOT_FOUND") {
		return nil, hostErr
	}
	// The header's canonical key, read straight from the map: Get with
	// "x-tenant-id" would canonicalize it into a new string every request.
	values := c.Request.Header["X-Tenant-Id"]
	header := ""
	if len(values) > 0 {
		header = values[0]
	} else if tk := redeemedTicket(c); tk != nil {
		header = tk.TenantSlug // a stream's ticket, which names its tenant
	}
	for _, other := range values {
		if other != header {
			return nil, errTenantMismatch // two headers naming different tenants
		}
	}
	if header == "" {
		switch {
		case hostTenant != nil:
			return hostTenant, nil
		case hostErr != nil:
			return nil, hostErr // a subdomain of the base domain that is no tenant
		}
		return nil, errTenantRequired
	}
	if !provisioning.SlugPattern.MatchString(header) {
		return nil, central.ErrTenantNotFound
	}
	t, err := r.cache.BySlug(ctx, header)
	if err != nil {
		return nil, err
	}
	if hostTenant != nil && hostTenant.Slug != t.Slug {
		return nil, errTenantMismatch
	}
	return t, nil
}

// fromHost resolves the host name: a one-label subdomain of the base domain
// names a slug; any other host may be a mapped custom domain. It returns
// nil, nil when the host cannot name a tenant at all.
func (r *tenantResolver) fromHost(c *gin.Context) (*central.Tenant, error) {
	host := r.hostName(c)
	if host == "" || host == r.baseDomain || net.ParseIP(host) != nil {
		return nil, nil
	}
	if r.baseDomain != "" {
		if label, ok := strings.CutSuffix(host, "."+r.baseDomain); ok {
			if strings.Contains(label, ".") || !provisioning.SlugPattern.MatchString(label) {
				return nil, central.ErrTenantNotFound
			}
			return r.cache.BySlug(c.Request.Context(), label)
		}
	}
	t, err := r.cache.ByDomain(c.Request.Context(), host)
	if apperr.Is(err, "TENANT_NOT_FOUND") {
		return nil, nil
	}
	return t, err
}

// requireTenant resolves the tenant and admits the request only while the
// tenant is active.
func (h *handlers) requireTenant(c *gin.Context) {
	t, err := h.resolver.resolve(c)
	if err != nil {
		Fail(c, err)
		return
	}
	h.cors.allowTenant(c, t) // before the status: a suspended tenant's page reads why
	switch t.Status {
	case central.StatusActive:
	case central.StatusSuspended:
		Fail(c, errTenantSuspended)
		return
	default:
		Fail(c, errTenantUnavailable)
		return
	}
	c.Set(ctxTenant, t)
	c.Next()
}

// tenantDB leases the tenant's pooled connection for the request and binds
// the tenant schema's store to it.
func (h *handlers) tenantDB(c *gin.Context) {
	t := currentTenant(c)
	lease, err := h.conns.Lease(c.Request.Context(), t)
	if err != nil {
		Fail(c, err)
		return
	}
	defer lease.Release()
	c.Set(ctxTenantDB, lease)
	c.Set(ctxTenantStore, h.tenantAuth.Store(lease.DB, t.Slug, t.ID))
	c.Next()
}

// requireTenantUser admits only a user of this tenant with a valid token,
// or one of this tenant's API keys (Authorization: Bearer silo_… or
// X-API-Key).
func (h *handlers) requireTenantUser(c *gin.Context) {
	raw, err := tenantCredential(c)
	if err != nil {
		Fail(c, err)
		return
	}
	caller, err := authenticateTenant(c.Request.Context(), h.store(c), raw)
	if err != nil {
		Fail(c, err)
		return
	}
	caller.RequestID = requestID(c)
	c.Set(ctxCaller, caller)
	c.Next()
}

// store is the tenant schema of the request's tenant, on its leased pool.
func (h *handlers) store(c *gin.Context) *tenantdb.Store { return tenantStore(c) }

func tenantStore(c *gin.Context) *tenantdb.Store {
	return c.MustGet(ctxTenantStore).(*tenantdb.Store)
}

func currentTenant(c *gin.Context) *central.Tenant { return c.MustGet(ctxTenant).(*central.Tenant) }
