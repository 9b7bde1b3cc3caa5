package router_test

import (
	"slices"
	"testing"
	"time"

	"github.com/silo-dev/silo/internal/testsupport/testsilo"
)

// keyBy creates an API key with tok (a user's token or a key) and returns
// its id and key.
func (f *adminFixture) keyBy(t testing.TB, tok string, perms ...string) (id, key string) {
	t.Helper()
	r := f.s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: apiKeysPath, Tenant: f.slug, Token: tok, Body: map[string]any{"name": f.name("key"), "permissions": perms}})
	return r.JSON["apiKey"].(map[string]any)["id"].(string), r.Str("key")
}

// keyRevoked reports whether the key list marks key id revoked.
func (f *adminFixture) keyRevoked(t testing.TB, id string) bool {
	t.Helper()
	r := f.s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: apiKeysPath, Tenant: f.slug, Token: f.admin})
	for _, k := range r.JSON["apiKeys"].([]any) {
		if k := k.(map[string]any); k["id"] == id {
			return k["revoked"] == true
		}
	}
	t.Fatalf("key %s not listed: %s", id, r.Raw)
	return false
}

// TestAPIKeysFollowTheirCreator: a key acts on its creator's authority as
// it is now. Removing the creator revokes the key (and the keys it made);
// a deactivated creator's keys are refused; a creator who loses a role takes
// its permissions away from their keys; a key never creates a key beyond
// what it may use now; an impersonating central admin creates no keys.
func TestAPIKeysFollowTheirCreator(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	f := newAdminFixture(t, s, "key-owner")

	t.Run("CreatorDeleted", func(t *testing.T) {
		makerID, maker := f.userWith(t, "tenant_admin")
		keyID, key := f.keyBy(t, maker, "users:read", "apikeys:write")
		childID, child := f.keyBy(t, key, "users:read")
		f.s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: usersPath, Tenant: f.slug, Token: key})
		f.s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: usersPath, Tenant: f.slug, Token: child})
		f.s.Expect(t, 204, "", testsilo.Request{Method: "DELETE", Path: usersPath + "/" + makerID, Tenant: f.slug, Token: f.admin})
		f.s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: usersPath, Tenant: f.slug, Token: key})
		f.s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: usersPath, Tenant: f.slug, Token: child})
		if !f.keyRevoked(t, keyID) || !f.keyRevoked(t, childID) {
			t.Fatal("the removed creator's keys are not revoked")
		}
	})
	t.Run("CreatorDeactivated", func(t *testing.T) {
		makerID, maker := f.userWith(t, "tenant_admin")
		_, key := f.keyBy(t, maker, "users:read", "apikeys:write")
		_, child := f.keyBy(t, key, "users:read")
		f.s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: usersPath, Tenant: f.slug, Token: key})
		rootExec(t, f.db, "UPDATE {db}.users SET is_active = 0 WHERE id = ?", makerID)
		f.refuse(t, 401, "UNAUTHENTICATED", "GET", usersPath, key, nil)
		f.refuse(t, 401, "UNAUTHENTICATED", "GET", usersPath, child, nil)
		f.refuse(t, 401, "UNAUTHENTICATED", "POST", apiKeysPath, key, map[string]any{"name": "late", "permissions": []string{"users:read"}})
	})
	t.Run("CreatorLosesARole", func(t *testing.T) {
		makerID, maker := f.userWith(t, "tenant_admin")
		_, key := f.keyBy(t, maker, "users:read", "audit:read")
		f.s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: usersPath, Tenant: f.slug, Token: key})
		f.s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: auditPath, Tenant: f.slug, Token: key})
		f.addRole(t, "reader", "users:read")
		f.s.Expect(t, 200, "", testsilo.Request{Method: "PUT", Path: usersPath + "/" + makerID + "/roles", Tenant: f.slug, Token: f.admin, Body: map[string]any{"roles": []string{"reader"}}})
		f.s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: usersPath, Tenant: f.slug, Token: key})
		f.refuse(t, 403, "FORBIDDEN", "GET", auditPath, key, nil)
		// The role itself loses the permission: so does the key.
		f.s.Expect(t, 200, "", testsilo.Request{Method: "PUT", Path: rolesPath + "/reader", Tenant: f.slug, Token: f.admin, Body: map[string]any{"permissions": []string{"data:read"}}})
		f.refuse(t, 403, "FORBIDDEN", "GET", usersPath, key, nil)
	})
	t.Run("KeyCannotCreateMoreThanItMayUse", func(t *testing.T) {
		makerID, maker := f.userWith(t, "tenant_admin")
		_, key := f.keyBy(t, maker, "users:read", "users:write", "apikeys:write")
		// More than the key's own permissions.
		f.refuse(t, 403, "FORBIDDEN", "POST", apiKeysPath, key, map[string]any{"name": "wider", "permissions": []string{"users:read", "roles:write"}})
		// Its own permissions, but its creator no longer holds users:write.
		f.addRole(t, "key-maker", "users:read", "apikeys:write")
		f.s.Expect(t, 200, "", testsilo.Request{Method: "PUT", Path: usersPath + "/" + makerID + "/roles", Tenant: f.slug, Token: f.admin, Body: map[string]any{"roles": []string{"key-maker"}}})
		f.refuse(t, 403, "FORBIDDEN", "POST", apiKeysPath, key, map[string]any{"name": "stale", "permissions": []string{"users:write"}})
		f.refuse(t, 403, "FORBIDDEN", "POST", usersPath, key, userBody(f.email()))
		f.keyBy(t, key, "users:read") // what both still hold
	})
	t.Run("RevokingAKeyRevokesItsChildren", func(t *testing.T) {
		parentID, parent := f.keyBy(t, f.admin, "users:read", "apikeys:write")
		childID, child := f.keyBy(t, parent, "users:read", "apikeys:write")
		grandID, grand := f.keyBy(t, child, "users:read")
		f.s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: usersPath, Tenant: f.slug, Token: grand})
		f.s.Expect(t, 204, "", testsilo.Request{Method: "DELETE", Path: apiKeysPath + "/" + parentID, Tenant: f.slug, Token: f.admin})
		f.s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: usersPath, Tenant: f.slug, Token: child})
		f.s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: usersPath, Tenant: f.slug, Token: grand})
		if !f.keyRevoked(t, childID) || !f.keyRevoked(t, grandID) {
			t.Fatal("the keys a revoked key made are not revoked")
		}
	})
	t.Run("ChainIsBounded", func(t *testing.T) {
		_, key := f.keyBy(t, f.admin, "users:read", "apikeys:write")
		for i := 1; i < 5; i++ {
			_, key = f.keyBy(t, key, "users:read", "apikeys:write")
		}
		f.s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: usersPath, Tenant: f.slug, Token: key})
		f.refuse(t, 403, "FORBIDDEN", "POST", apiKeysPath, key, map[string]any{"name": "too-deep", "permissions": []string{"users:read"}})
	})
	t.Run("ImpersonatorCreatesNoKeys", func(t *testing.T) {
		super := s.AdminToken()
		r := s.Expect(t, 200, "", testsilo.Request{Method: "POST", Path: tenantsPath + "/" + f.slug + "/impersonate", Token: super, Body: map[string]string{"userId": f.adminID}})
		f.refuse(t, 403, "FORBIDDEN", "POST", apiKeysPath, r.Str("access_token"), map[string]any{"name": "backdoor", "permissions": []string{"users:read"}})
	})
}

