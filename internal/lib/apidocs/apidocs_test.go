package apidocs

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// The vendored package.json is the version vendor.sh pins: editing the pin
// without running the script (or the files without the pin) fails here.
func TestVendoredVersionIsPinned(t *testing.T) {
	script, err := os.ReadFile("vendor.sh")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^VERSION=(\S+)$`).FindSubmatch(script)
	if m == nil {
		t.Fatal("vendor.sh pins no VERSION")
	}
	var pkg struct{ Name, Version string }
	b, err := files.ReadFile("swagger-ui/package.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		t.Fatal(err)
	}
	if pkg.Name != "swagger-ui-dist" || pkg.Version != string(m[1]) {
		t.Fatalf("vendored %s@%s, vendor.sh pins %s", pkg.Name, pkg.Version, m[1])
	}
}

// Every file the page refers to is served, with its type, and nothing
// else is (no path into the embedded tree).
func TestPageAssets(t *testing.T) {
	page := string(Page().Body)
	if Page().ContentType != "text/html; charset=utf-8" || strings.Contains(page, "<script>") || strings.Contains(page, "style=") {
		t.Fatalf("page %q has inline script or style", Page().ContentType)
	}
	refs := regexp.MustCompile(`(?:src|href)="docs/([^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 3 {
		t.Fatalf("page refers to %d assets", len(refs))
	}
	for _, r := range refs {
		f, ok := Asset(r[1])
		if !ok || len(f.Body) == 0 || !strings.HasPrefix(f.ETag, `"`) {
			t.Errorf("asset %s: %v, %d bytes, ETag %s", r[1], ok, len(f.Body), f.ETag)
		}
	}
	for name, want := range map[string]string{"init.js": "text/javascript", "swagger-ui.css": "text/css", "LICENSE": "text/plain"} {
		if f, _ := Asset(name); !strings.HasPrefix(f.ContentType, want+";") {
			t.Errorf("%s: %s", name, f.ContentType)
		}
	}
	for _, name := range []string{"", "index.html", "swagger-ui/LICENSE", "../apidocs.go", "package.json", "apidocs.go"} {
		if _, ok := Asset(name); ok {
			t.Errorf("Asset(%q) is served", name)
		}
	}
}
