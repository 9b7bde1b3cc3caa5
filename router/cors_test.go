package router_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/silo-dev/silo/internal/testsupport/testsilo"
)

const appOrigin = "https://app.example.com"

// corsServer serves SILO_CORS_ORIGINS=appOrigin and two tenants with a
// custom domain each: alpha (shop.alpha.test) and bravo (shop.bravo.test).
func corsServer(t *testing.T) *server {
	t.Helper()
	s := newServer(t, func(o *serverOptions) { o.corsOrigins = []string{appOrigin} })
	for _, slug := range []string{"alpha", "bravo"} {
		n := testsilo.TenantOf(slug)
		n.Domains = []string{"shop." + slug + ".test"}
		s.Tenant(t, n)
	}
	return s
}

// withOrigin is req with an Origin header.
func withOrigin(req testsilo.Request, origin string) testsilo.Request {
	h := map[string]string{"Origin": origin}
	for k, v := range req.Header {
		h[k] = v
	}
	req.Header = h
	return req
}

// requireAllowed fails unless r lets origin read it, exposing Silo's headers.
func requireAllowed(t *testing.T, r *testsilo.Response, origin, what string) {
	t.Helper()
	if got := r.Header.Values("Access-Control-Allow-Origin"); len(got) != 1 || got[0] != origin {
		t.Errorf("%s (%d): Access-Control-Allow-Origin %q, want %q", what, r.Status, got, origin)
	}
	exposed := strings.Join(r.Header.Values("Access-Control-Expose-Headers"), ",")
	for _, h := range []string{"ETag", "X-Request-Id", "Retry-After"} {
		if !strings.Contains(exposed, h) {
			t.Errorf("%s: Access-Control-Expose-Headers %q lacks %s", what, exposed, h)
		}
	}
	requireVaryOrigin(t, r, what)
	if v := r.Header.Get("Access-Control-Allow-Credentials"); v != "" {
		t.Errorf("%s: Access-Control-Allow-Credentials %q", what, v)
	}
}

// requireRefused fails if r carries any CORS permission.
func requireRefused(t *testing.T, r *testsilo.Response, what string) {
	t.Helper()
	for name := range r.Header {
		if strings.HasPrefix(name, "Access-Control-") {
			t.Errorf("%s (%d): %s: %q sent to an origin that is not allowed", what, r.Status, name, r.Header.Values(name))
		}
	}
	requireVaryOrigin(t, r, what)
}

func requireVaryOrigin(t *testing.T, r *testsilo.Response, what string) {
	t.Helper()
	if !strings.Contains(strings.Join(r.Header.Values("Vary"), ","), "Origin") {
		t.Errorf("%s: Vary %q lacks Origin", what, r.Header.Values("Vary"))
	}
}

func TestCORSListedOrigin(t *testing.T) {
	t.Parallel()
	s := corsServer(t)
	alpha := s.Login("alpha", "admin@alpha.test")
	for _, req := range []testsilo.Request{
		{Method: "GET", Path: "/healthz"},
		{Method: "GET", Path: "/no/such/route"},
		{Method: "GET", Path: "/api/central/auth/me"},
		{Method: "POST", Path: "/api/central/auth/login", Body: `{"email":`},
		{Method: "GET", Path: "/api/auth/me", Tenant: "alpha"},
		{Method: "GET", Path: "/api/auth/me", Tenant: "alpha", Token: alpha},
		{Method: "GET", Path: "/api/auth/me", Tenant: "nosuch-tenant"},
		{Method: "GET", Path: "/api/openapi.json"},
	} {
		r := s.Do(t, withOrigin(req, appOrigin))
		requireAllowed(t, r, appOrigin, req.Method+" "+req.Path)
	}
}

