package tenantdb_test

import (
	"testing"

	"github.com/silo-dev/silo/tenantdb"
)

func TestCallerHas(t *testing.T) {
	c := &tenantdb.Caller{Permissions: []string{"data:read", "users:read"}}
	if !c.Has("users:read") || c.Has("users:write") || c.Has("") {
		t.Fatal("Has")
	}
	if !c.Covers([]string{"data:read"}) || c.Covers([]string{"data:read", "data:write"}) || !c.Covers(nil) {
		t.Fatal("Covers")
	}
	for _, p := range tenantdb.Permissions {
		if !tenantdb.ValidPermission(p) {
			t.Fatal(p)
		}
	}
	if tenantdb.ValidPermission("root") {
		t.Fatal("root is no permission")
	}
}

// BenchmarkAuthorize is the per-request cost of the authorization decision
// once the caller's permissions are loaded (they come with the one query
// that authenticates the caller; see internal/assembly/app BenchmarkTenantMe).
func BenchmarkAuthorize(b *testing.B) {
	c := &tenantdb.Caller{Permissions: tenantdb.Permissions}
	for i := 0; i < b.N; i++ {
		if !c.Has("data:write") {
			b.Fatal("denied")
		}
	}
}
