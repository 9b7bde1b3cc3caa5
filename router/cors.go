package router

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/config"
	"github.com/silo-dev/silo/internal/lib/apperr"
)

// corsPolicy decides which browser origins may read Silo's answers from
// another origin (docs/API.md, "CORS"). An origin is allowed when
//
//   - it is one of SILO_CORS_ORIGINS (compared byte for byte with the
//     Origin header, which browsers send as scheme://host[:port] in lower
//     case without a default port): on every route; or
//   - its scheme is http or https and its host (any port) is a custom
//     domain of the tenant the request resolves to (x-tenant-id, then the
//     host: requireTenant): on that tenant's routes, from the moment the
//     tenant is resolved, so an error answered before (unknown route or
//     tenant, TENANT_MISMATCH) is not readable, and a domain of tenant A
//     calling with x-tenant-id of tenant B is refused.
//
// A preflight (OPTIONS with Origin and Access-Control-Request-Method)
// carries neither credentials nor the value of x-tenant-id, so on a tenant
// path (under /api/, not /api/central/) it decides by the host alone: when
// the request's host names a tenant (its subdomain of SILO_BASE_DOMAIN or
// a custom domain), the origin's host must be one of that tenant's custom
// domains; when the host names no tenant, it must be some tenant's custom
// domain, and the request that follows is held to the rule above for the
// tenant it names. Every preflight is answered 204; only an allowed origin
// gets Access-Control-Allow-* headers, without which the browser stops.
//
// Silo authenticates with bearer tokens and API keys, never cookies, so
// Access-Control-Allow-Credentials is never sent; nor is "*".
type corsPolicy struct {
	origins  map[string]bool // SILO_CORS_ORIGINS
	resolver *tenantResolver
}

// The CORS header values, shared by every answer like securityHeaders: a
// handler may replace them, never write into them.
var (
	varyOrigin    = []string{"Origin"}
	corsExposed   = []string{"ETag, X-Request-Id, Retry-After"}
	corsMethods   = []string{"GET, HEAD, POST, PUT, PATCH, DELETE"}
	corsHeaders   = []string{"Authorization, Content-Type, If-Match, X-API-Key, x-tenant-id, X-Request-Id"}
	corsPreflight = []string{"600"} // seconds a browser may keep a preflight's answer
)

func newCORS(origins []string, resolver *tenantResolver) *corsPolicy {
	p := &corsPolicy{origins: map[string]bool{}, resolver: resolver}
	for _, o := range origins {
		p.origins[o] = true
	}
	return p
}

// middleware answers preflights and lets the listed origins read every
// answer. Every answer varies by Origin.
func (p *corsPolicy) middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Writer.Header()["Vary"] = varyOrigin
		origin := requestOrigin(c)
		switch {
		case origin == "":
		case c.Request.Method == http.MethodOptions && c.Request.Header.Get("Access-Control-Request-Method") != "":
			p.preflight(c, origin)
			return
		case p.origins[origin]:
			allowOrigin(c.Writer.Header(), origin)
		}
		c.Next()
	}
}

// requestOrigin is the request's one Origin header ("" for none or several).
func requestOrigin(c *gin.Context) string {
	if v := c.Request.Header["Origin"]; len(v) == 1 {
		return v[0]
	}
	return ""
}

func allowOrigin(h http.Header, origin string) {
	h["Access-Control-Allow-Origin"] = []string{origin}
	h["Access-Control-Expose-Headers"] = corsExposed
}

// preflight answers 204, with the allow headers for an allowed origin.
func (p *corsPolicy) preflight(c *gin.Context, origin string) {
	if p.origins[origin] || (tenantPath(c.Request.URL.Path) && p.preflightTenant(c, origin)) {
		h := c.Writer.Header()
		h["Access-Control-Allow-Origin"] = []string{origin}
		h["Access-Control-Allow-Methods"] = corsMethods
		h["Access-Control-Allow-Headers"] = corsHeaders
		h["Access-Control-Max-Age"] = corsPreflight
	}
	c.AbortWithStatus(http.StatusNoContent)
}

// tenantPath reports whether path is on the tenant plane.
func tenantPath(path string) bool {
	return strings.HasPrefix(path, "/api/") && !strings.HasPrefix(path, "/api/central/")
}

// preflightTenant applies the preflight's tenant rule: the host's tenant's
// domains, or any tenant's when the host names none.
func (p *corsPolicy) preflightTenant(c *gin.Context, origin string) bool {
	host, ok := originHost(origin)
	if !ok || p.resolver == nil || p.resolver.cache == nil {
		return false
	}
	t, err := p.resolver.fromHost(c)
	switch {
	case t != nil:
		return slices.Contains(t.Domains, host)
	case err != nil && !apperr.Is(err, "TENANT_NOT_FOUND"):
		return false // the catalog cannot answer: refuse
	}
	_, err = p.resolver.cache.ByDomain(c.Request.Context(), host)
	return err == nil
}

// allowTenant lets the request's origin read the answer when its host is
// one of t's custom domains; requireTenant calls it once t is resolved.
func (p *corsPolicy) allowTenant(c *gin.Context, t *central.Tenant) {
	origin := requestOrigin(c)
	if p == nil || origin == "" || p.origins[origin] {
		return
	}
	if host, ok := originHost(origin); ok && slices.Contains(t.Domains, host) {
		allowOrigin(c.Writer.Header(), origin)
	}
}

// originHost returns the host of an Origin header written the way browsers
// write it (false for anything else: "null", a path, upper case).
func originHost(origin string) (string, bool) {
	canonical, host, err := config.ParseOrigin(origin)
	if err != nil || canonical != origin {
		return "", false
	}
	return host, true
}
