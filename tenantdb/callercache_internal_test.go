package tenantdb

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// testCache is a cache whose clock the test moves.
func testCache(entries int, ttl time.Duration) (*CallerCache, *time.Time) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := NewCallerCache(entries, ttl)
	c.now = func() time.Time { return now }
	return c, &now
}

func userEntry(tenant, id string) *cacheEntry {
	return &cacheEntry{key: cacheKey{tenant: tenant, kind: 'u', id: id},
		user: &cachedUser{user: User{ID: id, IsActive: true}, roles: []string{"member"}, perms: []string{"data:read"}}}
}

// cached reports whether key is served.
func cached(c *CallerCache, tenant, id string) bool {
	e, _, _ := c.lookup(cacheKey{tenant: tenant, kind: 'u', id: id})
	return e != nil
}

// put reads-and-stores as Authenticate does: generation first, then store.
func put(t *testing.T, c *CallerCache, tenant, id string, expires time.Time) {
	t.Helper()
	e, gen, ok := c.lookup(cacheKey{tenant: tenant, kind: 'u', id: id})
	if !ok || e != nil {
		t.Fatalf("lookup before put: entry %v, usable %v", e, ok)
	}
	c.store(userEntry(tenant, id), gen, expires)
}

func TestCallerCacheServesOnlyWhileFollowing(t *testing.T) {
	c, now := testCache(100, time.Minute)
	if _, _, ok := c.lookup(cacheKey{tenant: "t1", kind: 'u', id: "u1"}); ok {
		t.Fatal("usable before any poll")
	}
	c.AuthFollowed(*now)
	put(t, c, "t1", "u1", maxExpiry)
	if !cached(c, "t1", "u1") {
		t.Fatal("not served after a store")
	}
	*now = now.Add(followWindow)
	if _, _, ok := c.lookup(cacheKey{tenant: "t1", kind: 'u', id: "u1"}); ok {
		t.Fatal("still usable a follow window after the last poll")
	}
	c.AuthFollowed(*now)
	if !cached(c, "t1", "u1") {
		t.Fatal("not served again once polls resume")
	}
	// An older poll time never moves the window back.
	c.AuthFollowed(now.Add(-time.Hour))
	if !cached(c, "t1", "u1") {
		t.Fatal("an older poll time ended the window")
	}
}

func TestCallerCacheAuthChangedEndsOneTenant(t *testing.T) {
	c, now := testCache(100, time.Minute)
	c.AuthFollowed(*now)
	put(t, c, "t1", "u1", maxExpiry)
	put(t, c, "t2", "u2", maxExpiry)
	c.AuthChanged("t1")
	if cached(c, "t1", "u1") {
		t.Fatal("served after its tenant's authorization changed")
	}
	if !cached(c, "t2", "u2") {
		t.Fatal("another tenant's entry was dropped")
	}
	// A read that began before a change is not stored after it.
	_, gen, _ := c.lookup(cacheKey{tenant: "t1", kind: 'u', id: "u1"})
	c.AuthChanged("t1")
	c.store(userEntry("t1", "u1"), gen, maxExpiry)
	if cached(c, "t1", "u1") {
		t.Fatal("an entry read before a change was stored after it")
	}
}

func TestCallerCacheExpires(t *testing.T) {
	c, now := testCache(100, time.Minute)
	c.AuthFollowed(*now)
	put(t, c, "t1", "ttl", maxExpiry)
	put(t, c, "t1", "key", now.Add(10*time.Second)) // a key expiring first
	*now = now.Add(11 * time.Second)
	c.AuthFollowed(*now)
	if !cached(c, "t1", "ttl") || cached(c, "t1", "key") {
		t.Fatal("entries do not expire at their own expiry")
	}
	*now = now.Add(time.Minute)
	c.AuthFollowed(*now)
	if cached(c, "t1", "ttl") {
		t.Fatal("served past the TTL")
	}
	off, _ := testCache(100, 0)
	off.AuthFollowed(time.Now())
	if _, _, ok := off.lookup(cacheKey{tenant: "t1", kind: 'u', id: "u1"}); ok {
		t.Fatal("a cache with TTL 0 is used")
	}
}

