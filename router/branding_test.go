package router_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/silo-dev/silo/internal/testsupport/testsilo"
)

// GET /api/auth/tenant answers the branding of the tenant the request
// resolves to, by header, subdomain or custom domain, to anyone: nothing
// beyond the branding, and without hashing a password.
func TestTenantBranding(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(o *serverOptions) { o.closedSignup = true })
	n := testsilo.TenantOf("brand")
	n.Domains = []string{"login.brand.example"}
	s.Tenant(t, n)
	admin := s.Login("brand", n.AdminEmail)
	const path = "/api/auth/tenant"
	branding := func(t *testing.T, r *testsilo.Response) map[string]any {
		t.Helper()
		r.Require(t, 200, "")
		if keys := slices.Sorted(maps.Keys(r.JSON)); len(keys) != 1 || keys[0] != "tenant" {
			t.Fatalf("the answer holds %v: %s", keys, r.Raw)
		}
		b := r.Obj("tenant")
		want := []string{"allowPublicSignup", "logoUrl", "name", "primaryColor", "slug"}
		if keys := slices.Sorted(maps.Keys(b)); !slices.Equal(keys, want) {
			t.Fatalf("the branding holds %v, want exactly %v", keys, want)
		}
		return b
	}

	// Before any setting: the tenant's own name, no colour, no logo.
	b := branding(t, s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: path, Tenant: "brand"}))
	if b["slug"] != "brand" || b["name"] != "BRAND" || b["primaryColor"] != "" || b["logoUrl"] != "" || b["allowPublicSignup"] != false {
		t.Fatalf("default branding: %v", b)
	}

	s.Expect(t, 200, "", testsilo.Request{Method: "PUT", Path: "/api/settings", Tenant: "brand", Token: admin, Body: map[string]any{
		"displayName": "Brand & Co", "primaryColor": "#AA3300", "logoUrl": "https://cdn.brand.example/logo.png", "allowPublicSignup": true}})
	runs := s.guard.BcryptRuns()
	for _, req := range []testsilo.Request{
		{Tenant: "brand"},
		{Host: "brand.silo.test"},
		{Host: "login.brand.example:8443"},
		{Host: "brand.silo.test", Tenant: "brand"},
		{Tenant: "brand", Token: "not-a-token"}, // credentials are not looked at
	} {
		req.Method, req.Path = "GET", path
		b := branding(t, s.Do(t, req))
		if b["slug"] != "brand" || b["name"] != "Brand & Co" || b["primaryColor"] != "#aa3300" ||
			b["logoUrl"] != "https://cdn.brand.example/logo.png" || b["allowPublicSignup"] != true {
			t.Errorf("%+v: %v", req, b)
		}
	}
	if n := s.guard.BcryptRuns() - runs; n != 0 {
		t.Errorf("the branding ran bcrypt %d times", n)
	}

	// What the login page learns when the host names no tenant, or a
	// tenant that cannot be logged in to.
	s.Expect(t, 400, "TENANT_ID_REQUIRED", testsilo.Request{Method: "GET", Path: path})
	s.Expect(t, 400, "TENANT_ID_REQUIRED", testsilo.Request{Method: "GET", Path: path, Host: "unmapped.example.com"})
	s.Expect(t, 404, "TENANT_NOT_FOUND", testsilo.Request{Method: "GET", Path: path, Host: "nobody.silo.test"})
	s.Expect(t, 404, "TENANT_NOT_FOUND", testsilo.Request{Method: "GET", Path: path, Tenant: "nobody"})
	s.Expect(t, 200, "", testsilo.Request{Method: "POST", Path: "/api/central/tenants/brand/suspend", Token: s.AdminToken()})
	s.Expect(t, 403, "TENANT_SUSPENDED", testsilo.Request{Method: "GET", Path: path, Host: "brand.silo.test"})
}
