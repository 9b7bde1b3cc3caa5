package router_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/silo-dev/silo/internal/feature/records"
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

// /api/openapi.json is a valid OpenAPI 3.1 document describing every
// route: the tenant routes' permissions, API keys exactly where they are
// accepted, and typed bodies.
func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	r := s.Do(t, testsilo.Request{Method: "GET", Path: "/api/openapi.json"})
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("%d %s", r.Status, r.Header.Get("Content-Type"))
	}
	doc, err := openapi3.NewLoader().LoadFromData(r.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil || doc.OpenAPI != "3.1.0" {
		t.Fatalf("%q: %v", doc.OpenAPI, err)
	}
	op := func(method, path string) *openapi3.Operation {
		t.Helper()
		p := strings.NewReplacer(":id", "{id}", ":name", "{name}", ":slug", "{slug}", ":collection", "{collection}").Replace(path)
		item := doc.Paths.Value(p)
		if item == nil || item.GetOperation(method) == nil {
			t.Fatalf("%s %s is not in the document", method, p)
		}
		return item.GetOperation(method)
	}
	schemes := func(o *openapi3.Operation) (names []string) {
		for _, req := range *o.Security {
			for name := range req {
				names = append(names, name)
			}
			if len(req) == 0 {
				names = append(names, "none")
			}
		}
		sort.Strings(names)
		return names
	}
	for _, tr := range append(router.TenantRoutes(), records.Routes(nil)...) {
		o := op(tr.Method, "/api"+tr.Path)
		if o.Extensions["x-permission"] != nil && o.Extensions["x-permission"] != tr.Permission ||
			tr.Permission != "" && o.Extensions["x-permission"] != tr.Permission {
			t.Errorf("%s %s: x-permission %v, want %q", tr.Method, tr.Path, o.Extensions["x-permission"], tr.Permission)
		}
		want := "[accessToken apiKey apiKeyHeader]"
		if tr.UsersOnly {
			want = "[accessToken]"
		}
		if got := fmt.Sprint(schemes(o)); got != want {
			t.Errorf("%s %s: security %s, want %s", tr.Method, tr.Path, got, want)
		}
	}
	for path, want := range map[string]string{
		"POST /api/central/auth/login": "[]", "DELETE /api/central/tenants/:slug": "[accessToken]",
		"POST /api/central/auth/register": "[accessToken none]", "POST /api/auth/login": "[]",
	} {
		method, p, _ := strings.Cut(path, " ")
		if got := fmt.Sprint(schemes(op(method, p))); got != want {
			t.Errorf("%s: security %s, want %s", path, got, want)
		}
	}
	tenant := doc.Components.Schemas["Tenant"].Value
	if !tenant.Type.Is("object") || tenant.Properties["slug"] == nil || !slices.Contains(tenant.Required, "slug") {
		t.Errorf("the Tenant schema: %+v", tenant)
	}
	if next := doc.Components.Schemas["TenantsAnswer"].Value.Properties["nextCursor"].Value; !next.Type.Includes("null") {
		t.Errorf("nextCursor is not nullable: %v", next.Type)
	}
	if len(doc.Servers) == 0 || len(doc.Tags) == 0 {
		t.Error("no servers or tags")
	}
}
