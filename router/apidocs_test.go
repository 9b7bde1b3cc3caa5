package router_test

import (
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/silo-dev/silo/internal/lib/apidocs"
	"github.com/silo-dev/silo/internal/testsupport/testsilo"
)

// HEAD /healthz and /readyz answer what GET answers, without the body.
func TestHealthHead(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		get := s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: path})
		head := s.Do(t, testsilo.Request{Method: "HEAD", Path: path})
		if head.Status != get.Status || head.Header.Get("Content-Type") != get.Header.Get("Content-Type") {
			t.Errorf("HEAD %s: %d %q, GET %d %q", path, head.Status, head.Header.Get("Content-Type"), get.Status, get.Header.Get("Content-Type"))
		}
		// In process, where no HTTP server drops the body for it.
		w := httptest.NewRecorder()
		s.handler.ServeHTTP(w, httptest.NewRequest("HEAD", path, nil))
		if w.Code != 200 || w.Body.Len() != 0 {
			t.Errorf("HEAD %s in process: %d %q", path, w.Code, w.Body)
		}
	}
	if r := s.Do(t, testsilo.Request{Method: "HEAD", Path: "/api/central/auth/me"}); r.Status != 405 {
		t.Errorf("HEAD of a GET-only route: %d", r.Status)
	}
}

// /api/docs is a page that loads the viewer and its own script from Silo,
// under a policy that runs no inline script; every asset it names is
// served with its type, and the document it shows is beside it.
func TestAPIDocs(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	page := s.Do(t, testsilo.Request{Method: "GET", Path: "/api/docs"})
	csp := page.Header.Get("Content-Security-Policy")
	if page.Status != 200 || page.Header.Get("Content-Type") != "text/html; charset=utf-8" || csp != apidocs.ContentSecurityPolicy {
		t.Fatalf("page: %d %q, CSP %q", page.Status, page.Header.Get("Content-Type"), csp)
	}
	for _, want := range []string{"script-src 'self';", "frame-ancestors 'none'", "default-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %s", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") || strings.Contains(csp, "*") || page.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("CSP %q or X-Frame-Options %q too loose", csp, page.Header.Get("X-Frame-Options"))
	}
	html := string(page.Raw)
	if regexp.MustCompile(`<script>|<script [^>]*>[^<]|<style|\sstyle=|\son[a-z]+=`).MatchString(html) {
		t.Errorf("the page has inline script or style:\n%s", html)
	}
	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(html, -1)
	types := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
	scripts := 0
	for _, ref := range refs {
		if strings.HasPrefix(ref[1], "data:") {
			continue
		}
		// The page refers to its files relative to /api/docs.
		p := "/api/" + ref[1]
		r := s.Do(t, testsilo.Request{Method: "GET", Path: p})
		want := types[path.Ext(p)]
		switch {
		case p == "/api/openapi.json":
			want = "application/json"
		case want == "":
			want = "text/plain; charset=utf-8"
		}
		if r.Status != 200 || r.Header.Get("Content-Type") != want || len(r.Raw) == 0 || r.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %d %q (%d bytes), want 200 %q", p, r.Status, r.Header.Get("Content-Type"), len(r.Raw), want)
		}
		if strings.HasSuffix(p, ".js") {
			scripts++
		}
	}
	if scripts != 2 || !strings.Contains(html, `href="docs/swagger-ui.css"`) {
		t.Errorf("the page loads %d scripts: %s", scripts, html)
	}
	// The viewer starts on the document, from the page's own script.
	if r := s.Do(t, testsilo.Request{Method: "GET", Path: "/api/docs/init.js"}); !strings.Contains(string(r.Raw), `url: "openapi.json"`) ||
		!strings.Contains(string(r.Raw), "SwaggerUIBundle(") {
		t.Errorf("init.js: %s", r.Raw)
	}
	if r := s.Do(t, testsilo.Request{Method: "GET", Path: "/api/docs/swagger-ui-bundle.js"}); !strings.Contains(string(r.Raw), "SwaggerUIBundle") {
		t.Errorf("swagger-ui-bundle.js is not the viewer (%d bytes)", len(r.Raw))
	}
}

// The viewer's files are revalidated by ETag; unknown names are 404s in
// the error envelope.
func TestAPIDocsAssets(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	r := s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: "/api/docs/swagger-ui.css"})
	etag := r.Header.Get("ETag")
	if etag == "" || r.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("ETag %q, Cache-Control %q", etag, r.Header.Get("Cache-Control"))
	}
	again := s.Do(t, testsilo.Request{Method: "GET", Path: "/api/docs/swagger-ui.css", Header: map[string]string{"If-None-Match": etag}})
	if again.Status != http.StatusNotModified || len(again.Raw) != 0 {
		t.Errorf("revalidation: %d, %d bytes", again.Status, len(again.Raw))
	}
	for _, path := range []string{"/api/docs/nope.js", "/api/docs/index.html", "/api/docs/package.json", "/api/docs/..%2fapidocs.go",
		"/api/docs/swagger-ui%2fLICENSE", "/api/docs/", "/api/docs/init.js/x"} {
		s.Expect(t, 404, "NOT_FOUND", testsilo.Request{Method: "GET", Path: path})
	}
	if lic := s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: "/api/docs/LICENSE"}); !strings.Contains(string(lic.Raw), "Apache License") {
		t.Errorf("LICENSE: %.80s", lic.Raw)
	}
}
