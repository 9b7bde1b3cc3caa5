package router_test

import (
	"database/sql"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/silo-dev/silo/internal/testsupport/testdb"
	"github.com/silo-dev/silo/internal/testsupport/testsilo"
	"github.com/silo-dev/silo/router"
	"github.com/silo-dev/silo/tenantdb"
)

// Tenant administration: the authorization matrix of every authenticated
// tenant route, users, roles, settings and the tenant audit log, against
// real tenant databases. Every refused request is checked to leave the
// tenant database as it was.

const (
	usersPath       = "/api/users"
	rolesPath       = "/api/roles"
	settingsPath    = "/api/settings"
	auditPath       = "/api/audit"
	invitationsPath = "/api/invitations"
	apiKeysPath     = "/api/api-keys"
	noPerms         = "no-perms" // a custom role without permissions, which anybody may grant
)

// adminFixture is a tenant with its first tenant_admin logged in and a root
// connection to fingerprint its database.
type adminFixture struct {
	s       *server
	slug    string
	db      string
	root    *sql.DB
	admin   string // the first tenant_admin's access token
	adminID string
	seq     atomic.Int64
}

func newAdminFixture(t *testing.T, s *server, slug string) *adminFixture {
	t.Helper()
	tn := s.Tenant(t, tenantOf(slug))
	if !tenantdb.ValidDatabase(tn.DatabaseName) {
		t.Fatalf("bad database name %q", tn.DatabaseName)
	}
	root := testdb.Server(t)
	t.Cleanup(func() { root.Close() })
	r := s.TenantLogin(t, slug, adminOf(slug), password)
	return &adminFixture{s: s, slug: slug, db: tn.DatabaseName, root: root,
		admin: r.Str("access_token"), adminID: r.Obj("user")["id"].(string)}
}

// name returns a fresh name with prefix.
func (f *adminFixture) name(prefix string) string { return fmt.Sprintf("%s%d", prefix, f.seq.Add(1)) }

// email returns a fresh email address of the tenant.
func (f *adminFixture) email() string { return f.name("user") + "@" + f.slug + ".example" }

// userBody is a valid POST /api/users body; roles nil leaves the field out.
func userBody(email string, roles ...string) map[string]any {
	b := map[string]any{"email": email, "password": password, "firstName": "Test", "lastName": "User"}
	if roles != nil {
		b["roles"] = roles
	}
	return b
}

// addUser adds a user as the tenant admin and returns its id and email.
func (f *adminFixture) addUser(t testing.TB, roles ...string) (id, email string) {
	t.Helper()
	email = f.email()
	r := f.s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: usersPath, Tenant: f.slug, Token: f.admin, Body: userBody(email, roles...)})
	return r.Obj("user")["id"].(string), email
}

// userWith adds a user holding roles and logs them in.
func (f *adminFixture) userWith(t testing.TB, roles ...string) (id, tok string) {
	t.Helper()
	id, email := f.addUser(t, roles...)
	return id, f.s.TenantLogin(t, f.slug, email, password).Str("access_token")
}

// addRole creates a custom role as the tenant admin.
func (f *adminFixture) addRole(t testing.TB, name string, perms ...string) {
	t.Helper()
	if perms == nil {
		perms = []string{}
	}
	f.s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: rolesPath, Tenant: f.slug, Token: f.admin, Body: map[string]any{"name": name, "permissions": perms}})
}

// addKey creates an API key as the tenant admin and returns its id and key.
func (f *adminFixture) addKey(t testing.TB, perms ...string) (id, key string) {
	t.Helper()
	r := f.s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: apiKeysPath, Tenant: f.slug, Token: f.admin, Body: map[string]any{"name": f.name("key"), "permissions": perms}})
	return r.JSON["apiKey"].(map[string]any)["id"].(string), r.Str("key")
}

// invite creates an invitation as the tenant admin and returns its id.
func (f *adminFixture) invite(t testing.TB, role string) string {
	t.Helper()
	r := f.s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: invitationsPath, Tenant: f.slug, Token: f.admin, Body: map[string]string{"email": f.email(), "role": role}})
	return r.JSON["invitation"].(map[string]any)["id"].(string)
}

// fingerprintQuery reads the tenant database's state in one round trip.
// API keys leave out last_used_at: authenticating a key records its use
// (at most once a minute), whatever the request's outcome.
var fingerprintQuery = strings.Join([]string{
	"SELECT 'users' AS t, CONCAT_WS('|', id, email, password_hash, first_name, last_name, is_active, created_at, updated_at) AS r FROM {db}.users",
	"SELECT 'user_roles', CONCAT_WS('|', user_id, role_name) FROM {db}.user_roles",
	"SELECT 'roles', CONCAT_WS('|', name, description, built_in, created_at) FROM {db}.roles",
	"SELECT 'role_permissions', CONCAT_WS('|', role_name, permission) FROM {db}.role_permissions",
	"SELECT 'settings', CONCAT_WS('|', id, display_name, logo_url, primary_color, allow_public_signup, updated_at) FROM {db}.settings",
	"SELECT 'refresh_tokens', CONCAT_WS('|', id, user_id, IFNULL(used_at, '-'), IFNULL(revoked_at, '-')) FROM {db}.refresh_tokens",
	"SELECT 'user_configs', CONCAT_WS('|', user_id, MD5(config), updated_at) FROM {db}.user_configs",
	"SELECT 'api_keys', CONCAT_WS('|', id, name, permissions, created_by, IFNULL(expires_at, '-'), IFNULL(revoked_at, '-')) FROM {db}.api_keys",
	"SELECT 'invitations', CONCAT_WS('|', id, email, role_name, IFNULL(accepted_at, '-'), IFNULL(revoked_at, '-')) FROM {db}.invitations",
	"SELECT 'audit_log', CONCAT_WS('|', id, action, target) FROM {db}.audit_log",
}, " UNION ALL ") + " ORDER BY 1, 2"

