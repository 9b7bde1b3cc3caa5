package router_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/silo-dev/silo/internal/lib/console"
	"github.com/silo-dev/silo/internal/testsupport/testsilo"
)

// A browser at / lands on the console, by a redirect without a body.
func TestConsoleRedirect(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	w := httptest.NewRecorder()
	s.handler.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != http.StatusFound || w.Header().Get("Location") != "/console/" || w.Body.Len() != 0 {
		t.Errorf("GET /: %d, Location %q, %d bytes", w.Code, w.Header().Get("Location"), w.Body.Len())
	}
	// Followed, as a browser would.
	res, err := s.HTTP.Get(s.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Request.URL.Path != "/console/" || string(body) != string(console.Page().Body) {
		t.Errorf("GET / followed to %d %s: %.200s", res.StatusCode, res.Request.URL, body)
	}
}

// Every path under /console/ that is not a file is the console's page,
// so that a deep link or a reload of a client-side route works; the page
// runs under the console's policy, not Silo's deny-all one.
func TestConsoleDeepLinks(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	page := console.Page()
	for _, path := range []string{"/console/", "/console/login", "/console/central/tenants/acme", "/console/invite?token=abc",
		"/console/central/servers/db.example.org", "/console/index.html", "/console/tenant/users/0190f0e0-0000-7000-8000-000000000000",
		"/console/..%2fconsole.go", "/console/dist%2fapp.js"} {
		r := s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: path})
		h := r.Header
		if string(r.Raw) != string(page.Body) || h.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Errorf("%s: %q, %.100s", path, h.Get("Content-Type"), r.Raw)
		}
		if h.Get("Content-Security-Policy") != console.ContentSecurityPolicy || h.Get("X-Frame-Options") != "DENY" ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("ETag") != page.ETag || h.Get("Cache-Control") != "no-cache" {
			t.Errorf("%s: headers %v", path, h)
		}
	}
	csp := console.ContentSecurityPolicy
	for _, want := range []string{"default-src 'none'", "script-src 'self';", "style-src 'self';", "img-src 'self' data:;",
		"connect-src 'self';", "frame-ancestors 'none'", "form-action 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("the console's policy lacks %s: %s", want, csp)
		}
	}
	if strings.Contains(csp, "unsafe") || strings.Contains(csp, "*") {
		t.Errorf("the console's policy is too loose: %s", csp)
	}
	// A missing file is a 404, not the page; so are other methods.
	for _, path := range []string{"/console/nope.js", "/console/app.jss", "/console/favicon.ico", "/console/.env"} {
		s.Expect(t, 404, "NOT_FOUND", testsilo.Request{Method: "GET", Path: path})
	}
	s.Expect(t, 405, "METHOD_NOT_ALLOWED", testsilo.Request{Method: "POST", Path: "/console/login", Body: map[string]any{}})
}

// The page loads its script and stylesheet from /console/, each served
// with its type and an ETag it can be revalidated with.
func TestConsoleAssets(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	html := string(console.Page().Body)
	if regexp.MustCompile(`<script>|<script [^>]*>[^<]|<style|\sstyle=|\son[a-z]+=`).MatchString(html) {
		t.Errorf("the page has inline script or style:\n%s", html)
	}
	var refs []string
	for _, m := range regexp.MustCompile(`(?:src|href)="(/console/[^"]+)"`).FindAllStringSubmatch(html, -1) {
		refs = append(refs, m[1])
	}
	sort.Strings(refs)
	if strings.Join(refs, " ") != "/console/app.css /console/app.js" {
		t.Fatalf("the page loads %v", refs)
	}
	types := map[string]string{"/console/app.js": "text/javascript; charset=utf-8", "/console/app.css": "text/css; charset=utf-8",
		"/console/app.js.map": "application/json"}
	for path, want := range types {
		r := s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: path})
		etag := r.Header.Get("ETag")
		if r.Header.Get("Content-Type") != want || len(r.Raw) == 0 || etag == "" || r.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %q (%d bytes), ETag %q", path, r.Header.Get("Content-Type"), len(r.Raw), etag)
		}
		again := s.Do(t, testsilo.Request{Method: "GET", Path: path, Header: map[string]string{"If-None-Match": etag}})
		if again.Status != http.StatusNotModified || len(again.Raw) != 0 {
			t.Errorf("%s revalidated: %d, %d bytes", path, again.Status, len(again.Raw))
		}
	}
	if js := s.Do(t, testsilo.Request{Method: "GET", Path: "/console/app.js"}); !strings.Contains(string(js.Raw), "/api/central/auth/login") {
		t.Errorf("app.js is not the console's script (%d bytes)", len(js.Raw))
	}
}
