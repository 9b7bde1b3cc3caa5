package router_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/silo-dev/silo/internal/testsupport/testsilo"
	"github.com/silo-dev/silo/router"
)

// Every answer, whatever its status, carries the security headers.
func TestSecurityHeadersOnEveryAnswer(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	for _, r := range []*testsilo.Response{
		s.Do(t, testsilo.Request{Method: "GET", Path: "/healthz"}),
		s.Do(t, testsilo.Request{Method: "GET", Path: "/no/such/route"}),
		s.Do(t, testsilo.Request{Method: "DELETE", Path: "/healthz"}),
		s.Do(t, testsilo.Request{Method: "GET", Path: "/api/central/auth/me"}),
		s.Do(t, testsilo.Request{Method: "POST", Path: "/api/central/auth/login", Body: `{"email":`}),
		s.Do(t, testsilo.Request{Method: "GET", Path: "/api/auth/me", Tenant: "nosuch-tenant"}),
		s.Do(t, testsilo.Request{Method: "GET", Path: "/api/openapi.json"}),
	} {
		for h, want := range map[string]string{
			"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
			"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'", "Cache-Control": "no-store",
		} {
			if got := r.Header.Get(h); got != want {
				t.Errorf("status %d: %s = %q, want %q", r.Status, h, got, want)
			}
		}
	}
}

// /api/openapi.json describes every route, with the tenant routes'
// permissions.
func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	r := s.Do(t, testsilo.Request{Method: "GET", Path: "/api/openapi.json"})
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("%d %s", r.Status, r.Header.Get("Content-Type"))
	}
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(r.Raw, &doc); err != nil || doc.OpenAPI != "3.0.3" {
		t.Fatalf("%v %q", err, doc.OpenAPI)
	}
	op := func(method, path string) map[string]any {
		t.Helper()
		p := strings.NewReplacer(":id", "{id}", ":name", "{name}", ":slug", "{slug}").Replace(path)
		o := doc.Paths[p][strings.ToLower(method)]
		if o == nil {
			t.Fatalf("%s %s is not in the document", method, p)
		}
		return o
	}
	for _, tr := range router.TenantRoutes() {
		o := op(tr.Method, "/api"+tr.Path)
		if o["x-permission"] != tr.Permission {
			t.Errorf("%s %s: x-permission %v, want %q", tr.Method, tr.Path, o["x-permission"], tr.Permission)
		}
	}
	if sec := op("POST", "/api/central/auth/login")["security"].([]any); len(sec) != 0 {
		t.Errorf("login should need no credentials: %v", sec)
	}
	if sec := op("DELETE", "/api/central/tenants/:slug")["security"].([]any); len(sec) != 1 {
		t.Errorf("tenant delete security %v", sec)
	}
	params := op("GET", "/api/users/:id")["parameters"].([]any)
	if len(params) != 2 || !strings.Contains(string(r.Raw), `"name":"x-tenant-id"`) {
		t.Errorf("parameters %v", params)
	}
}
