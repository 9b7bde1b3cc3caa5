package router_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/silo-dev/silo/internal/testsupport/testsilo"
)

// following runs an instance's background work, as serve does: it follows
// the other instances' changes and so caches tenant callers.
func following(o *serverOptions) { o.background = true }

// cachedOK sends the request until the instance answers it from its cache
// of callers (its hit count moves over a 200), failing after 5 s: the
// answer under test afterwards is one a cache could have served.
func cachedOK(t *testing.T, srv *server, slug, method, path, tok string, headers ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		before, _ := srv.callers.Stats()
		r := srv.Do(t, testsilo.Request{Method: method, Path: path, Tenant: slug, Token: tok, Header: headerMap(headers)})
		r.Require(t, 200, "")
		if after, _ := srv.callers.Stats(); after > before {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s was never answered from the cache of callers", method, path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// refusedWithin asserts the request is refused with status and code on
// srv within limit of since.
func refusedWithin(t *testing.T, srv *server, since time.Time, limit time.Duration, status int, code, slug, method, path, tok string, headers ...string) {
	t.Helper()
	waitFor(t, since, limit, method+" "+path+" refused", func() (bool, string) {
		r, err := srv.Send(testsilo.Request{Method: method, Path: path, Token: tok, Header: headerMap(append([]string{"x-tenant-id", slug}, headers...))})
		if err != nil {
			return false, err.Error()
		}
		if r.Status != 200 && r.Status != status {
			t.Fatalf("%s %s answered %d %s", method, path, r.Status, r.Raw)
		}
		return r.Status == status && r.Code() == code, string(r.Raw)
	})
}

// TestAuthorizationChangesEndCachedCallers: callers are cached in every
// instance, and each change to what a caller may do ends the cached
// authorization on the very next request of the instance that made it and
// within a second on another instance (whichever of the two made it).
func TestAuthorizationChangesEndCachedCallers(t *testing.T) {
	t.Parallel()
	a := newServer(t, following)
	b := a.instance(t, following)
	root := a.AdminToken()
	f := newAdminFixture(t, a, "authz-cache")
	f.addRole(t, "reader", "users:read")
	// check proves a change made on maker: refused by maker at once, by
	// the other instance within a second; both had it cached before.
	check := func(t *testing.T, maker, other *server, status int, code, method, path, tok string, change func(), headers ...string) {
		t.Helper()
		cachedOK(t, maker, f.slug, method, path, tok, headers...)
		cachedOK(t, other, f.slug, method, path, tok, headers...)
		change()
		done := time.Now()
		maker.Do(t, testsilo.Request{Method: method, Path: path, Tenant: f.slug, Token: tok, Header: headerMap(headers)}).Require(t, status, code)
		refusedWithin(t, other, done, time.Second, status, code, f.slug, method, path, tok, headers...)
		maker.Do(t, testsilo.Request{Method: method, Path: path, Tenant: f.slug, Token: tok, Header: headerMap(headers)}).Require(t, status, code)
	}
	for _, dir := range []struct {
		name         string
		maker, other *server
	}{{"MadeHere", a, b}, {"MadeElsewhere", b, a}} {
		t.Run(dir.name, func(t *testing.T) {
			t.Run("RoleChange", func(t *testing.T) {
				id, email := f.addUser(t, "reader")
				tok := f.s.TenantLogin(t, f.slug, email, password).Str("access_token")
				check(t, dir.maker, dir.other, 403, "FORBIDDEN", "GET", usersPath, tok, func() {
					dir.maker.Do(t, testsilo.Request{Method: "PUT", Path: usersPath + "/" + id + "/roles", Tenant: f.slug, Token: f.admin, Body: map[string]any{"roles": []string{"member"}}}).Require(t, 200, "")
				})
			})
			t.Run("RolePermissions", func(t *testing.T) {
				role := f.name("perm-")
				f.addRole(t, role, "users:read")
				_, email := f.addUser(t, role)
				tok := f.s.TenantLogin(t, f.slug, email, password).Str("access_token")
				check(t, dir.maker, dir.other, 403, "FORBIDDEN", "GET", usersPath, tok, func() {
					dir.maker.Do(t, testsilo.Request{Method: "PUT", Path: rolesPath + "/" + role, Tenant: f.slug, Token: f.admin, Body: map[string]any{"permissions": []string{"data:read"}}}).Require(t, 200, "")
				})
			})
			t.Run("Deactivation", func(t *testing.T) {
				id, email := f.addUser(t, "reader")
				tok := f.s.TenantLogin(t, f.slug, email, password).Str("access_token")
				check(t, dir.maker, dir.other, 401, "UNAUTHENTICATED", "GET", mePath, tok, func() {
					dir.maker.Do(t, testsilo.Request{Method: "PATCH", Path: usersPath + "/" + id, Tenant: f.slug, Token: f.admin, Body: map[string]any{"isActive": false}}).Require(t, 200, "")
				})
			})
			t.Run("Deletion", func(t *testing.T) {
				id, email := f.addUser(t, "reader")
				tok := f.s.TenantLogin(t, f.slug, email, password).Str("access_token")
				check(t, dir.maker, dir.other, 401, "UNAUTHENTICATED", "GET", mePath, tok, func() {
					dir.maker.Do(t, testsilo.Request{Method: "DELETE", Path: usersPath + "/" + id, Tenant: f.slug, Token: f.admin}).Require(t, 204, "")
				})
			})
			t.Run("KeyRevocation", func(t *testing.T) {
				keyID, key := f.addKey(t, "users:read")
				check(t, dir.maker, dir.other, 401, "UNAUTHENTICATED", "GET", usersPath, "", func() {
					dir.maker.Do(t, testsilo.Request{Method: "DELETE", Path: apiKeysPath + "/" + keyID, Tenant: f.slug, Token: f.admin}).Require(t, 204, "")
				}, "X-API-Key", key)
			})
			t.Run("KeyCreatorLosesRole", func(t *testing.T) {
				makerID, email := f.addUser(t, "tenant_admin")
				tok := f.s.TenantLogin(t, f.slug, email, password).Str("access_token")
				_, key := f.keyBy(t, tok, "users:read")
				check(t, dir.maker, dir.other, 403, "FORBIDDEN", "GET", usersPath, "", func() {
					dir.maker.Do(t, testsilo.Request{Method: "PUT", Path: usersPath + "/" + makerID + "/roles", Tenant: f.slug, Token: f.admin, Body: map[string]any{"roles": []string{"member"}}}).Require(t, 200, "")
				}, "X-API-Key", key)
			})
			t.Run("ImpersonationEnds", func(t *testing.T) {
				_, email := f.addUser(t, "reader")
				userID := f.s.TenantLogin(t, f.slug, email, password).Obj("user")["id"].(string)
				adminID, super := a.AddAdmin(t, root, f.name("imp")+"@example.com", "superadmin")
				r := a.Do(t, testsilo.Request{Method: "POST", Path: tenantsPath + "/" + f.slug + "/impersonate", Token: super, Body: map[string]string{"userId": userID}})
				r.Require(t, 200, "")
				check(t, dir.maker, dir.other, 401, "UNAUTHENTICATED", "GET", mePath, r.Str("access_token"), func() {
					dir.maker.Do(t, testsilo.Request{Method: "PATCH", Path: "/api/central/admins/" + adminID, Token: root, Body: map[string]any{"isActive": false}}).Require(t, 200, "")
				})
			})
		})
	}
}

// TestCachedCallersReadNoTenantDatabase: once cached, a user's or a key's
// request authenticates without reading the tenant database. The tables
// authentication reads are renamed away: an instance that caches still
// answers, one that does not run its background work (and so caches
// nothing) cannot, which shows the renaming is felt by the uncached path.
func TestCachedCallersReadNoTenantDatabase(t *testing.T) {
	t.Parallel()
	s := newServer(t, following)
	uncached := s.instance(t)
	f := newAdminFixture(t, s, "authz-noread")
	_, key := f.addKey(t, "users:read")
	cachedOK(t, s, f.slug, "GET", mePath, f.admin)
	cachedOK(t, s, f.slug, "GET", rolesPath, "", "X-API-Key", key)
	uncached.Do(t, testsilo.Request{Method: "GET", Path: mePath, Tenant: f.slug, Token: f.admin}).Require(t, 200, "")
	rootExec(t, f.db, "RENAME TABLE {db}.users TO {db}.users_away, {db}.api_keys TO {db}.api_keys_away")
	t.Cleanup(func() {
		rootExec(t, f.db, "RENAME TABLE {db}.users_away TO {db}.users, {db}.api_keys_away TO {db}.api_keys")
	})
	// Each request either is answered from the cache (a hit, and then it
	// must succeed without the tables) or finds the cache untrusted for a
	// moment (an overloaded central database slowed a poll: neither count
	// moves, and the request may fail); the latter are retried.
	served := 0
	for deadline := time.Now().Add(30 * time.Second); served < 6; {
		for _, req := range []struct{ tok, key, path string }{{f.admin, "", mePath}, {"", key, rolesPath}} {
			var headers []string
			if req.key != "" {
				headers = []string{"X-API-Key", req.key}
			}
			hits, misses := s.callers.Stats()
			r := s.Do(t, testsilo.Request{Method: "GET", Path: req.path, Tenant: f.slug, Token: req.tok, Header: headerMap(headers)})
			afterHits, afterMisses := s.callers.Stats()
			switch {
			case afterHits == hits+1 && afterMisses == misses:
				r.Require(t, 200, "")
				served++
			case afterHits == hits && afterMisses == misses:
				t.Logf("cache untrusted for a moment: %d", r.Status)
			default:
				t.Fatalf("a cached caller was read again: hits %d→%d, misses %d→%d (%d %s)", hits, afterHits, misses, afterMisses, r.Status, r.Raw)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d requests answered from the cache in 30 s", served)
		}
	}
	if r := uncached.Do(t, testsilo.Request{Method: "GET", Path: mePath, Tenant: f.slug, Token: f.admin}); r.Status == 200 {
		t.Fatalf("the uncached instance authenticated without the users table: %s", r.Raw)
	}
	if r := uncached.Do(t, testsilo.Request{Method: "GET", Path: rolesPath, Tenant: f.slug, Header: headerMap([]string{"X-API-Key", key})}); r.Status == 200 {
		t.Fatalf("the uncached instance authenticated a key without the api_keys table: %s", r.Raw)
	}
	if hits, misses := uncached.callers.Stats(); hits != 0 || misses != 0 {
		t.Fatalf("an instance not following other instances used its cache: %d hits, %d misses", hits, misses)
	}
	// /metrics shows the cache's figures.
	hits, misses := s.callers.Stats()
	m := string(s.Do(t, testsilo.Request{Method: "GET", Path: "/metrics"}).Raw)
	for _, want := range []string{fmt.Sprintf("\nsilo_auth_cache_hits_total %d\n", hits), fmt.Sprintf("\nsilo_auth_cache_misses_total %d\n", misses)} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %q", strings.TrimSpace(want))
		}
	}
}

// TestCachedCallersThroughACentralOutage: an instance cut off the central
// database stops trusting its cache (it reads callers from the tenant
// database instead, so its own changes and nothing stale are served), keeps
// the bump of a change it made meanwhile, and records it once the central
// database is back, when the other instance drops its stale entry.
func TestCachedCallersThroughACentralOutage(t *testing.T) {
	t.Parallel()
	down, cut := centralSwitch(t)
	a := newServer(t, following, cut)
	b := a.instance(t, following)
	f := newAdminFixture(t, a, "authz-outage")
	f.addRole(t, "reader", "users:read")
	id, tok := f.userWith(t, "reader")
	cachedOK(t, a, f.slug, "GET", usersPath, tok)
	cachedOK(t, b, f.slug, "GET", usersPath, tok)

	down.Store(true)
	a.db.SetMaxIdleConns(0) // closes the connections made while it was up
	waitFor(t, time.Now(), 5*time.Second, "the cut-off instance stops using its cache", func() (bool, string) {
		hits, misses := a.callers.Stats()
		r := a.Do(t, testsilo.Request{Method: "GET", Path: usersPath, Tenant: f.slug, Token: tok})
		r.Require(t, 200, "")
		afterHits, afterMisses := a.callers.Stats()
		return afterHits == hits && afterMisses == misses, "still cached"
	})
	a.Do(t, testsilo.Request{Method: "PUT", Path: usersPath + "/" + id + "/roles", Tenant: f.slug, Token: f.admin, Body: map[string]any{"roles": []string{"member"}}}).Require(t, 200, "")
	a.Do(t, testsilo.Request{Method: "GET", Path: usersPath, Tenant: f.slug, Token: tok}).Require(t, 403, "FORBIDDEN")

	down.Store(false)
	back := time.Now()
	refusedWithin(t, b, back, 2*time.Second, 403, "FORBIDDEN", f.slug, "GET", usersPath, tok)
	cachedOK(t, a, f.slug, "GET", mePath, f.admin)
	a.Do(t, testsilo.Request{Method: "GET", Path: usersPath, Tenant: f.slug, Token: tok}).Require(t, 403, "FORBIDDEN")
}