// BenchmarkAPIKeyRequest measures GET /api/roles authenticated by an API
// key made by a user, and by a key made by that key, and reports the median
// latency: the price of reading the key's creators on every request.
func BenchmarkAPIKeyRequest(b *testing.B) {
	s := newServer(b)
	s.Tenant(b, tenantOf("key-bench"))
	admin := s.TenantLogin(b, "key-bench", adminOf("key-bench"), password).Str("access_token")
	mint := func(tok string) string {
		r := s.Expect(b, 201, "", testsilo.Request{Method: "POST", Path: apiKeysPath, Tenant: "key-bench", Token: tok, Body: map[string]any{"name": "bench", "permissions": []string{"apikeys:write", "users:read"}}})
		return r.Str("key")
	}
	userKey := mint(admin)
	keyKey := mint(userKey)
	for _, c := range []struct{ name, key string }{{"UserKey", userKey}, {"KeyOfKey", keyKey}} {
		b.Run(c.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for i := 0; i < b.N; i++ {
				start := time.Now()
				r := s.Do(b, testsilo.Request{Method: "GET", Path: rolesPath, Tenant: "key-bench", Token: c.key})
				lat = append(lat, time.Since(start))
				if r.Status != 200 {
					b.Fatalf("status %d: %s", r.Status, r.Raw)
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		})
	}
}