func TestCORSOtherOriginsGetNothing(t *testing.T) {
	t.Parallel()
	s := corsServer(t)
	for _, origin := range []string{
		"https://evil.example.com", "null", "http://app.example.com", "https://app.example.com:8443",
		"https://APP.example.com", "https://app.example.com/", "https://app.example.com.evil.test",
		"https://example.com", "*", "https://shop.alpha.test.evil.test", "ftp://shop.alpha.test", "https://alpha.silo.test",
	} {
		for _, req := range []testsilo.Request{
			{Method: "GET", Path: "/healthz"},
			{Method: "GET", Path: "/api/auth/me", Tenant: "alpha"},
			{Method: "GET", Path: "/api/central/auth/me"},
		} {
			requireRefused(t, s.Do(t, withOrigin(req, origin)), origin+" "+req.Path)
		}
	}
	// Without Origin nothing changes but Vary.
	requireRefused(t, s.Do(t, testsilo.Request{Method: "GET", Path: "/healthz"}), "no Origin")
}

// A tenant's custom domain reads that tenant's answers, and only that
// tenant's: not another tenant's, not the central plane's.
func TestCORSTenantCustomDomain(t *testing.T) {
	t.Parallel()
	s := corsServer(t)
	alpha := s.Login("alpha", "admin@alpha.test")
	me := "/api/auth/me"
	for _, origin := range []string{"https://shop.alpha.test", "http://shop.alpha.test", "https://shop.alpha.test:8443"} {
		r := s.Expect(t, 200, "", withOrigin(testsilo.Request{Method: "GET", Path: me, Tenant: "alpha", Token: alpha}, origin))
		requireAllowed(t, r, origin, origin+" with its tenant")
		r = s.Expect(t, 401, "UNAUTHENTICATED", withOrigin(testsilo.Request{Method: "GET", Path: me, Tenant: "alpha"}, origin))
		requireAllowed(t, r, origin, origin+" unauthenticated")
		r = s.Do(t, withOrigin(testsilo.Request{Method: "GET", Path: me, Host: "shop.alpha.test", Token: alpha}, origin))
		requireAllowed(t, r, origin, origin+" on its own host")
		r = s.Do(t, withOrigin(testsilo.Request{Method: "GET", Path: me, Host: "alpha.silo.test", Token: alpha}, origin))
		requireAllowed(t, r, origin, origin+" on its tenant's subdomain")
	}
	origin := "https://shop.alpha.test"
	for what, req := range map[string]testsilo.Request{
		"another tenant":              {Method: "GET", Path: me, Tenant: "bravo"},
		"another tenant's host":       {Method: "GET", Path: me, Host: "shop.bravo.test"},
		"no tenant":                   {Method: "GET", Path: me},
		"an unknown tenant":           {Method: "GET", Path: me, Tenant: "nosuch-tenant"},
		"a mismatch":                  {Method: "GET", Path: me, Tenant: "alpha", Host: "bravo.silo.test"},
		"the central plane":           {Method: "GET", Path: "/api/central/auth/me"},
		"the central login":           {Method: "POST", Path: "/api/central/auth/login", Body: map[string]string{"email": "a@b.test", "password": "x"}},
		"health":                      {Method: "GET", Path: "/healthz"},
		"another tenant with a token": {Method: "GET", Path: me, Tenant: "bravo", Token: s.Login("bravo", "admin@bravo.test")},
	} {
		requireRefused(t, s.Do(t, withOrigin(req, origin)), what)
	}
	// A suspended tenant's page may still read why it is refused.
	s.Expect(t, 200, "", testsilo.Request{Method: "POST", Path: "/api/central/tenants/alpha/suspend", Token: s.AdminToken()})
	r := s.Expect(t, 403, "TENANT_SUSPENDED", withOrigin(testsilo.Request{Method: "GET", Path: me, Tenant: "alpha", Token: alpha}, origin))
	requireAllowed(t, r, origin, "suspended tenant")
}

// preflight sends a browser's preflight for a POST with credentials.
func preflight(s *server, t *testing.T, path, origin, host string) *testsilo.Response {
	t.Helper()
	r := s.Do(t, testsilo.Request{Method: "OPTIONS", Path: path, Host: host, Header: map[string]string{
		"Origin": origin, "Access-Control-Request-Method": "POST",
		"Access-Control-Request-Headers": "authorization,content-type,x-tenant-id",
	}})
	if r.Status != http.StatusNoContent || len(r.Raw) != 0 {
		t.Errorf("preflight %s from %s (host %q): %d %q, want 204 and no body", path, origin, host, r.Status, r.Raw)
	}
	return r
}