// fingerprint is the content of the tenant database, read as root.
func (f *adminFixture) fingerprint(t testing.TB) string {
	t.Helper()
	rows, err := f.root.Query(strings.ReplaceAll(fingerprintQuery, "{db}", "`"+f.db+"`"))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var table, row string
		if err := rows.Scan(&table, &row); err != nil {
			t.Fatal(err)
		}
		b.WriteString(table + ": " + row + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// unchanged fails t if the database changed since before was taken.
func (f *adminFixture) unchanged(t testing.TB, before, what string) {
	t.Helper()
	if after := f.fingerprint(t); after != before {
		t.Fatalf("%s changed the tenant database:\n%s", what, diffLines(before, after))
	}
}

// diffLines lists the lines only in a (-) or only in b (+).
func diffLines(a, b string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	am, bm := in(a), in(b)
	var out []string
	for _, l := range strings.Split(a, "\n") {
		if !bm[l] {
			out = append(out, "- "+l)
		}
	}
	for _, l := range strings.Split(b, "\n") {
		if !am[l] {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}

// refuse sends a request that must be refused with status and code, and
// checks that the tenant database is unchanged by it.
func (f *adminFixture) refuse(t testing.TB, status int, code, method, path, tok string, body any, headers ...string) *testsilo.Response {
	t.Helper()
	before := f.fingerprint(t)
	r := f.s.Expect(t, status, code, testsilo.Request{Method: method, Path: path, Tenant: f.slug, Token: tok, Body: body, Header: headerMap(headers)})
	f.unchanged(t, before, fmt.Sprintf("refused %s %s (%d)", method, path, status))
	return r
}

// invalid is refuse for 400 VALIDATION_FAILED naming exactly fields.
func (f *adminFixture) invalid(t testing.TB, method, path, tok string, body any, fields ...string) *testsilo.Response {
	t.Helper()
	r := f.refuse(t, 400, "VALIDATION_FAILED", method, path, tok, body)
	requireFields(t, r, fields...)
	return r
}

// requireFields fails unless r's details name exactly fields.
func requireFields(t testing.TB, r *testsilo.Response, fields ...string) {
	t.Helper()
	want := map[string]bool{}
	for _, f := range fields {
		want[f] = true
	}
	if got := r.Details(); !reflect.DeepEqual(got, want) {
		t.Fatalf("details name %v, want %v: %s", got, want, r.Raw)
	}
}

// listUsers walks GET /api/users?q=&limit= through its cursors and returns
// every user in order, failing on a repeated user or a malformed page.
func (f *adminFixture) listUsers(t testing.TB, tok, q string, limit int) []map[string]any {
	t.Helper()
	var out []map[string]any
	seen := map[string]bool{}
	cursor := ""
	for page := 0; ; page++ {
		if page > 1000 {
			t.Fatal("pagination does not end")
		}
		v := url.Values{"limit": {fmt.Sprint(limit)}}
		if q != "" {
			v.Set("q", q)
		}
		if cursor != "" {
			v.Set("cursor", cursor)
		}
		r := f.s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: usersPath + "?" + v.Encode(), Tenant: f.slug, Token: tok})
		users := r.List("users")
		if len(users) > limit {
			t.Fatalf("page of %d users with limit %d", len(users), limit)
		}
		if cursor != "" && len(users) == 0 {
			t.Fatalf("a next cursor led to an empty page (q=%q limit=%d)", q, limit)
		}
		for _, u := range users {
			id, _ := u["id"].(string)
			if seen[id] {
				t.Fatalf("user %s listed twice (q=%q limit=%d)", id, q, limit)
			}
			seen[id] = true
			out = append(out, u)
		}
		next, isString := r.JSON["nextCursor"].(string)
		if !isString {
			if v, ok := r.JSON["nextCursor"]; !ok || v != nil {
				t.Fatalf("nextCursor missing or not null on the last page: %s", r.Raw)
			}
			return out
		}
		if len(users) != limit {
			t.Fatalf("a page of %d users (limit %d) with a next cursor", len(users), limit)
		}
		cursor = next
	}
}

// dbUserIDs lists the tenant's user ids as the database has them, in id order.
func (f *adminFixture) dbUserIDs(t testing.TB) []string {
	t.Helper()
	rows, err := f.root.Query("SELECT id FROM `" + f.db + "`.users ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	return out
}

// activeAdmins lists the ids of the tenant's active tenant_admins.
func (f *adminFixture) activeAdmins(t testing.TB) []string {
	t.Helper()
	rows, err := f.root.Query(strings.ReplaceAll("SELECT r.user_id FROM {db}.user_roles r JOIN {db}.users u ON u.id = r.user_id "+
		"WHERE r.role_name = 'tenant_admin' AND u.is_active = 1 ORDER BY 1", "{db}", "`"+f.db+"`"))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	return out
}

func ids(users []map[string]any) []string {
	out := make([]string, 0, len(users))
	for _, u := range users {
		id, _ := u["id"].(string)
		out = append(out, id)
	}
	return out
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}

// permissions returns the caller's permissions from GET /api/auth/me.
func (f *adminFixture) permissions(t testing.TB, tok string) []string {
	t.Helper()
	r := f.s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: mePath, Tenant: f.slug, Token: tok})
	return strs(r.Obj("user")["permissions"])
}

// --- 1. The authorization matrix -------------------------------------------

// routeReq is a valid request to one route: its path parameters, query,
// body, and the status it gets when the caller may use the route.
type routeReq struct {
	params map[string]string
	query  string
	body   any
	want   int
}

// routeCase is what the test knows of a route from API.md: the permission
// it needs, whether it needs a user (API keys are refused), and how to
// build a valid request to it.
type routeCase struct {
	perm     string
	userOnly bool
	build    func(t *testing.T, f *adminFixture) routeReq
}

func fixed(want int, body any) func(*testing.T, *adminFixture) routeReq {
	return func(*testing.T, *adminFixture) routeReq { return routeReq{body: body, want: want} }
}

// routeCases has a row for every authenticated tenant route. A route added
// to router.TenantRoutes() without a row here fails TestTenantAuthorizationMatrix.
// Requests that write get a fresh target each time, so every one succeeds
// when allowed; what they grant (the no-perms role, an apikeys:write key)
// is within every caller's permissions, so only the route's own
// permission decides.
var routeCases = map[string]routeCase{
	"GET /auth/me":     {"", true, fixed(200, nil)},
	"GET /auth/config": {"", true, fixed(200, nil)},
	"PUT /auth/config": {"", true, fixed(200, map[string]any{"config": map[string]any{"theme": "dark"}})},
	"GET /users": {"users:read", false, func(*testing.T, *adminFixture) routeReq {
		return routeReq{query: "?limit=2", want: 200}
	}},
	"GET /users/:id": {"users:read", false, func(_ *testing.T, f *adminFixture) routeReq {
		return routeReq{params: map[string]string{"id": f.adminID}, want: 200}
	}},
	"POST /users": {"users:write", false, func(_ *testing.T, f *adminFixture) routeReq {
		return routeReq{body: userBody(f.email(), noPerms), want: 201}
	}},
	"PUT /users/:id/roles": {"users:write", false, func(t *testing.T, f *adminFixture) routeReq {
		id, _ := f.addUser(t)
		return routeReq{params: map[string]string{"id": id}, body: map[string]any{"roles": []string{noPerms}}, want: 200}
	}},
	"PATCH /users/:id": {"users:write", false, func(t *testing.T, f *adminFixture) routeReq {
		id, _ := f.addUser(t)
		return routeReq{params: map[string]string{"id": id}, body: map[string]any{"isActive": false}, want: 200}
	}},
	"DELETE /users/:id": {"users:write", false, func(t *testing.T, f *adminFixture) routeReq {
		id, _ := f.addUser(t)
		return routeReq{params: map[string]string{"id": id}, want: 204}
	}},
	"GET /roles": {"", false, fixed(200, nil)},
	"POST /roles": {"roles:write", false, func(_ *testing.T, f *adminFixture) routeReq {
		return routeReq{body: map[string]any{"name": f.name("made-"), "permissions": []string{}}, want: 201}
	}},
	"PUT /roles/:name": {"roles:write", false, func(t *testing.T, f *adminFixture) routeReq {
		name := f.name("edit-")
		f.addRole(t, name)
		return routeReq{params: map[string]string{"name": name}, body: map[string]any{"description": "changed", "permissions": []string{}}, want: 200}
	}},
	"DELETE /roles/:name": {"roles:write", false, func(t *testing.T, f *adminFixture) routeReq {
		name := f.name("gone-")
		f.addRole(t, name)
		return routeReq{params: map[string]string{"name": name}, want: 204}
	}},
	"GET /settings": {"", false, fixed(200, nil)},
	"PUT /settings": {"settings:write", false, func(_ *testing.T, f *adminFixture) routeReq {
		return routeReq{body: map[string]any{"displayName": f.name("Matrix ")}, want: 200}
	}},
	"GET /audit": {"audit:read", false, func(*testing.T, *adminFixture) routeReq {
		return routeReq{query: "?limit=5", want: 200}
	}},
	"POST /events/ticket": {"audit:read", false, fixed(200, nil)},
	"POST /invitations": {"users:write", false, func(_ *testing.T, f *adminFixture) routeReq {
		return routeReq{body: map[string]any{"email": f.email(), "role": noPerms}, want: 201}
	}},
	"GET /invitations": {"users:write", false, fixed(200, nil)},
	"DELETE /invitations/:id": {"users:write", false, func(t *testing.T, f *adminFixture) routeReq {
		return routeReq{params: map[string]string{"id": f.invite(t, noPerms)}, want: 204}
	}},
	"POST /api-keys": {"apikeys:write", false, func(_ *testing.T, f *adminFixture) routeReq {
		return routeReq{body: map[string]any{"name": f.name("matrix key "), "permissions": []string{"apikeys:write"}}, want: 201}
	}},
	"GET /api-keys": {"apikeys:write", false, fixed(200, nil)},
	"DELETE /api-keys/:id": {"apikeys:write", false, func(t *testing.T, f *adminFixture) routeReq {
		id, _ := f.addKey(t, "data:read")
		return routeReq{params: map[string]string{"id": id}, want: 204}
	}},
}

// fillPath puts params into a route pattern such as /users/:id/roles.
func fillPath(t *testing.T, pattern string, params map[string]string) string {
	t.Helper()
	parts := strings.Split(pattern, "/")
	used := 0
	for i, p := range parts {
		if name, ok := strings.CutPrefix(p, ":"); ok {
			v, ok := params[name]
			if !ok {
				t.Fatalf("no value for :%s of %s", name, pattern)
			}
			parts[i] = url.PathEscape(v)
			used++
		}
	}
	if used != len(params) {
		t.Fatalf("params %v do not fit %s", params, pattern)
	}
	return "/api" + strings.Join(parts, "/")
}

type callerKind int

const (
	callerOutsider callerKind = iota // no identity at this tenant
	callerUser
	callerKey
)

type matrixCaller struct {
	name  string
	kind  callerKind
	token string
	perms []string
}

func roleFor(perm string) string { return "only-" + strings.ReplaceAll(perm, ":", "-") }

func TestTenantAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	super := s.AdminToken()
	f := newAdminFixture(t, s, "matrix")
	other := newAdminFixture(t, s, "matrix-other")

	routes := router.TenantRoutes()
	seen := map[string]bool{}
	for _, r := range routes {
		key := r.Method + " " + r.Path
		if seen[key] {
			t.Errorf("route %s is listed twice", key)
		}
		seen[key] = true
		rc, ok := routeCases[key]
		switch {
		case !ok:
			t.Errorf("route %s (permission %q) has no row in routeCases: add a request builder for it", key, r.Permission)
		case rc.perm != r.Permission:
			t.Errorf("route %s needs %q, API.md says %q", key, r.Permission, rc.perm)
		}
	}
	for key := range routeCases {
		if !seen[key] {
			t.Errorf("routeCases has %s, which TenantRoutes() does not list", key)
		}
	}
	if !reflect.DeepEqual(sorted(tenantdb.Permissions), adminPerms) {
		t.Errorf("tenantdb.Permissions = %v, API.md has %v", tenantdb.Permissions, adminPerms)
	}
	if t.Failed() {
		t.FailNow()
	}

	// The callers.
	f.addRole(t, noPerms)
	memberEmail := f.email()
	s.SignUp(t, f.slug, memberEmail, password)
	callers := []matrixCaller{
		{name: "no token", kind: callerOutsider},
		{name: "garbage token", kind: callerOutsider, token: "not-a-token"},
		{name: "other tenant's admin", kind: callerOutsider, token: other.admin},
		{name: "central superadmin", kind: callerOutsider, token: super},
		{name: "public member", kind: callerUser, token: s.TenantLogin(t, f.slug, memberEmail, password).Str("access_token"), perms: memberPerms},
		{name: "tenant_admin", kind: callerUser, token: f.admin, perms: adminPerms},
	}
	_, otherKey := other.addKey(t, adminPerms...)
	callers = append(callers, matrixCaller{name: "other tenant's API key", kind: callerOutsider, token: otherKey})
	_, tok := f.userWith(t, noPerms)
	callers = append(callers, matrixCaller{name: "role without permissions", kind: callerUser, token: tok})
	for _, p := range adminPerms {
		f.addRole(t, roleFor(p), p)
		_, tok := f.userWith(t, roleFor(p))
		callers = append(callers, matrixCaller{name: "role " + roleFor(p), kind: callerUser, token: tok, perms: []string{p}})
		_, key := f.addKey(t, p)
		callers = append(callers, matrixCaller{name: "API key " + p, kind: callerKey, token: key, perms: []string{p}})
	}
	// Each caller holds what the matrix thinks it holds.
	for _, c := range callers {
		if c.kind == callerUser {
			if got := f.permissions(t, c.token); !reflect.DeepEqual(got, sorted(c.perms)) && !(len(got) == 0 && len(c.perms) == 0) {
				t.Fatalf("%s holds %v, want %v", c.name, got, c.perms)
			}
		}
	}

	for _, route := range routes {
		key := route.Method + " " + route.Path
		rc := routeCases[key]
		perm := route.Permission
		if perm == "" {
			perm = "(any user)"
		}
		t.Logf("%-6s /api%-22s %s", route.Method, route.Path, perm)
		t.Run(key, func(t *testing.T) {
			for _, c := range callers {
				req := rc.build(t, f)
				path := fillPath(t, route.Path, req.params) + req.query
				var status int
				var code string
				switch {
				case c.kind == callerOutsider:
					status, code = 401, "UNAUTHENTICATED"
				case route.Permission == "" && c.kind == callerKey && rc.userOnly:
					status, code = 403, "FORBIDDEN"
				case route.Permission == "" || slices.Contains(c.perms, route.Permission):
					status = req.want
				default:
					status, code = 403, "FORBIDDEN"
				}
				before := f.fingerprint(t)
				r := f.s.Do(t, testsilo.Request{Method: route.Method, Path: path, Tenant: f.slug, Token: c.token, Body: req.body})
				if r.Status != status || (code != "" && r.Code() != code) {
					t.Errorf("%s by %s: %d %s, want %d %s; body %s", key, c.name, r.Status, r.Code(), status, code, r.Raw)
					continue
				}
				r.Require(t, status, code)
				if status >= 400 {
					f.unchanged(t, before, fmt.Sprintf("%s by %s", key, c.name))
				}
			}
		})
	}
}