func TestCallerCacheIsBounded(t *testing.T) {
	c, now := testCache(160, time.Minute)
	c.AuthFollowed(*now)
	for i := range 2000 {
		put(t, c, fmt.Sprintf("t%d", i%50), fmt.Sprintf("u%d", i), maxExpiry)
	}
	if n := c.Len(); n > 160 || n < 100 {
		t.Fatalf("%d entries held, want at most 160 (and most of them)", n)
	}
	// The most recent entry is kept.
	if !cached(c, "t49", "u1999") {
		t.Fatal("the newest entry was dropped")
	}
}

// TestCallerCacheMemory measures what an entry costs, the figure the docs
// give (docs/tenant-plane.md): a user with a realistic email, names, three
// roles and eight permissions.
func TestCallerCacheMemory(t *testing.T) {
	const n = 20000
	c, now := testCache(2*n, time.Minute) // shards fill unevenly
	c.AuthFollowed(*now)
	perms := []string{"apikeys:write", "audit:read", "data:read", "data:write", "roles:write", "settings:write", "users:read", "users:write"}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range n {
		tenant := fmt.Sprintf("%08d-0000-4000-8000-%012d", i%1000, i%1000)
		id := fmt.Sprintf("0190f1c2-7a3b-7c4d-8e5f-%012d", i)
		e := &cacheEntry{key: cacheKey{tenant: tenant, kind: 'u', id: id}, user: &cachedUser{
			user:  User{ID: id, Email: fmt.Sprintf("someone.%d@example-company.com", i), FirstName: "Firstname", LastName: "Lastname", IsActive: true},
			roles: []string{"member", "reader", "tenant_admin"}, perms: append([]string(nil), perms...)}}
		_, gen, _ := c.lookup(e.key)
		c.store(e, gen, maxExpiry)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("%.0f bytes per cached user", per)
	if c.Len() != n {
		t.Fatalf("%d entries held, want %d", c.Len(), n)
	}
	if per > 1000 {
		t.Fatalf("%.0f bytes per entry: docs/tenant-plane.md says under 1 KB", per)
	}
	runtime.KeepAlive(c)
}

// authTables are the tables whose rows decide what a tenant's callers may
// do, and so what CallerCache holds.
var authWrite = regexp.MustCompile(`(?i)\b(INSERT(\s+IGNORE)?\s+INTO|UPDATE|DELETE\s+FROM)\s+(users|user_roles|role_permissions|roles|api_keys)\b`)

// notAuthChanges are the functions that write those tables without going
// through authzTx, each with why that changes no cached caller.
var notAuthChanges = map[string]string{
	"CreateUser":   "inserts a new user, whom no cache holds",
	"Login":        "rehashes a password; the cache keeps no password hash",
	"CreateAPIKey": "inserts a new key, which no cache holds",
	"recordUse":    "records last_used_at, which authorizes nothing",
	"revokeKeysOf": "runs only inside the authzTx of DeleteUser and RevokeAPIKey",
}

// TestAuthorizationWritesEndTheCache: every function of this package that
// writes users, roles, permissions or API keys runs its change through
// authzTx (which ends the cached callers on every instance), or is listed in
// notAuthChanges with the reason it need not. A new write path fails here
// until it does one or the other.
func TestAuthorizationWritesEndTheCache(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			writes, viaTx := false, false
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.BasicLit:
					if n.Kind == token.STRING && authWrite.MatchString(n.Value) {
						writes = true
					}
				case *ast.SelectorExpr:
					if n.Sel.Name == "authzTx" {
						viaTx = true
					}
				}
				return true
			})
			if !writes {
				continue
			}
			seen[fn.Name.Name] = true
			if _, listed := notAuthChanges[fn.Name.Name]; !viaTx && !listed {
				t.Errorf("%s (%s) writes an authorization table outside authzTx", fn.Name.Name, fset.Position(fn.Pos()))
			}
		}
	}
	for name := range notAuthChanges {
		if !seen[name] {
			t.Errorf("notAuthChanges lists %s, which writes no authorization table", name)
		}
	}
	for _, must := range []string{"SetRoles", "DeleteUser", "SetActive", "SaveRole", "DeleteRole", "RevokeAPIKey", "AcceptInvitation"} {
		if !seen[must] {
			t.Errorf("%s was not found writing an authorization table: is the pattern still right?", must)
		}
	}
}
