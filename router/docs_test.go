package router_test

import (
	"os"
	"strings"
	"testing"

	"github.com/silo-dev/silo/router"
)

// docs/tenant-admin.md lists every authenticated tenant route with the
// permission the router really requires.
func TestDocsListTenantRoutePermissions(t *testing.T) {
	b, err := os.ReadFile("../docs/tenant-admin.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, r := range router.TenantRoutes() {
		row := "| `" + r.Method + " /api" + r.Path + "` | "
		i := strings.Index(doc, row)
		if i < 0 {
			t.Errorf("docs/tenant-admin.md has no row for %s /api%s", r.Method, r.Path)
			continue
		}
		line := doc[i : i+strings.Index(doc[i:], "\n")]
		want := "any user of the tenant"
		if r.Permission != "" {
			want = "`" + r.Permission + "`"
		}
		if !strings.Contains(line, want) {
			t.Errorf("docs row %q does not say %s", line, want)
		}
	}
}
