package router_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/silo-dev/silo/internal/testsupport/testsilo"
)

// TestEveryListingEndsWithNullCursor walks every paged listing, central
// and tenant, one item a page: each page answers nextCursor, a string
// while more follow and JSON null (the key present) on the last. The
// paged routes are found by asking every listing route of the OpenAPI
// document for one item, so a new paged route must be walked here too.
func TestEveryListingEndsWithNullCursor(t *testing.T) {
	t.Parallel()
	e := testsilo.Start(t, nil)
	super := e.AdminToken()
	e.AddAdmin(t, super, "second@example.com", "admin")
	admin := e.CreateTenant("acme")
	e.CreateTenant("bravo")
	e.SignUp(t, "acme", "mo@acme.test", testsilo.Password)
	for _, email := range []string{"a@acme.test", "b@acme.test"} {
		e.Expect(t, http.StatusCreated, "", testsilo.Request{Method: "POST", Path: "/api/invitations", Tenant: "acme", Token: admin,
			Body: map[string]string{"email": email, "role": "member"}})
	}
	e.APIKey("acme", admin, "data:read")
	e.APIKey("acme", admin, "data:read", "data:write")
	for i := range 2 {
		e.Expect(t, http.StatusCreated, "", testsilo.Request{Method: "POST", Path: "/api/collections/things/records", Tenant: "acme", Token: admin,
			Body: map[string]any{"data": map[string]any{"i": i}}})
	}

	central := testsilo.Request{Token: super}
	tenant := testsilo.Request{Tenant: "acme", Token: admin}
	paged := map[string]testsilo.Request{
		"/api/central/tenants": central, "/api/central/admins": central, "/api/central/audit": central,
		"/api/users": tenant, "/api/audit": tenant, "/api/collections/things/records": tenant,
	}
	for path, req := range paged {
		req.Method, req.Path = "GET", path
		if pages := walkPages(t, e, req); pages < 2 {
			t.Errorf("%s: %d page of one item; the test needs at least two", path, pages)
		}
	}

	var found []string
	for _, path := range listingRoutes(t, e) {
		req := tenant
		if strings.HasPrefix(path, "/api/central/") {
			req = central
		}
		req.Method, req.Path = "GET", path+"?limit=1"
		r := e.Do(t, req)
		if _, ok := r.JSON["nextCursor"]; ok && r.Status == http.StatusOK {
			found = append(found, path)
		}
	}
	want := make([]string, 0, len(paged))
	for p := range paged {
		want = append(want, p)
	}
	slices.Sort(want)
	slices.Sort(found)
	if !slices.Equal(found, want) {
		t.Fatalf("listings answering nextCursor: %q; walked: %q", found, want)
	}
}

// walkPages lists req one item a page to the end and returns the number
// of pages.
func walkPages(t *testing.T, e *testsilo.Env, req testsilo.Request) int {
	t.Helper()
	base, cursor := req.Path, ""
	for pages := 1; pages <= 100; pages++ {
		req.Path = base + "?limit=1"
		if cursor != "" {
			req.Path += "&cursor=" + url.QueryEscape(cursor)
		}
		r := e.Expect(t, http.StatusOK, "", req)
		next, present := r.JSON["nextCursor"]
		switch next := next.(type) {
		case nil:
			if !present || !strings.Contains(string(r.Raw), `"nextCursor":null`) {
				t.Fatalf("%s page %d: no nextCursor key: %s", base, pages, r.Raw)
			}
			return pages
		case string:
			if next == "" || next == cursor {
				t.Fatalf("%s page %d: nextCursor %q", base, pages, next)
			}
			cursor = next
		default:
			t.Fatalf("%s page %d: nextCursor is %T, want a string or null: %s", base, pages, next, r.Raw)
		}
	}
	t.Fatalf("%s: more than 100 pages", base)
	return 0
}

// listingRoutes are the GET routes of e's OpenAPI document that name no
// single item (no path parameter but the collection, set to "things").
func listingRoutes(t *testing.T, e *testsilo.Env) []string {
	t.Helper()
	r := e.Expect(t, http.StatusOK, "", testsilo.Request{Method: "GET", Path: "/api/openapi.json"})
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(r.Raw, &doc); err != nil {
		t.Fatal(err)
	}
	var out []string
	for path, ops := range doc.Paths {
		path = strings.ReplaceAll(path, "{collection}", "things")
		get, ok := ops["get"]
		// An event stream answers text/event-stream and never ends: no listing.
		stream := strings.Contains(string(get), `"text/event-stream"`)
		if ok && !stream && strings.HasPrefix(path, "/api/") && !strings.Contains(path, "{") {
			out = append(out, path)
		}
	}
	if len(out) < 10 {
		t.Fatalf("the OpenAPI document lists %d listing routes: %s", len(out), r.Raw)
	}
	return out
}
