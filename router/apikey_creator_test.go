package router_test

import (
	"slices"
	"testing"
	"time"
)

// keyBy creates an API key with tok (a user's token or a key) and returns
// its id and key.
func (f *adminFixture) keyBy(t testing.TB, tok string, perms ...string) (id, key string) {
	t.Helper()
	r := f.do(t, "POST", apiKeysPath, tok, map[string]any{"name": f.name("key"), "permissions": perms})
	expect(t, r, 201, "")
	return r.body["apiKey"].(map[string]any)["id"].(string), r.str("key")
}

// keyRevoked reports whether the key list marks key id revoked.
func (f *adminFixture) keyRevoked(t testing.TB, id string) bool {
	t.Helper()
	r := f.do(t, "GET", apiKeysPath, f.admin, nil)
	expect(t, r, 200, "")
	for _, k := range r.body["apiKeys"].([]any) {
		if k := k.(map[string]any); k["id"] == id {
			return k["revoked"] == true
		}
	}
	t.Fatalf("key %s not listed: %s", id, r.raw)
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
		expect(t, f.do(t, "GET", usersPath, key, nil), 200, "")
		expect(t, f.do(t, "GET", usersPath, child, nil), 200, "")
		expect(t, f.do(t, "DELETE", usersPath+"/"+makerID, f.admin, nil), 204, "")
		expect(t, f.do(t, "GET", usersPath, key, nil), 401, "UNAUTHENTICATED")
		expect(t, f.do(t, "GET", usersPath, child, nil), 401, "UNAUTHENTICATED")
		if !f.keyRevoked(t, keyID) || !f.keyRevoked(t, childID) {
			t.Fatal("the removed creator's keys are not revoked")
		}
	})
	t.Run("CreatorDeactivated", func(t *testing.T) {
		makerID, maker := f.userWith(t, "tenant_admin")
		_, key := f.keyBy(t, maker, "users:read", "apikeys:write")
		_, child := f.keyBy(t, key, "users:read")
		expect(t, f.do(t, "GET", usersPath, key, nil), 200, "")
		rootExec(t, f.db, "UPDATE {db}.users SET is_active = 0 WHERE id = ?", makerID)
		f.refuse(t, 401, "UNAUTHENTICATED", "GET", usersPath, key, nil)
		f.refuse(t, 401, "UNAUTHENTICATED", "GET", usersPath, child, nil)
		f.refuse(t, 401, "UNAUTHENTICATED", "POST", apiKeysPath, key, map[string]any{"name": "late", "permissions": []string{"users:read"}})
	})
	t.Run("CreatorLosesARole", func(t *testing.T) {
		makerID, maker := f.userWith(t, "tenant_admin")
		_, key := f.keyBy(t, maker, "users:read", "audit:read")
		expect(t, f.do(t, "GET", usersPath, key, nil), 200, "")
		expect(t, f.do(t, "GET", auditPath, key, nil), 200, "")
		f.addRole(t, "reader", "users:read")
		expect(t, f.do(t, "PUT", usersPath+"/"+makerID+"/roles", f.admin, map[string]any{"roles": []string{"reader"}}), 200, "")
		expect(t, f.do(t, "GET", usersPath, key, nil), 200, "")
		f.refuse(t, 403, "FORBIDDEN", "GET", auditPath, key, nil)
		// The role itself loses the permission: so does the key.
		expect(t, f.do(t, "PUT", rolesPath+"/reader", f.admin, map[string]any{"permissions": []string{"data:read"}}), 200, "")
		f.refuse(t, 403, "FORBIDDEN", "GET", usersPath, key, nil)
	})
	t.Run("KeyCannotCreateMoreThanItMayUse", func(t *testing.T) {
		makerID, maker := f.userWith(t, "tenant_admin")
		_, key := f.keyBy(t, maker, "users:read", "users:write", "apikeys:write")
		// More than the key's own permissions.
		f.refuse(t, 403, "FORBIDDEN", "POST", apiKeysPath, key, map[string]any{"name": "wider", "permissions": []string{"users:read", "roles:write"}})
		// Its own permissions, but its creator no longer holds users:write.
		f.addRole(t, "key-maker", "users:read", "apikeys:write")
		expect(t, f.do(t, "PUT", usersPath+"/"+makerID+"/roles", f.admin, map[string]any{"roles": []string{"key-maker"}}), 200, "")
		f.refuse(t, 403, "FORBIDDEN", "POST", apiKeysPath, key, map[string]any{"name": "stale", "permissions": []string{"users:write"}})
		f.refuse(t, 403, "FORBIDDEN", "POST", usersPath, key, userBody(f.email()))
		f.keyBy(t, key, "users:read") // what both still hold
	})
	t.Run("RevokingAKeyRevokesItsChildren", func(t *testing.T) {
		parentID, parent := f.keyBy(t, f.admin, "users:read", "apikeys:write")
		childID, child := f.keyBy(t, parent, "users:read", "apikeys:write")
		grandID, grand := f.keyBy(t, child, "users:read")
		expect(t, f.do(t, "GET", usersPath, grand, nil), 200, "")
		expect(t, f.do(t, "DELETE", apiKeysPath+"/"+parentID, f.admin, nil), 204, "")
		expect(t, f.do(t, "GET", usersPath, child, nil), 401, "UNAUTHENTICATED")
		expect(t, f.do(t, "GET", usersPath, grand, nil), 401, "UNAUTHENTICATED")
		if !f.keyRevoked(t, childID) || !f.keyRevoked(t, grandID) {
			t.Fatal("the keys a revoked key made are not revoked")
		}
	})
	t.Run("ChainIsBounded", func(t *testing.T) {
		_, key := f.keyBy(t, f.admin, "users:read", "apikeys:write")
		for i := 1; i < 5; i++ {
			_, key = f.keyBy(t, key, "users:read", "apikeys:write")
		}
		expect(t, f.do(t, "GET", usersPath, key, nil), 200, "")
		f.refuse(t, 403, "FORBIDDEN", "POST", apiKeysPath, key, map[string]any{"name": "too-deep", "permissions": []string{"users:read"}})
	})
	t.Run("ImpersonatorCreatesNoKeys", func(t *testing.T) {
		super := s.bootstrap()
		r := s.call("POST", tenantsPath+"/"+f.slug+"/impersonate", super, map[string]string{"userId": f.adminID})
		expect(t, r, 200, "")
		f.refuse(t, 403, "FORBIDDEN", "POST", apiKeysPath, r.str("access_token"), map[string]any{"name": "backdoor", "permissions": []string{"users:read"}})
	})
}

// BenchmarkAPIKeyRequest measures GET /api/roles authenticated by an API
// key made by a user, and by a key made by that key, and reports the median
// latency: the price of reading the key's creators on every request.
func BenchmarkAPIKeyRequest(b *testing.B) {
	s := newServer(b)
	s.newTenant(b, "key-bench")
	admin := s.tlogin(b, "key-bench", adminOf("key-bench"), password).str("access_token")
	mint := func(tok string) string {
		r := s.tc(b, "POST", apiKeysPath, "key-bench", tok, map[string]any{"name": "bench", "permissions": []string{"apikeys:write", "users:read"}})
		expect(b, r, 201, "")
		return r.str("key")
	}
	userKey := mint(admin)
	keyKey := mint(userKey)
	for _, c := range []struct{ name, key string }{{"UserKey", userKey}, {"KeyOfKey", keyKey}} {
		b.Run(c.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for i := 0; i < b.N; i++ {
				start := time.Now()
				r := s.tc(b, "GET", rolesPath, "key-bench", c.key, nil)
				lat = append(lat, time.Since(start))
				if r.status != 200 {
					b.Fatalf("status %d: %s", r.status, r.raw)
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		})
	}
}
