package console

import (
	"regexp"
	"strings"
	"testing"
)

// The page loads its script and stylesheet from /console/ and nothing
// inline; both are built and served with their types.
func TestPageAndAssets(t *testing.T) {
	page := Page()
	html := string(page.Body)
	if page.ContentType != "text/html; charset=utf-8" || !strings.Contains(html, `id="app"`) {
		t.Fatalf("page: %q\n%s", page.ContentType, html)
	}
	if regexp.MustCompile(`<script>|<script [^>]*>[^<]|<style|\sstyle=|\son[a-z]+=`).MatchString(html) {
		t.Errorf("the page has inline script or style:\n%s", html)
	}
	refs := regexp.MustCompile(`(?:src|href)="/console/([^"]+)"`).FindAllStringSubmatch(html, -1)
	types := map[string]string{"app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8"}
	if len(refs) != len(types) {
		t.Fatalf("the page refers to %d files of /console/, want %d: %s", len(refs), len(types), html)
	}
	for _, r := range refs {
		f, ok := Asset(r[1])
		if !ok || f.ContentType != types[r[1]] || len(f.Body) == 0 || f.ETag == "" {
			t.Errorf("%s: %v %q, %d bytes, ETag %q", r[1], ok, f.ContentType, len(f.Body), f.ETag)
		}
	}
	if m, ok := Asset("app.js.map"); !ok || m.ContentType != "application/json" {
		t.Errorf("app.js.map: %v %q", ok, m.ContentType)
	}
	for _, name := range []string{"", "index.html", "dist/app.js", "../console.go", "console.go", "web"} {
		if _, ok := Asset(name); ok {
			t.Errorf("Asset(%q) is served", name)
		}
	}
}

// The policy runs only the console's own files: nothing inline, nothing
// from elsewhere, no HTML from strings.
func TestContentSecurityPolicy(t *testing.T) {
	for _, want := range []string{"default-src 'none'", "script-src 'self';", "style-src 'self';", "connect-src 'self';",
		"frame-ancestors 'none'", "base-uri 'none'", "require-trusted-types-for 'script'"} {
		if !strings.Contains(ContentSecurityPolicy, want) {
			t.Errorf("the policy lacks %s: %s", want, ContentSecurityPolicy)
		}
	}
	if strings.Contains(ContentSecurityPolicy, "unsafe") || strings.Contains(ContentSecurityPolicy, "*") ||
		strings.Contains(ContentSecurityPolicy, "http") {
		t.Errorf("the policy is too loose: %s", ContentSecurityPolicy)
	}
}