// --- 2. Users ---------------------------------------------------------------

func TestTenantUserAdmin(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	f := newAdminFixture(t, s, "people")
	f.addRole(t, noPerms)

	t.Run("ListPaginated", func(t *testing.T) {
		for range 8 {
			f.addUser(t)
		}
		want := f.dbUserIDs(t)
		if len(want) != 9 {
			t.Fatalf("%d users", len(want))
		}
		for _, limit := range []int{1, 2, 3, 4, 9, 10, 200} {
			if got := ids(f.listUsers(t, f.admin, "", limit)); !reflect.DeepEqual(got, want) {
				t.Fatalf("limit %d lists %v, want %v", limit, got, want)
			}
		}
		// Without a limit: the default page holds them all.
		r := f.s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: usersPath, Tenant: f.slug, Token: f.admin})
		if got := ids(r.List("users")); !reflect.DeepEqual(got, want) || r.JSON["nextCursor"] != nil {
			t.Fatalf("default page: %s", r.Raw)
		}
		for _, u := range r.List("users") {
			if u["email"] == "" || u["isActive"] != true || u["createdAt"] == nil {
				t.Fatalf("user view %v", u)
			}
			if _, ok := u["password"]; ok || strings.Contains(string(r.Raw), "$2a$") || strings.Contains(strings.ToLower(string(r.Raw)), "hash") {
				t.Fatalf("list leaks hashes: %s", r.Raw)
			}
		}
		for _, q := range []string{"limit=0", "limit=201", "limit=x", "limit=-1", "limit=1.5"} {
			requireFields(t, f.refuse(t, 400, "VALIDATION_FAILED", "GET", usersPath+"?"+q, f.admin, nil), "limit")
		}
		for _, c := range []string{"nope", "1' OR '1'='1", strings.Repeat("9", 300)} {
			requireFields(t, f.refuse(t, 400, "VALIDATION_FAILED", "GET", usersPath+"?cursor="+url.QueryEscape(c), f.admin, nil), "cursor")
		}
	})

	t.Run("Search", func(t *testing.T) {
		add := func(email, first, last string) string {
			t.Helper()
			r := f.s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: usersPath, Tenant: f.slug, Token: f.admin, Body: map[string]any{"email": email, "password": password, "firstName": first, "lastName": last}})
			return r.Obj("user")["id"].(string)
		}
		under := add("under_score@people.example", "Una", "Score")
		underX := add("underxscore@people.example", "Uno", "Xscore")
		pct := add("per%cent@people.example", "Perry", "Cent")
		percent := add("percent@people.example", "Percy", "Centime")
		slash := add("zed@people.example", "Zed", `O\Brien`)
		mixed := add("mixed@people.example", "Ma_ria", "Lo%pez")
		_ = underX
		for q, want := range map[string][]string{
			"_":              {under, mixed},
			"under_":         {under},
			"%":              {pct, mixed},
			"per%":           {pct},
			"r%c":            {pct},
			`\`:              {slash},
			`o\b`:            {slash},
			"CENTIME":        {percent},
			"perry":          {pct},
			"cent":           {pct, percent},
			"UNDER":          {under, underX},
			"xscore@":        {underX},
			"%pez":           {mixed},
			"nobody-matches": nil,
			"_%":             nil,
		} {
			for _, limit := range []int{1, 50} {
				got := sorted(ids(f.listUsers(t, f.admin, q, limit)))
				if !reflect.DeepEqual(got, sorted(want)) && !(len(got) == 0 && len(want) == 0) {
					t.Errorf("q=%q limit=%d: %v, want %v", q, limit, got, sorted(want))
				}
			}
		}
		requireFields(t, f.refuse(t, 400, "VALIDATION_FAILED", "GET", usersPath+"?q="+strings.Repeat("a", 201), f.admin, nil), "q")
		requireFields(t, f.refuse(t, 400, "VALIDATION_FAILED", "GET", usersPath+"?q=%ff", f.admin, nil), "q")
	})

	t.Run("Get", func(t *testing.T) {
		id, email := f.addUser(t, noPerms, "member")
		r := f.s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: usersPath + "/" + id, Tenant: f.slug, Token: f.admin})
		u := r.Obj("user")
		if u["id"] != id || u["email"] != email || u["firstName"] != "Test" || u["lastName"] != "User" || u["isActive"] != true ||
			!reflect.DeepEqual(strs(u["roles"]), []string{"member", noPerms}) {
			t.Fatalf("user = %s", r.Raw)
		}
		if strings.Contains(string(r.Raw), "$2a$") || strings.Contains(strings.ToLower(string(r.Raw)), "password") {
			t.Fatalf("get leaks: %s", r.Raw)
		}
		for _, bad := range []string{"01a21284-9322-7bbd-8f49-73c47e0f1394", "not-a-uuid", "1%27%20OR%20%271%27=%271"} {
			f.refuse(t, 404, "NOT_FOUND", "GET", usersPath+"/"+bad, f.admin, nil)
		}
	})

	t.Run("Add", func(t *testing.T) {
		r := f.s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: usersPath, Tenant: f.slug, Token: f.admin, Body: map[string]any{"email": "  New.Person@People.EXAMPLE ", "password": password,
			"firstName": "New", "lastName": "Person", "roles": []string{noPerms}}})
		u := r.Obj("user")
		if u["email"] != "new.person@people.example" || !reflect.DeepEqual(strs(u["roles"]), []string{noPerms}) || len(u["id"].(string)) != 36 {
			t.Fatalf("added = %s", r.Raw)
		}
		if strings.Contains(string(r.Raw), "$2a$") || strings.Contains(strings.ToLower(string(r.Raw)), "password") {
			t.Fatalf("add leaks: %s", r.Raw)
		}
		// The new user can log in; no roles given makes a member.
		f.s.TenantLogin(t, f.slug, "new.person@people.example", password)
		r = f.s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: usersPath, Tenant: f.slug, Token: f.admin, Body: userBody("plain@people.example")})
		if !reflect.DeepEqual(strs(r.Obj("user")["roles"]), []string{"member"}) {
			t.Fatalf("default roles: %s", r.Raw)
		}
		for _, email := range []string{"new.person@people.example", "NEW.PERSON@PEOPLE.EXAMPLE", "New.Person@people.example", adminOf(f.slug), strings.ToUpper(adminOf(f.slug))} {
			r := f.refuse(t, 409, "USER_EXISTS", "POST", usersPath, f.admin, userBody(email, noPerms))
			if r.JSON["error"].(map[string]any)["message"] != "User already exists" {
				t.Fatalf("message: %s", r.Raw)
			}
		}
		f.invalid(t, "POST", usersPath, f.admin, map[string]any{"email": "not-an-email", "password": "short",
			"firstName": " ", "lastName": strings.Repeat("x", 101)}, "email", "password", "firstName", "lastName")
		f.invalid(t, "POST", usersPath, f.admin, map[string]any{"email": "", "password": strings.Repeat("p", 73),
			"firstName": "a\x01b", "lastName": ""}, "email", "password", "firstName", "lastName")
		f.invalid(t, "POST", usersPath, f.admin, map[string]any{}, "email", "password", "firstName", "lastName")
		f.invalid(t, "POST", usersPath, f.admin, userBody("ghost@people.example", "ghost"), "roles")
		f.invalid(t, "POST", usersPath, f.admin, userBody("ghost@people.example", "member", "ghost", "Member"), "roles")
		f.invalid(t, "POST", usersPath, f.admin, map[string]any{"email": "x@people.example", "password": password,
			"firstName": "X", "lastName": "Y", "role": "tenant_admin"}, "role")
		f.invalid(t, "POST", usersPath, f.admin, map[string]any{"email": "x@people.example", "password": password,
			"firstName": "X", "lastName": "Y", "roles": "tenant_admin"}, "roles")
		f.refuse(t, 400, "MALFORMED_JSON", "POST", usersPath, f.admin, `{"email":`)
		t.Run("EveryBadFieldAtOnce", func(t *testing.T) {
			// Bad fields and an unknown role in one request: API.md's 400
			// names every bad field.
			r := f.refuse(t, 400, "VALIDATION_FAILED", "POST", usersPath, f.admin, map[string]any{"email": "nope", "password": password,
				"firstName": "X", "lastName": "Y", "roles": []string{"ghost"}})
			if d := r.Details(); d["email"] && !d["roles"] {
				t.Fatalf("an unknown role is not named when another field is bad too: %s", r.Raw)
			}
			requireFields(t, r, "email", "roles")
		})
		t.Run("RepeatedRole", func(t *testing.T) {
			// The same role twice is one role (or a 400), never a 500.
			before := f.fingerprint(t)
			r := f.s.Do(t, testsilo.Request{Method: "POST", Path: usersPath, Tenant: f.slug, Token: f.admin, Body: userBody("twice@people.example", "member", "member")})
			if r.Status == 500 {
				f.unchanged(t, before, "a failed POST /api/users")
				t.Fatalf("roles [member, member]: %s", r.Raw)
			}
			if r.Status == 201 {
				if !reflect.DeepEqual(strs(r.Obj("user")["roles"]), []string{"member"}) {
					t.Fatalf("roles: %s", r.Raw)
				}
				return
			}
			r.Require(t, 400, "VALIDATION_FAILED")
		})
	})

	t.Run("SetRoles", func(t *testing.T) {
		id, email := f.addUser(t)
		path := usersPath + "/" + id + "/roles"
		r := f.s.Expect(t, 200, "", testsilo.Request{Method: "PUT", Path: path, Tenant: f.slug, Token: f.admin, Body: map[string]any{"roles": []string{noPerms, "member"}}})
		if !reflect.DeepEqual(strs(r.Obj("user")["roles"]), []string{"member", noPerms}) || r.Obj("user")["email"] != email {
			t.Fatalf("set roles = %s", r.Raw)
		}
		g := f.s.Do(t, testsilo.Request{Method: "GET", Path: usersPath + "/" + id, Tenant: f.slug, Token: f.admin})
		if !reflect.DeepEqual(strs(g.Obj("user")["roles"]), []string{"member", noPerms}) {
			t.Fatalf("stored roles = %s", g.Raw)
		}
		f.invalid(t, "PUT", path, f.admin, map[string]any{"roles": []string{"ghost"}}, "roles")
		f.invalid(t, "PUT", path, f.admin, map[string]any{"roles": []string{"member", "Ghost"}}, "roles")
		f.invalid(t, "PUT", path, f.admin, map[string]any{}, "roles")
		f.invalid(t, "PUT", path, f.admin, map[string]any{"roles": nil}, "roles")
		f.invalid(t, "PUT", path, f.admin, map[string]any{"roles": "member"}, "roles")
		f.refuse(t, 404, "NOT_FOUND", "PUT", usersPath+"/01a21284-9322-7bbd-8f49-73c47e0f1394/roles", f.admin, map[string]any{"roles": []string{"member"}})
		f.refuse(t, 404, "NOT_FOUND", "PUT", usersPath+"/nope/roles", f.admin, map[string]any{"roles": []string{"member"}})
		// No roles at all is allowed.
		r = f.s.Expect(t, 200, "", testsilo.Request{Method: "PUT", Path: path, Tenant: f.slug, Token: f.admin, Body: map[string]any{"roles": []string{}}})
		if len(strs(r.Obj("user")["roles"])) != 0 {
			t.Fatalf("roles after []: %s", r.Raw)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		id, email := f.addUser(t, "member")
		session := f.s.TenantLogin(t, f.slug, email, password)
		tok := session.Str("access_token")
		resolvedAs(t, f.s.Do(t, testsilo.Request{Method: "GET", Path: mePath, Tenant: f.slug, Token: tok}), f.slug)
		f.s.Expect(t, 204, "", testsilo.Request{Method: "DELETE", Path: usersPath + "/" + id, Tenant: f.slug, Token: f.admin})
		f.s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: mePath, Tenant: f.slug, Token: tok})
		f.s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: configPath, Tenant: f.slug, Token: tok})
		f.s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "POST", Path: refreshPath, Tenant: f.slug, Body: map[string]string{"refresh_token": session.Str("refresh_token")}})
		f.s.Expect(t, 401, "INVALID_CREDENTIALS", testsilo.Request{Method: "POST", Path: loginPath, Tenant: f.slug, Body: creds(email, password)})
		f.refuse(t, 404, "NOT_FOUND", "GET", usersPath+"/"+id, f.admin, nil)
		f.refuse(t, 404, "NOT_FOUND", "DELETE", usersPath+"/"+id, f.admin, nil)
		f.refuse(t, 404, "NOT_FOUND", "DELETE", usersPath+"/not-a-uuid", f.admin, nil)
		if slices.Contains(f.dbUserIDs(t), id) {
			t.Fatal("the deleted user is still stored")
		}
	})

	t.Run("DemotionAppliesAtOnce", func(t *testing.T) {
		f.addRole(t, "auditor", "audit:read")
		id, tok := f.userWith(t, "member", "auditor")
		f.s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: auditPath, Tenant: f.slug, Token: tok})
		f.s.Expect(t, 200, "", testsilo.Request{Method: "PUT", Path: usersPath + "/" + id + "/roles", Tenant: f.slug, Token: f.admin, Body: map[string]any{"roles": []string{"member"}}})
		// The same token, on the very next request.
		f.refuse(t, 403, "FORBIDDEN", "GET", auditPath, tok, nil)
		if got := f.permissions(t, tok); !reflect.DeepEqual(got, memberPerms) {
			t.Fatalf("permissions after demotion = %v", got)
		}
		// And promotion, likewise.
		f.s.Expect(t, 200, "", testsilo.Request{Method: "PUT", Path: usersPath + "/" + id + "/roles", Tenant: f.slug, Token: f.admin, Body: map[string]any{"roles": []string{"tenant_admin"}}})
		f.s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: auditPath, Tenant: f.slug, Token: tok})
		f.s.Expect(t, 200, "", testsilo.Request{Method: "PUT", Path: usersPath + "/" + id + "/roles", Tenant: f.slug, Token: f.admin, Body: map[string]any{"roles": []string{}}})
		f.refuse(t, 403, "FORBIDDEN", "GET", usersPath, tok, nil)
	})

	t.Run("NoSelfEscalation", func(t *testing.T) {
		f.addRole(t, "user-admin", "users:read", "users:write")
		uid, tok := f.userWith(t, "user-admin")
		targetID, _ := f.addUser(t, noPerms)
		for _, roles := range [][]string{{"tenant_admin"}, {"user-admin", "tenant_admin"}, {"member"}, {"auditor"}} {
			f.refuse(t, 403, "FORBIDDEN", "POST", usersPath, tok, userBody(f.email(), roles...))
			f.refuse(t, 403, "FORBIDDEN", "PUT", usersPath+"/"+uid+"/roles", tok, map[string]any{"roles": roles})
			f.refuse(t, 403, "FORBIDDEN", "PUT", usersPath+"/"+targetID+"/roles", tok, map[string]any{"roles": roles})
			f.refuse(t, 403, "FORBIDDEN", "POST", invitationsPath, tok, map[string]any{"email": f.email(), "role": roles[len(roles)-1]})
		}
		// A user added with no roles named becomes a member, whose data
		// permissions this caller does not hold.
		f.refuse(t, 403, "FORBIDDEN", "POST", usersPath, tok, userBody(f.email()))
		// Nor through roles, settings or API keys.
		f.refuse(t, 403, "FORBIDDEN", "PUT", rolesPath+"/user-admin", tok, map[string]any{"permissions": adminPerms})
		f.refuse(t, 403, "FORBIDDEN", "POST", rolesPath, tok, map[string]any{"name": "mine", "permissions": adminPerms})
		f.refuse(t, 403, "FORBIDDEN", "PUT", settingsPath, tok, map[string]any{"allowPublicSignup": false})
		f.refuse(t, 403, "FORBIDDEN", "POST", apiKeysPath, tok, map[string]any{"name": "k", "permissions": []string{"users:read"}})
		// What they hold, they may hand out.
		f.s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: usersPath, Tenant: f.slug, Token: tok, Body: userBody(f.email(), "user-admin")})
		f.s.Expect(t, 200, "", testsilo.Request{Method: "PUT", Path: usersPath + "/" + targetID + "/roles", Tenant: f.slug, Token: tok, Body: map[string]any{"roles": []string{"user-admin", noPerms}}})
		if got := f.permissions(t, tok); !reflect.DeepEqual(got, []string{"users:read", "users:write"}) {
			t.Fatalf("permissions = %v", got)
		}
	})

	t.Run("LastAdmin", func(t *testing.T) {
		adminPath := usersPath + "/" + f.adminID
		// Alone, the first admin can neither lose the role nor go.
		for _, roles := range [][]string{{"member"}, {}, {noPerms, "member"}} {
			f.refuse(t, 409, "CONFLICT", "PUT", adminPath+"/roles", f.admin, map[string]any{"roles": roles})
		}
		f.refuse(t, 409, "CONFLICT", "DELETE", adminPath, f.admin, nil)
		// Keeping the role while gaining others is fine.
		f.s.Expect(t, 200, "", testsilo.Request{Method: "PUT", Path: adminPath + "/roles", Tenant: f.slug, Token: f.admin, Body: map[string]any{"roles": []string{"tenant_admin", "member"}}})

		// With a second admin, either may be demoted or deleted.
		second, secondTok := f.userWith(t, "tenant_admin")
		f.s.Expect(t, 200, "", testsilo.Request{Method: "PUT", Path: usersPath + "/" + second + "/roles", Tenant: f.slug, Token: f.admin, Body: map[string]any{"roles": []string{"member"}}})
		// ... and now the first is the last again.
		f.refuse(t, 409, "CONFLICT", "DELETE", adminPath, f.admin, nil)
		f.refuse(t, 409, "CONFLICT", "PUT", adminPath+"/roles", f.admin, map[string]any{"roles": []string{"member"}})
		f.s.Expect(t, 200, "", testsilo.Request{Method: "PUT", Path: usersPath + "/" + second + "/roles", Tenant: f.slug, Token: f.admin, Body: map[string]any{"roles": []string{"tenant_admin"}}})
		// The second demotes the first, then restores them.
		f.s.Expect(t, 200, "", testsilo.Request{Method: "PUT", Path: adminPath + "/roles", Tenant: f.slug, Token: secondTok, Body: map[string]any{"roles": []string{"member"}}})
		f.refuse(t, 403, "FORBIDDEN", "GET", usersPath, f.admin, nil)
		f.refuse(t, 409, "CONFLICT", "PUT", usersPath+"/"+second+"/roles", secondTok, map[string]any{"roles": []string{"member"}})
		f.refuse(t, 409, "CONFLICT", "DELETE", usersPath+"/"+second, secondTok, nil)
		f.s.Expect(t, 200, "", testsilo.Request{Method: "PUT", Path: adminPath + "/roles", Tenant: f.slug, Token: secondTok, Body: map[string]any{"roles": []string{"tenant_admin"}}})
		// The second admin leaves; the first is alone again.
		f.s.Expect(t, 204, "", testsilo.Request{Method: "DELETE", Path: usersPath + "/" + second, Tenant: f.slug, Token: secondTok})
		f.s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: mePath, Tenant: f.slug, Token: secondTok})
		f.refuse(t, 409, "CONFLICT", "DELETE", adminPath, f.admin, nil)
		// A third admin can be deleted by the first.
		third, _ := f.addUser(t, "tenant_admin")
		f.s.Expect(t, 204, "", testsilo.Request{Method: "DELETE", Path: usersPath + "/" + third, Tenant: f.slug, Token: f.admin})
		f.refuse(t, 409, "CONFLICT", "PUT", adminPath+"/roles", f.admin, map[string]any{"roles": []string{}})
	})

	t.Run("LastAdminRace", func(t *testing.T) {
		// Admins removing each other at once (each the next in a ring):
		// whatever the interleaving, one active admin always remains.
		g := newAdminFixture(t, s, "people-race")
		toks := map[string]string{g.adminID: g.admin}
		admins := []string{g.adminID}
		for round := range 8 {
			ring := 2 + round%3
			for len(admins) < ring {
				email := g.email()
				r := g.s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: usersPath, Tenant: g.slug, Token: toks[admins[0]], Body: userBody(email, "tenant_admin")})
				id := r.Obj("user")["id"].(string)
				toks[id] = s.TenantLogin(t, g.slug, email, password).Str("access_token")
				admins = append(admins, id)
			}
			remove := round%2 == 0
			statuses := race(t, ring, func(i int) (*testsilo.Response, error) {
				me, them := admins[i], admins[(i+1)%ring]
				if remove {
					return s.Send(testsilo.Request{Method: "DELETE", Path: usersPath + "/" + them, Token: toks[me], Tenant: g.slug})
				}
				return s.Send(testsilo.Request{Method: "PUT", Path: usersPath + "/" + them + "/roles", Token: toks[me], Body: map[string]any{"roles": []string{"member"}}, Tenant: g.slug})
			})
			won := 200
			if remove {
				won = 204
			}
			// A loser is refused as the last admin, or is already gone
			// (401) or demoted (403) by the time it is authorized.
			if statuses[won] < 1 || statuses[won]+statuses[409]+statuses[401]+statuses[403] != ring {
				t.Fatalf("round %d (%d admins, delete %v): statuses %v", round, ring, remove, statuses)
			}
			left := g.activeAdmins(t)
			if len(left) < 1 || len(left) != ring-statuses[won] {
				t.Fatalf("round %d (%d admins, delete %v): statuses %v leave admins %v", round, ring, remove, statuses, left)
			}
			admins = left
		}
	})

	t.Run("InactiveAdminDoesNotCount", func(t *testing.T) {
		// An inactive tenant_admin keeps nobody in charge: the only active
		// admin stays the last one.
		inactive, _ := f.addUser(t, "tenant_admin")
		rootExec(t, f.db, "UPDATE {db}.users SET is_active = 0 WHERE id = ?", inactive)
		adminPath := usersPath + "/" + f.adminID
		f.refuse(t, 409, "CONFLICT", "PUT", adminPath+"/roles", f.admin, map[string]any{"roles": []string{"member"}})
		f.refuse(t, 409, "CONFLICT", "DELETE", adminPath, f.admin, nil)
		// Removing the inactive admin leaves the active one: allowed.
		r := f.s.Do(t, testsilo.Request{Method: "DELETE", Path: usersPath + "/" + inactive, Tenant: f.slug, Token: f.admin})
		if r.Status == 409 {
			t.Fatalf("an inactive tenant_admin cannot be deleted or demoted while one active admin remains: %s", r.Raw)
		}
		r.Require(t, 204, "")
	})
}

// --- 3. Roles ---------------------------------------------------------------

func roleByName(r *testsilo.Response, name string) map[string]any {
	for _, role := range r.List("roles") {
		if role["name"] == name {
			return role
		}
	}
	return nil
}

func TestTenantRoleAdmin(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	f := newAdminFixture(t, s, "roles")
	memberEmail := f.email()
	s.SignUp(t, f.slug, memberEmail, password)
	member := s.TenantLogin(t, f.slug, memberEmail, password).Str("access_token")

	t.Run("BuiltIn", func(t *testing.T) {
		r := f.s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: rolesPath, Tenant: f.slug, Token: member})
		if n := len(r.List("roles")); n != 2 {
			t.Fatalf("%d roles in a new tenant: %s", n, r.Raw)
		}
		admin, mem := roleByName(r, "tenant_admin"), roleByName(r, "member")
		if admin == nil || admin["builtIn"] != true || !reflect.DeepEqual(sorted(strs(admin["permissions"])), adminPerms) {
			t.Fatalf("tenant_admin = %v", admin)
		}
		if mem == nil || mem["builtIn"] != true || !reflect.DeepEqual(sorted(strs(mem["permissions"])), memberPerms) {
			t.Fatalf("member = %v", mem)
		}
		for _, name := range []string{"tenant_admin", "member"} {
			f.refuse(t, 403, "FORBIDDEN", "PUT", rolesPath+"/"+name, f.admin, map[string]any{"permissions": []string{"data:read"}})
			f.refuse(t, 403, "FORBIDDEN", "PUT", rolesPath+"/"+name, f.admin, map[string]any{"permissions": adminPerms})
			f.refuse(t, 403, "FORBIDDEN", "DELETE", rolesPath+"/"+name, f.admin, nil)
			f.refuse(t, 409, "CONFLICT", "POST", rolesPath, f.admin, map[string]any{"name": name, "permissions": []string{}})
		}
	})

	t.Run("Create", func(t *testing.T) {
		r := f.s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: rolesPath, Tenant: f.slug, Token: f.admin, Body: map[string]any{"name": "editor", "description": "Edits data",
			"permissions": []string{"data:write", "data:read"}}})
		role, _ := r.JSON["role"].(map[string]any)
		if role["name"] != "editor" || role["description"] != "Edits data" || role["builtIn"] != false ||
			!reflect.DeepEqual(sorted(strs(role["permissions"])), memberPerms) {
			t.Fatalf("created = %s", r.Raw)
		}
		listed := roleByName(f.s.Do(t, testsilo.Request{Method: "GET", Path: rolesPath, Tenant: f.slug, Token: member}), "editor")
		if listed == nil || listed["builtIn"] != false || !reflect.DeepEqual(strs(listed["permissions"]), memberPerms) {
			t.Fatalf("listed = %v", listed)
		}
		r = f.s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: rolesPath, Tenant: f.slug, Token: f.admin, Body: map[string]any{"name": "empty_role-2"}})
		if p, ok := r.JSON["role"].(map[string]any)["permissions"].([]any); !ok || len(p) != 0 {
			t.Fatalf("role without permissions = %s", r.Raw)
		}
		for _, body := range []map[string]any{
			{"name": "editor", "permissions": []string{}},
			{"name": "editor", "permissions": []string{"users:read"}},
		} {
			f.refuse(t, 409, "CONFLICT", "POST", rolesPath, f.admin, body)
		}
	})

	t.Run("BadInput", func(t *testing.T) {
		for _, name := range []string{"", "a", "Editor", "1role", "-role", "has space", "role!", "rôle", "role:x",
			strings.Repeat("r", 65), "tenant admin", "../member"} {
			f.invalid(t, "POST", rolesPath, f.admin, map[string]any{"name": name, "permissions": []string{}}, "name")
		}
		for _, perms := range [][]string{{"root"}, {"users:read", "Users:Read"}, {""}, {"users:*"}, {"data:read", "data:delete"}} {
			f.invalid(t, "POST", rolesPath, f.admin, map[string]any{"name": "fine", "permissions": perms}, "permissions")
		}
		f.invalid(t, "POST", rolesPath, f.admin, map[string]any{"name": "fine", "description": strings.Repeat("d", 256)}, "description")
		f.invalid(t, "POST", rolesPath, f.admin, map[string]any{"name": "Bad Name", "description": strings.Repeat("d", 256),
			"permissions": []string{"root"}}, "name", "description", "permissions")
		f.invalid(t, "POST", rolesPath, f.admin, map[string]any{"name": "fine", "permissions": "users:read"}, "permissions")
		f.invalid(t, "POST", rolesPath, f.admin, map[string]any{"name": "fine", "builtIn": true}, "builtIn")
		f.refuse(t, 400, "MALFORMED_JSON", "POST", rolesPath, f.admin, `{"name":`)
	})

	t.Run("Update", func(t *testing.T) {
		f.s.Expect(t, 200, "", testsilo.Request{Method: "PUT", Path: rolesPath + "/editor", Tenant: f.slug, Token: f.admin, Body: map[string]any{"description": "Reads", "permissions": []string{"data:read"}}})
		listed := roleByName(f.s.Do(t, testsilo.Request{Method: "GET", Path: rolesPath, Tenant: f.slug, Token: member}), "editor")
		if listed["description"] != "Reads" || !reflect.DeepEqual(strs(listed["permissions"]), []string{"data:read"}) {
			t.Fatalf("updated = %v", listed)
		}
		// The name in the body, if any, must be the path's.
		f.s.Expect(t, 200, "", testsilo.Request{Method: "PUT", Path: rolesPath + "/editor", Tenant: f.slug, Token: f.admin, Body: map[string]any{"name": "editor", "permissions": []string{"data:read", "users:read"}}})
		f.invalid(t, "PUT", rolesPath+"/editor", f.admin, map[string]any{"name": "renamed", "permissions": []string{}}, "name")
		f.invalid(t, "PUT", rolesPath+"/editor", f.admin, map[string]any{"permissions": []string{"root"}}, "permissions")
		f.refuse(t, 404, "NOT_FOUND", "PUT", rolesPath+"/ghost", f.admin, map[string]any{"permissions": []string{}})
	})

	t.Run("ChangesApplyAtOnce", func(t *testing.T) {
		f.addRole(t, "viewer", "users:read")
		_, tok := f.userWith(t, "viewer")
		f.s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: usersPath, Tenant: f.slug, Token: tok})
		f.s.Expect(t, 200, "", testsilo.Request{Method: "PUT", Path: rolesPath + "/viewer", Tenant: f.slug, Token: f.admin, Body: map[string]any{"permissions": []string{}}})
		f.refuse(t, 403, "FORBIDDEN", "GET", usersPath, tok, nil)
		f.s.Expect(t, 200, "", testsilo.Request{Method: "PUT", Path: rolesPath + "/viewer", Tenant: f.slug, Token: f.admin, Body: map[string]any{"permissions": []string{"users:read", "audit:read"}}})
		f.s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: usersPath, Tenant: f.slug, Token: tok})
		f.s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: auditPath, Tenant: f.slug, Token: tok})
	})

	t.Run("Delete", func(t *testing.T) {
		f.addRole(t, "held", "data:read")
		holder, _ := f.addUser(t, "held")
		f.refuse(t, 409, "CONFLICT", "DELETE", rolesPath+"/held", f.admin, nil)
		f.s.Expect(t, 200, "", testsilo.Request{Method: "PUT", Path: usersPath + "/" + holder + "/roles", Tenant: f.slug, Token: f.admin, Body: map[string]any{"roles": []string{"member"}}})
		f.s.Expect(t, 204, "", testsilo.Request{Method: "DELETE", Path: rolesPath + "/held", Tenant: f.slug, Token: f.admin})
		if roleByName(f.s.Do(t, testsilo.Request{Method: "GET", Path: rolesPath, Tenant: f.slug, Token: member}), "held") != nil {
			t.Fatal("deleted role still listed")
		}
		f.refuse(t, 404, "NOT_FOUND", "DELETE", rolesPath+"/held", f.admin, nil)
		f.refuse(t, 404, "NOT_FOUND", "DELETE", rolesPath+"/Not%20A%20Role", f.admin, nil)
		f.invalid(t, "PUT", usersPath+"/"+holder+"/roles", f.admin, map[string]any{"roles": []string{"held"}}, "roles")
		f.s.Expect(t, 204, "", testsilo.Request{Method: "DELETE", Path: rolesPath + "/empty_role-2", Tenant: f.slug, Token: f.admin})
	})

	t.Run("NoEscalation", func(t *testing.T) {
		f.addRole(t, "role-admin", "roles:write")
		_, tok := f.userWith(t, "role-admin")
		for _, perms := range [][]string{{"users:read"}, {"roles:write", "settings:write"}, adminPerms} {
			f.refuse(t, 403, "FORBIDDEN", "POST", rolesPath, tok, map[string]any{"name": "sneaky", "permissions": perms})
			f.refuse(t, 403, "FORBIDDEN", "PUT", rolesPath+"/role-admin", tok, map[string]any{"permissions": perms})
			f.refuse(t, 403, "FORBIDDEN", "PUT", rolesPath+"/editor", tok, map[string]any{"permissions": perms})
		}
		f.s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: rolesPath, Tenant: f.slug, Token: tok, Body: map[string]any{"name": "sub-role", "permissions": []string{"roles:write"}}})
		f.s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: rolesPath, Tenant: f.slug, Token: tok, Body: map[string]any{"name": "nothing"}})
		// Taking permissions away from a role is no escalation.
		f.s.Expect(t, 200, "", testsilo.Request{Method: "PUT", Path: rolesPath + "/editor", Tenant: f.slug, Token: tok, Body: map[string]any{"permissions": []string{}}})
		// Nor can they give themselves a role.
		f.refuse(t, 403, "FORBIDDEN", "GET", usersPath, tok, nil)
		if got := f.permissions(t, tok); !reflect.DeepEqual(got, []string{"roles:write"}) {
			t.Fatalf("permissions = %v", got)
		}
	})
}

// --- 4. Settings ------------------------------------------------------------

func settingsOf(r *testsilo.Response) map[string]any {
	m, _ := r.JSON["settings"].(map[string]any)
	return m
}

func TestTenantSettings(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	f := newAdminFixture(t, s, "brand")
	memberEmail := f.email()
	s.SignUp(t, f.slug, memberEmail, password)
	member := s.TenantLogin(t, f.slug, memberEmail, password).Str("access_token")
	f.addRole(t, noPerms)
	f.addRole(t, "styler", "settings:write")
	_, styler := f.userWith(t, "styler")
	_, nobody := f.userWith(t, noPerms)

	get := func(t *testing.T, tok string) map[string]any {
		t.Helper()
		r := f.s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: settingsPath, Tenant: f.slug, Token: tok})
		return settingsOf(r)
	}

	t.Run("Defaults", func(t *testing.T) {
		want := map[string]any{"displayName": "", "logoUrl": "", "primaryColor": "", "allowPublicSignup": true}
		for _, tok := range []string{member, nobody, styler, f.admin} {
			if got := get(t, tok); !reflect.DeepEqual(got, want) {
				t.Fatalf("settings = %v, want %v", got, want)
			}
		}
	})

	t.Run("WriteNeedsPermission", func(t *testing.T) {
		for _, tok := range []string{member, nobody} {
			f.refuse(t, 403, "FORBIDDEN", "PUT", settingsPath, tok, map[string]any{"displayName": "Hijacked"})
		}
		f.refuse(t, 401, "UNAUTHENTICATED", "PUT", settingsPath, "", map[string]any{"displayName": "Hijacked"})
		r := f.s.Expect(t, 200, "", testsilo.Request{Method: "PUT", Path: settingsPath, Tenant: f.slug, Token: styler, Body: map[string]any{"displayName": "Styled"}})
		if settingsOf(r)["displayName"] != "Styled" || get(t, member)["displayName"] != "Styled" {
			t.Fatalf("settings = %s", r.Raw)
		}
	})

	want := map[string]any{"displayName": "Acme Corp", "logoUrl": "https://cdn.example.com/brand/logo.png?v=2", "primaryColor": "#a1b2c3", "allowPublicSignup": true}
	t.Run("Valid", func(t *testing.T) {
		r := f.s.Expect(t, 200, "", testsilo.Request{Method: "PUT", Path: settingsPath, Tenant: f.slug, Token: f.admin, Body: map[string]any{"displayName": "Acme Corp",
			"logoUrl": "https://cdn.example.com/brand/logo.png?v=2", "primaryColor": "#A1b2C3"}})
		if got := settingsOf(r); !reflect.DeepEqual(got, want) {
			t.Fatalf("PUT answered %v, want %v", got, want)
		}
		if got := get(t, member); !reflect.DeepEqual(got, want) {
			t.Fatalf("stored %v, want %v", got, want)
		}
		// Fields left out are left alone.
		r = f.s.Expect(t, 200, "", testsilo.Request{Method: "PUT", Path: settingsPath, Tenant: f.slug, Token: f.admin, Body: map[string]any{"primaryColor": "#000000"}})
		partial := withField(want, "primaryColor", "#000000")
		if got := get(t, member); !reflect.DeepEqual(got, partial) {
			t.Fatalf("after a partial PUT %v, want %v", got, partial)
		}
		f.s.Expect(t, 200, "", testsilo.Request{Method: "PUT", Path: settingsPath, Tenant: f.slug, Token: f.admin, Body: map[string]any{"primaryColor": "#a1b2c3"}})
	})

	t.Run("BadInputChangesNothing", func(t *testing.T) {
		for _, logo := range []string{"http://cdn.example.com/logo.png", "javascript:alert(1)", "/logo.png", "logo.png",
			"//cdn.example.com/logo.png", "https://", "https:///logo.png", "ftp://cdn.example.com/logo.png",
			"data:image/png;base64,AAAA", "https://user:pw@cdn.example.com/logo.png", " https://cdn.example.com/logo.png",
			"JavaScript:alert(1)", "https://cdn.example.com/" + strings.Repeat("a", 2048)} {
			f.invalid(t, "PUT", settingsPath, f.admin, map[string]any{"logoUrl": logo}, "logoUrl")
		}
		for _, color := range []string{"red", "#12345", "#1234567", "123456", "#ggg000", "#fff", " #123456", "#12345g", "rgb(0,0,0)"} {
			f.invalid(t, "PUT", settingsPath, f.admin, map[string]any{"primaryColor": color}, "primaryColor")
		}
		for _, name := range []string{"bad\x00name", "tab\there", "new\nline", "del\x7f", strings.Repeat("n", 201)} {
			f.invalid(t, "PUT", settingsPath, f.admin, map[string]any{"displayName": name}, "displayName")
		}
		// Every bad field at once, and a good one beside them is not applied.
		f.invalid(t, "PUT", settingsPath, f.admin, map[string]any{"displayName": "ctl\x01", "logoUrl": "http://x.example/l.png",
			"primaryColor": "red", "allowPublicSignup": false}, "displayName", "logoUrl", "primaryColor")
		f.invalid(t, "PUT", settingsPath, f.admin, map[string]any{"displayName": "Fine", "primaryColor": "#12345"}, "primaryColor")
		f.invalid(t, "PUT", settingsPath, f.admin, map[string]any{"allowPublicSignup": "no"}, "allowPublicSignup")
		f.invalid(t, "PUT", settingsPath, f.admin, map[string]any{"theme": "dark"}, "theme")
		f.refuse(t, 400, "MALFORMED_JSON", "PUT", settingsPath, f.admin, `{"displayName":`)
		f.refuse(t, 415, "UNSUPPORTED_MEDIA_TYPE", "PUT", settingsPath, f.admin, "displayName=x", "Content-Type", "text/plain")
		if got := get(t, member); !reflect.DeepEqual(got, want) {
			t.Fatalf("settings after refused PUTs = %v, want %v", got, want)
		}
	})

	t.Run("PublicSignup", func(t *testing.T) {
		r := f.s.Expect(t, 200, "", testsilo.Request{Method: "PUT", Path: settingsPath, Tenant: f.slug, Token: f.admin, Body: map[string]any{"allowPublicSignup": false}})
		if settingsOf(r)["allowPublicSignup"] != false || settingsOf(r)["displayName"] != "Acme Corp" {
			t.Fatalf("settings = %s", r.Raw)
		}
		f.refuse(t, 403, "FORBIDDEN", "POST", registerPath, "", signup("closed@brand.example", password))
		// Existing users still log in, and admins still add users.
		s.TenantLogin(t, f.slug, memberEmail, password)
		f.addUser(t)
		f.s.Expect(t, 200, "", testsilo.Request{Method: "PUT", Path: settingsPath, Tenant: f.slug, Token: f.admin, Body: map[string]any{"allowPublicSignup": true}})
		s.SignUp(t, f.slug, "open@brand.example", password)
	})

	t.Run("Clear", func(t *testing.T) {
		f.s.Expect(t, 200, "", testsilo.Request{Method: "PUT", Path: settingsPath, Tenant: f.slug, Token: f.admin, Body: map[string]any{"displayName": "", "logoUrl": "", "primaryColor": ""}})
		want := map[string]any{"displayName": "", "logoUrl": "", "primaryColor": "", "allowPublicSignup": true}
		if got := get(t, member); !reflect.DeepEqual(got, want) {
			t.Fatalf("cleared settings = %v", got)
		}
	})
}

// withField returns a copy of m with key set to v.
func withField(m map[string]any, key string, v any) map[string]any {
	out := map[string]any{}
	for k, x := range m {
		out[k] = x
	}
	out[key] = v
	return out
}

// --- 5. The tenant audit log --------------------------------------------------

func TestTenantAuditLog(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	super := s.AdminToken()
	superID := s.Do(t, testsilo.Request{Method: "GET", Path: "/api/central/auth/me", Token: super}).Obj("user")["id"].(string)
	f := newAdminFixture(t, s, "audited")
	start := time.Now().Add(-time.Second)

	type want struct {
		action, targetType, target string
		actorKind, actorID, as     string
	}
	expected := map[string]want{} // by request id
	seq := 0
	// act makes a change with a fresh X-Request-Id and notes its entry.
	act := func(t *testing.T, tok string, status int, method, path string, body any, w want) *testsilo.Response {
		t.Helper()
		seq++
		rid := fmt.Sprintf("audit-test.%d:%s", seq, randomSlug())
		r := f.s.Expect(t, status, "", testsilo.Request{Method: method, Path: path, Tenant: f.slug, Token: tok, Body: body, Header: map[string]string{"X-Request-Id": rid}})
		if r.Header.Get("X-Request-Id") != rid {
			t.Fatalf("X-Request-Id %q not echoed: %q", rid, r.Header.Get("X-Request-Id"))
		}
		if w.actorKind == "" {
			w.actorKind, w.actorID = "user", f.adminID
		}
		if w.target == "" {
			w.target = r.Obj("user")["id"].(string)
		}
		expected[rid] = w
		return r
	}

	act(t, f.admin, 201, "POST", rolesPath, map[string]any{"name": "auditor", "permissions": []string{"audit:read"}},
		want{action: "role.create", targetType: "role", target: "auditor"})
	r := act(t, f.admin, 201, "POST", usersPath, userBody("auditor@audited.example", "auditor"),
		want{action: "user.create", targetType: "user"})
	auditorID := r.Obj("user")["id"].(string)
	auditor := s.TenantLogin(t, f.slug, "auditor@audited.example", password).Str("access_token")
	act(t, f.admin, 200, "PUT", usersPath+"/"+auditorID+"/roles", map[string]any{"roles": []string{"auditor", "member"}},
		want{action: "user.roles", targetType: "user", target: auditorID})
	act(t, f.admin, 200, "PUT", rolesPath+"/auditor", map[string]any{"permissions": []string{"audit:read", "users:read"}},
		want{action: "role.update", targetType: "role", target: "auditor"})
	act(t, f.admin, 200, "PUT", settingsPath, map[string]any{"displayName": "Audited"},
		want{action: "settings.update", targetType: "settings", target: "settings"})
	act(t, f.admin, 201, "POST", rolesPath, map[string]any{"name": "temp"}, want{action: "role.create", targetType: "role", target: "temp"})
	act(t, f.admin, 204, "DELETE", rolesPath+"/temp", nil, want{action: "role.delete", targetType: "role", target: "temp"})
	r = act(t, f.admin, 201, "POST", usersPath, userBody("leaving@audited.example"), want{action: "user.create", targetType: "user"})
	leaving := r.Obj("user")["id"].(string)
	act(t, f.admin, 204, "DELETE", usersPath+"/"+leaving, nil, want{action: "user.delete", targetType: "user", target: leaving})

	// A superadmin impersonating a user: the central admin is the actor,
	// acting as the user.
	act(t, f.admin, 201, "POST", rolesPath, map[string]any{"name": "styler", "permissions": []string{"settings:write", "roles:write"}},
		want{action: "role.create", targetType: "role", target: "styler"})
	r = act(t, f.admin, 201, "POST", usersPath, userBody("styler@audited.example", "styler"), want{action: "user.create", targetType: "user"})
	stylerID := r.Obj("user")["id"].(string)
	imp := s.Expect(t, 200, "", testsilo.Request{Method: "POST", Path: "/api/central/tenants/" + f.slug + "/impersonate", Token: super, Body: map[string]string{"userId": stylerID}})
	impTok := imp.Str("access_token")
	act(t, impTok, 200, "PUT", settingsPath, map[string]any{"primaryColor": "#123abc"},
		want{action: "settings.update", targetType: "settings", target: "settings", actorKind: "central_admin", actorID: superID, as: stylerID})
	act(t, impTok, 201, "POST", rolesPath, map[string]any{"name": "imp-made", "permissions": []string{"settings:write"}},
		want{action: "role.create", targetType: "role", target: "imp-made", actorKind: "central_admin", actorID: superID, as: stylerID})
	// The impersonated user's limits hold for the admin too.
	f.refuse(t, 403, "FORBIDDEN", "GET", auditPath, impTok, nil)
	f.refuse(t, 403, "FORBIDDEN", "POST", usersPath, impTok, userBody("imp@audited.example", noPerms))

	t.Run("Entries", func(t *testing.T) {
		r := f.s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: auditPath + "?limit=200", Tenant: f.slug, Token: auditor})
		entries := r.List("entries")
		if r.JSON["nextCursor"] != nil {
			t.Fatalf("nextCursor with all entries on one page: %v", r.JSON["nextCursor"])
		}
		found := map[string]bool{}
		for i, e := range entries {
			if i > 0 && e["id"].(float64) >= entries[i-1]["id"].(float64) {
				t.Fatalf("entries not newest first: %s", r.Raw)
			}
			rid, _ := e["requestId"].(string)
			w, ok := expected[rid]
			if !ok {
				if e["action"] == "impersonation.start" && e["actor"].(map[string]any)["id"] == superID {
					continue // the impersonation itself, recorded when the token was issued
				}
				if !parseTime(t, e["at"]).Before(start) { // older ones are provisioning's
					t.Errorf("unexpected entry %v", e)
				}
				continue
			}
			if found[rid] {
				t.Errorf("two entries for request %s", rid)
			}
			found[rid] = true
			actor, _ := e["actor"].(map[string]any)
			target, _ := e["target"].(map[string]any)
			if e["action"] != w.action || actor["kind"] != w.actorKind || actor["id"] != w.actorID ||
				target["type"] != w.targetType || target["id"] != w.target {
				t.Errorf("entry %v, want %+v", e, w)
			}
			if as, _ := e["actingAs"].(string); as != w.as {
				t.Errorf("entry %v: actingAs %q, want %q", e, as, w.as)
			}
			if at := parseTime(t, e["at"]); at.Before(start) || at.After(time.Now().Add(time.Second)) {
				t.Errorf("entry at %v, test started %v", at, start)
			}
		}
		for rid, w := range expected {
			if !found[rid] {
				t.Errorf("no audit entry for %+v (request %s)", w, rid)
			}
		}
	})

	t.Run("Paginated", func(t *testing.T) {
		all := f.s.Do(t, testsilo.Request{Method: "GET", Path: auditPath + "?limit=200", Tenant: f.slug, Token: f.admin}).List("entries")
		var walked []any
		cursor := ""
		for page := 0; ; page++ {
			if page > 100 {
				t.Fatal("pagination does not end")
			}
			path := auditPath + "?limit=3"
			if cursor != "" {
				path += "&cursor=" + url.QueryEscape(cursor)
			}
			r := f.s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: path, Tenant: f.slug, Token: f.admin})
			for _, e := range r.List("entries") {
				walked = append(walked, e["id"])
			}
			next, ok := r.JSON["nextCursor"].(string)
			if !ok {
				break
			}
			cursor = next
		}
		var want []any
		for _, e := range all {
			want = append(want, e["id"])
		}
		if !reflect.DeepEqual(walked, want) {
			t.Fatalf("walked %v, want %v", walked, want)
		}
		for _, q := range []string{"cursor=abc", "cursor=0", "cursor=-5"} {
			requireFields(t, f.refuse(t, 400, "VALIDATION_FAILED", "GET", auditPath+"?"+q, f.admin, nil), "cursor")
		}
		requireFields(t, f.refuse(t, 400, "VALIDATION_FAILED", "GET", auditPath+"?limit=0", f.admin, nil), "limit")
	})

	t.Run("NeedsAuditRead", func(t *testing.T) {
		memberEmail := f.email()
		s.SignUp(t, f.slug, memberEmail, password)
		member := s.TenantLogin(t, f.slug, memberEmail, password).Str("access_token")
		f.refuse(t, 403, "FORBIDDEN", "GET", auditPath, member, nil)
		f.refuse(t, 401, "UNAUTHENTICATED", "GET", auditPath, "", nil)
		f.refuse(t, 401, "UNAUTHENTICATED", "GET", auditPath, super, nil)
	})

	t.Run("RefusedChangesAreNotAudited", func(t *testing.T) {
		// f.refuse fingerprints the audit log too; these would each be an
		// entry had they gone through.
		f.refuse(t, 409, "CONFLICT", "DELETE", usersPath+"/"+f.adminID, f.admin, nil)
		f.refuse(t, 409, "CONFLICT", "POST", rolesPath, f.admin, map[string]any{"name": "auditor"})
		f.refuse(t, 403, "FORBIDDEN", "DELETE", rolesPath+"/member", f.admin, nil)
		f.refuse(t, 400, "VALIDATION_FAILED", "PUT", settingsPath, f.admin, map[string]any{"primaryColor": "red"})
		f.refuse(t, 403, "FORBIDDEN", "PUT", settingsPath, auditor, map[string]any{"primaryColor": "#000000"})
	})
}
