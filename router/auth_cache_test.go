package router_test

import (
	"database/sql/driver"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
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
		r := srv.tc(t, method, path, slug, tok, nil, headers...)
		expect(t, r, 200, "")
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
		r, err := srv.do(method, path, tok, nil, append([]string{"x-tenant-id", slug}, headers...)...)
		if err != nil {
			return false, err.Error()
		}
		if r.status != 200 && r.status != status {
			t.Fatalf("%s %s answered %d %s", method, path, r.status, r.raw)
		}
		return r.status == status && r.code() == code, r.raw
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
	root := a.bootstrap()
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
		expect(t, maker.tc(t, method, path, f.slug, tok, nil, headers...), status, code)
		refusedWithin(t, other, done, time.Second, status, code, f.slug, method, path, tok, headers...)
		expect(t, maker.tc(t, method, path, f.slug, tok, nil, headers...), status, code)
	}
	for _, dir := range []struct {
		name         string
		maker, other *server
	}{{"MadeHere", a, b}, {"MadeElsewhere", b, a}} {
		t.Run(dir.name, func(t *testing.T) {
			t.Run("RoleChange", func(t *testing.T) {
				id, email := f.addUser(t, "reader")
				tok := f.s.tlogin(t, f.slug, email, password).str("access_token")
				check(t, dir.maker, dir.other, 403, "FORBIDDEN", "GET", usersPath, tok, func() {
					expect(t, dir.maker.tc(t, "PUT", usersPath+"/"+id+"/roles", f.slug, f.admin, map[string]any{"roles": []string{"member"}}), 200, "")
				})
			})
			t.Run("RolePermissions", func(t *testing.T) {
				role := f.name("perm-")
				f.addRole(t, role, "users:read")
				_, email := f.addUser(t, role)
				tok := f.s.tlogin(t, f.slug, email, password).str("access_token")
				check(t, dir.maker, dir.other, 403, "FORBIDDEN", "GET", usersPath, tok, func() {
					expect(t, dir.maker.tc(t, "PUT", rolesPath+"/"+role, f.slug, f.admin, map[string]any{"permissions": []string{"data:read"}}), 200, "")
				})
			})
			t.Run("Deactivation", func(t *testing.T) {
				id, email := f.addUser(t, "reader")
				tok := f.s.tlogin(t, f.slug, email, password).str("access_token")
				check(t, dir.maker, dir.other, 401, "UNAUTHENTICATED", "GET", mePath, tok, func() {
					expect(t, dir.maker.tc(t, "PATCH", usersPath+"/"+id, f.slug, f.admin, map[string]any{"isActive": false}), 200, "")
				})
			})
			t.Run("Deletion", func(t *testing.T) {
				id, email := f.addUser(t, "reader")
				tok := f.s.tlogin(t, f.slug, email, password).str("access_token")
				check(t, dir.maker, dir.other, 401, "UNAUTHENTICATED", "GET", mePath, tok, func() {
					expect(t, dir.maker.tc(t, "DELETE", usersPath+"/"+id, f.slug, f.admin, nil), 204, "")
				})
			})
			t.Run("KeyRevocation", func(t *testing.T) {
				keyID, key := f.addKey(t, "users:read")
				check(t, dir.maker, dir.other, 401, "UNAUTHENTICATED", "GET", usersPath, "", func() {
					expect(t, dir.maker.tc(t, "DELETE", apiKeysPath+"/"+keyID, f.slug, f.admin, nil), 204, "")
				}, "X-API-Key", key)
			})
			t.Run("KeyCreatorLosesRole", func(t *testing.T) {
				makerID, email := f.addUser(t, "tenant_admin")
				tok := f.s.tlogin(t, f.slug, email, password).str("access_token")
				_, key := f.keyBy(t, tok, "users:read")
				check(t, dir.maker, dir.other, 403, "FORBIDDEN", "GET", usersPath, "", func() {
					expect(t, dir.maker.tc(t, "PUT", usersPath+"/"+makerID+"/roles", f.slug, f.admin, map[string]any{"roles": []string{"member"}}), 200, "")
				}, "X-API-Key", key)
			})
			t.Run("ImpersonationEnds", func(t *testing.T) {
				_, email := f.addUser(t, "reader")
				userID := f.s.tlogin(t, f.slug, email, password).user()["id"].(string)
				adminID, super := a.addAdmin(root, f.name("imp")+"@example.com", "superadmin")
				r := a.call("POST", tenantsPath+"/"+f.slug+"/impersonate", super, map[string]string{"userId": userID})
				expect(t, r, 200, "")
				check(t, dir.maker, dir.other, 401, "UNAUTHENTICATED", "GET", mePath, r.str("access_token"), func() {
					expect(t, dir.maker.call("PATCH", "/api/central/admins/"+adminID, root, map[string]any{"isActive": false}), 200, "")
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
	expect(t, uncached.tc(t, "GET", mePath, f.slug, f.admin, nil), 200, "")
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
			r := s.tc(t, "GET", req.path, f.slug, req.tok, nil, headers...)
			afterHits, afterMisses := s.callers.Stats()
			switch {
			case afterHits == hits+1 && afterMisses == misses:
				expect(t, r, 200, "")
				served++
			case afterHits == hits && afterMisses == misses:
				t.Logf("cache untrusted for a moment: %d", r.status)
			default:
				t.Fatalf("a cached caller was read again: hits %d→%d, misses %d→%d (%d %s)", hits, afterHits, misses, afterMisses, r.status, r.raw)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d requests answered from the cache in 30 s", served)
		}
	}
	if r := uncached.tc(t, "GET", mePath, f.slug, f.admin, nil); r.status == 200 {
		t.Fatalf("the uncached instance authenticated without the users table: %s", r.raw)
	}
	if r := uncached.tc(t, "GET", rolesPath, f.slug, "", nil, "X-API-Key", key); r.status == 200 {
		t.Fatalf("the uncached instance authenticated a key without the api_keys table: %s", r.raw)
	}
	if hits, misses := uncached.callers.Stats(); hits != 0 || misses != 0 {
		t.Fatalf("an instance not following other instances used its cache: %d hits, %d misses", hits, misses)
	}
	// /metrics shows the cache's figures.
	hits, misses := s.callers.Stats()
	m := s.call("GET", "/metrics", "", nil).raw
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
	var down atomic.Bool
	nowhere := mysql.NewConfig()
	nowhere.Net, nowhere.Addr, nowhere.DBName, nowhere.Timeout = "tcp", "127.0.0.1:1", "silo_nowhere", time.Second
	dead, err := mysql.NewConnector(nowhere)
	if err != nil {
		t.Fatal(err)
	}
	a := newServer(t, following, func(o *serverOptions) {
		o.wrapCentral = func(c driver.Connector) driver.Connector {
			return &switchConnector{Connector: c, down: dead, isDown: &down}
		}
	})
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
		r := a.tc(t, "GET", usersPath, f.slug, tok, nil)
		expect(t, r, 200, "")
		afterHits, afterMisses := a.callers.Stats()
		return afterHits == hits && afterMisses == misses, "still cached"
	})
	expect(t, a.tc(t, "PUT", usersPath+"/"+id+"/roles", f.slug, f.admin, map[string]any{"roles": []string{"member"}}), 200, "")
	expect(t, a.tc(t, "GET", usersPath, f.slug, tok, nil), 403, "FORBIDDEN")

	down.Store(false)
	back := time.Now()
	refusedWithin(t, b, back, 2*time.Second, 403, "FORBIDDEN", f.slug, "GET", usersPath, tok)
	cachedOK(t, a, f.slug, "GET", mePath, f.admin)
	expect(t, a.tc(t, "GET", usersPath, f.slug, tok, nil), 403, "FORBIDDEN")
}