func requirePreflightAllowed(t *testing.T, r *testsilo.Response, origin, what string) {
	t.Helper()
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != origin {
		t.Errorf("%s: Access-Control-Allow-Origin %q, want %q", what, got, origin)
	}
	methods, headers := r.Header.Get("Access-Control-Allow-Methods"), strings.ToLower(r.Header.Get("Access-Control-Allow-Headers"))
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"} {
		if !strings.Contains(methods, m) {
			t.Errorf("%s: Access-Control-Allow-Methods %q lacks %s", what, methods, m)
		}
	}
	for _, h := range []string{"authorization", "content-type", "if-match", "x-api-key", "x-tenant-id", "x-request-id"} {
		if !strings.Contains(headers, h) {
			t.Errorf("%s: Access-Control-Allow-Headers %q lacks %s", what, headers, h)
		}
	}
	if got := r.Header.Get("Access-Control-Max-Age"); got != "600" {
		t.Errorf("%s: Access-Control-Max-Age %q", what, got)
	}
	if v := r.Header.Get("Access-Control-Allow-Credentials"); v != "" {
		t.Errorf("%s: Access-Control-Allow-Credentials %q", what, v)
	}
}

func TestCORSPreflight(t *testing.T) {
	t.Parallel()
	s := corsServer(t)
	login, tenants := "/api/auth/login", "/api/central/tenants"
	for _, path := range []string{tenants, login, "/healthz", "/no/such/route"} {
		requirePreflightAllowed(t, preflight(s, t, path, appOrigin, ""), appOrigin, "listed origin on "+path)
		requireRefused(t, preflight(s, t, path, "https://evil.example.com", ""), "unknown origin on "+path)
	}
	alphaShop, bravoShop := "https://shop.alpha.test", "https://shop.bravo.test"
	allowed := []struct{ what, origin, host string }{
		{"the host's tenant's domain (subdomain)", alphaShop, "alpha.silo.test"},
		{"the host's tenant's domain (its custom domain)", alphaShop, "shop.alpha.test"},
		{"http and a port", "http://shop.alpha.test:3000", "alpha.silo.test"},
		{"a tenant's domain, the host naming none", bravoShop, ""},
		{"a tenant's domain, the host an unknown subdomain", bravoShop, "nosuch.silo.test"},
		{"a tenant's domain, the host the base domain", bravoShop, "silo.test"},
	}
	for _, c := range allowed {
		requirePreflightAllowed(t, preflight(s, t, login, c.origin, c.host), c.origin, c.what)
	}
	refused := []struct{ what, path, origin, host string }{
		{"another tenant's domain", login, bravoShop, "alpha.silo.test"},
		{"another tenant's domain on a custom-domain host", login, bravoShop, "shop.alpha.test"},
		{"an unmapped domain", login, "https://unmapped.example.org", ""},
		{"an unmapped domain on a tenant's host", login, "https://unmapped.example.org", "alpha.silo.test"},
		{"the tenant's subdomain as origin", login, "https://alpha.silo.test", "alpha.silo.test"},
		{"a tenant's domain on the central plane", tenants, alphaShop, "alpha.silo.test"},
		{"a tenant's domain off the API", "/healthz", alphaShop, "alpha.silo.test"},
		{"a tenant's domain written in upper case", login, "https://SHOP.alpha.test", ""},
		{"a tenant's domain with a path", login, alphaShop + "/", ""},
	}
	for _, c := range refused {
		requireRefused(t, preflight(s, t, c.path, c.origin, c.host), c.what)
	}
	// OPTIONS that is no preflight is routed as before.
	s.Expect(t, 405, "METHOD_NOT_ALLOWED", testsilo.Request{Method: "OPTIONS", Path: login, Header: map[string]string{"Origin": appOrigin}})
	s.Expect(t, 405, "METHOD_NOT_ALLOWED", testsilo.Request{Method: "OPTIONS", Path: login, Header: map[string]string{"Access-Control-Request-Method": "POST"}})
}
