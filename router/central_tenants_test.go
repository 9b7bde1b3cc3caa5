package router_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/silo-dev/silo/internal/lib/token"
	"github.com/silo-dev/silo/internal/testsupport/testdb"
	"github.com/silo-dev/silo/internal/testsupport/testsilo"
	"github.com/silo-dev/silo/tenantdb"
)

const tenantsPath = "/api/central/tenants"

func strs(v any) []string {
	raw, _ := v.([]any)
	out := make([]string, 0, len(raw))
	for _, x := range raw {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

var tenantAdmin = map[string]string{"email": "Boss@Acme.Example", "password": password, "firstName": "Grace", "lastName": "Hopper"}

func (s *server) count(t testing.TB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := s.db.Get(&n, q, args...); err != nil {
		t.Fatal(err)
	}
	return n
}

// tenantState fingerprints the tenant catalog and this prefix's databases and
// users, to show that a refused request changed nothing.
func (s *server) tenantState(t testing.TB) string {
	t.Helper()
	var out []string
	for _, q := range []string{
		"SELECT CONCAT_WS('|', id, slug, name, status, step, database_name, db_user, HEX(db_password_enc), schema_version, IFNULL(last_error, '-'), updated_at) FROM tenants ORDER BY id",
		"SELECT CONCAT_WS('|', domain, tenant_id) FROM tenant_domains ORDER BY domain",
		"SELECT CONCAT_WS('|', database_name, status) FROM spare_databases ORDER BY 1",
	} {
		var rs []string
		if err := s.db.Select(&rs, q); err != nil {
			t.Fatal(err)
		}
		out = append(out, rs...)
	}
	out = append(out, testdb.Databases(t, s.db, s.prefix)...)
	out = append(out, testdb.Users(t, s.db, s.prefix)...)
	return strings.Join(out, "\n")
}

// requireClean fails unless the reconciliation check finds nothing.
func (s *server) requireClean(t testing.TB) {
	t.Helper()
	r, err := s.prov.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !r.Clean() {
		t.Fatalf("reconciliation found problems: %+v", r)
	}
}

// secrets returns a tenant's DB user, its encrypted password and the password.
func (s *server) secrets(t testing.TB, slug string) (user string, enc []byte, pw string) {
	t.Helper()
	row := s.db.QueryRow("SELECT db_user, db_password_enc FROM tenants WHERE slug = ?", slug)
	if err := row.Scan(&user, &enc); err != nil {
		t.Fatal(err)
	}
	plain, err := s.box.Open(enc, []byte(user))
	if err != nil {
		t.Fatal(err)
	}
	return user, enc, string(plain)
}

// connectAsTenant connects to the tenant's database as its own DB user.
func (s *server) connectAsTenant(t testing.TB, slug, database string) error {
	t.Helper()
	user, _, pw := s.secrets(t, slug)
	db, err := tenantdb.Open(context.Background(), s.tenant.TenantConfig(database, user, pw))
	if err != nil {
		return err
	}
	return db.Close()
}

type tenantUser struct {
	email, first, last, hash, roles string
	active                          bool
}

// tenantUsers reads database's users and their roles as root.
func tenantUsers(t testing.TB, database string) []tenantUser {
	t.Helper()
	if !tenantdb.ValidDatabase(database) {
		t.Fatalf("bad database name %q", database)
	}
	root := testdb.Server(t)
	defer root.Close()
	rows, err := root.Query("SELECT u.email, u.first_name, u.last_name, u.password_hash, u.is_active, IFNULL(GROUP_CONCAT(r.role_name ORDER BY r.role_name), '') " +
		"FROM `" + database + "`.users u LEFT JOIN `" + database + "`.user_roles r ON r.user_id = u.id GROUP BY u.id ORDER BY u.email")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []tenantUser
	for rows.Next() {
		var u tenantUser
		if err := rows.Scan(&u.email, &u.first, &u.last, &u.hash, &u.active, &u.roles); err != nil {
			t.Fatal(err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// requireTenantAdmin checks that the tenant's database holds exactly the
// first admin of tenantAdmin, as tenant_admin, with a hash of its password.
func requireTenantAdmin(t testing.TB, database string) {
	t.Helper()
	us := tenantUsers(t, database)
	if len(us) != 1 {
		t.Fatalf("tenant users = %+v, want the first admin only", us)
	}
	u := us[0]
	if u.email != "boss@acme.example" || u.first != "Grace" || u.last != "Hopper" || !u.active || u.roles != "tenant_admin" {
		t.Fatalf("tenant admin = %+v", u)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(u.hash), []byte(password)); err != nil {
		t.Fatalf("tenant admin's hash does not match the password: %v", err)
	}
}

// requireLeakFree fails if raw shows anything of the tenant's DB credentials.
func (s *server) requireLeakFree(t testing.TB, slug, raw string) {
	t.Helper()
	user, enc, pw := s.secrets(t, slug)
	lower := strings.ToLower(raw)
	for _, bad := range []string{"password", "db_user", "dbuser", "passwordhash", "pending", "$2a$", "$2b$",
		strings.ToLower(user), strings.ToLower(pw), strings.ToLower(base64.StdEncoding.EncodeToString(enc)), hex.EncodeToString(enc)} {
		if strings.Contains(lower, bad) {
			t.Fatalf("response leaks %q: %s", bad, raw)
		}
	}
}

func parseTime(t testing.TB, v any) time.Time {
	t.Helper()
	s, _ := v.(string)
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("bad time %q: %v", s, err)
	}
	return tm
}

// requireTenantView checks the shape of an active tenant's view.
func (s *server) requireTenantView(t testing.TB, v map[string]any, slug, name string) {
	t.Helper()
	if v["slug"] != slug || v["name"] != name || v["status"] != "active" {
		t.Fatalf("tenant = %v", v)
	}
	if id, _ := v["id"].(string); len(id) != 36 {
		t.Fatalf("id = %v", v["id"])
	}
	if _, ok := v["domains"].([]any); !ok {
		t.Fatalf("domains is not an array: %v", v)
	}
	if db, _ := v["databaseName"].(string); !strings.HasPrefix(db, s.prefix) {
		t.Fatalf("databaseName = %v, want prefix %s", v["databaseName"], s.prefix)
	}
	if v["databaseHost"] != s.tenant.Addr() {
		t.Fatalf("databaseHost = %v, want %s", v["databaseHost"], s.tenant.Addr())
	}
	if sv, _ := v["schemaVersion"].(float64); sv < 1 {
		t.Fatalf("schemaVersion = %v", v["schemaVersion"])
	}
	created, updated := parseTime(t, v["createdAt"]), parseTime(t, v["updatedAt"])
	if updated.Before(created) || time.Since(created) > time.Minute || created.Location() != time.UTC {
		t.Fatalf("createdAt %v, updatedAt %v", created, updated)
	}
	if _, ok := v["lastError"]; ok {
		t.Fatalf("active tenant has lastError: %v", v)
	}
}

func TestTenantCreate(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	super := s.AdminToken()
	_, admin := s.AddAdmin(t, super, "ops@example.com", "admin")

	t.Run("AdminWithFirstTenantAdmin", func(t *testing.T) {
		r := s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: tenantsPath, Token: admin, Body: map[string]any{
			"slug": "acme", "name": "  Acme Corp  ", "domains": []string{"Shop.Acme.EXAMPLE.", " acme.example.org "}, "admin": tenantAdmin,
		}})
		v := r.Obj("tenant")
		s.requireTenantView(t, v, "acme", "Acme Corp")
		if got := strs(v["domains"]); !slices.Equal(got, []string{"acme.example.org", "shop.acme.example"}) {
			t.Fatalf("domains = %v", got)
		}
		if v["databaseName"] != s.prefix+"acme" {
			t.Fatalf("databaseName = %v", v["databaseName"])
		}
		s.requireLeakFree(t, "acme", string(r.Raw))
		requireTenantAdmin(t, s.prefix+"acme")
		// The bcrypt hash was only kept until the admin existed.
		if n := s.count(t, "SELECT COUNT(*) FROM tenants WHERE slug = 'acme' AND pending_admin IS NULL AND status = 'active' AND step = 'done'"); n != 1 {
			t.Fatal("pending admin kept after provisioning")
		}
		// The tenant's own DB user works.
		if err := s.connectAsTenant(t, "acme", s.prefix+"acme"); err != nil {
			t.Fatalf("tenant DB user cannot connect: %v", err)
		}
		// GET shows the same tenant, without secrets either.
		g := s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: tenantsPath + "/acme", Token: admin})
		if g.Obj("tenant")["id"] != v["id"] || g.Obj("tenant")["updatedAt"] != v["updatedAt"] {
			t.Fatalf("GET = %s, POST = %s", g.Raw, r.Raw)
		}
		s.requireLeakFree(t, "acme", string(g.Raw))
	})
	t.Run("SuperadminWithoutAdmin", func(t *testing.T) {
		r := s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: tenantsPath, Token: super, Body: map[string]any{"slug": "solo-2", "name": "Solo"}})
		v := r.Obj("tenant")
		s.requireTenantView(t, v, "solo-2", "Solo")
		if v["databaseName"] != s.prefix+"solo_2" {
			t.Fatalf("databaseName = %v", v["databaseName"])
		}
		if d := strs(v["domains"]); len(d) != 0 {
			t.Fatalf("domains = %v", d)
		}
		s.requireLeakFree(t, "solo-2", string(r.Raw))
		if us := tenantUsers(t, s.prefix+"solo_2"); len(us) != 0 {
			t.Fatalf("tenant created without admin has users: %+v", us)
		}
	})
	t.Run("LongestSlug", func(t *testing.T) {
		slug := "l" + strings.Repeat("0", 38) + "z"
		v := s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: tenantsPath, Token: admin, Body: map[string]any{"slug": slug, "name": "Forty"}}).Obj("tenant")
		s.requireTenantView(t, v, slug, "Forty")
	})
	t.Run("DuplicateSlug", func(t *testing.T) {
		before := s.tenantState(t)
		s.Expect(t, 409, "TENANT_EXISTS", testsilo.Request{Method: "POST", Path: tenantsPath, Token: super, Body: map[string]any{"slug": "acme", "name": "Other Acme", "admin": tenantAdmin}})
		if s.tenantState(t) != before {
			t.Fatal("refused duplicate changed the catalog or the server")
		}
		requireTenantAdmin(t, s.prefix+"acme")
	})
	t.Run("DomainTaken", func(t *testing.T) {
		before := s.tenantState(t)
		s.Expect(t, 409, "CONFLICT", testsilo.Request{Method: "POST", Path: tenantsPath, Token: super, Body: map[string]any{"slug": "copycat", "name": "Copy", "domains": []string{"SHOP.acme.example"}}})
		if s.tenantState(t) != before {
			t.Fatal("refused create changed the catalog or the server")
		}
		s.Expect(t, 404, "TENANT_NOT_FOUND", testsilo.Request{Method: "GET", Path: tenantsPath + "/copycat", Token: super})
	})
	if want := []string{s.prefix + "acme", s.prefix + "l" + strings.Repeat("0", 38) + "z", s.prefix + "solo_2"}; !slices.Equal(testdb.Databases(t, s.db, s.prefix), want) {
		t.Fatalf("databases = %v, want %v", testdb.Databases(t, s.db, s.prefix), want)
	}
	if n := len(testdb.Users(t, s.db, s.prefix)); n != 3 {
		t.Fatalf("%d DB users, want 3", n)
	}
	s.requireClean(t)
}

func TestTenantSparePool(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(o *serverOptions) { o.sparePool = 1 })
	super := s.AdminToken()
	if n, err := s.prov.RefillSpares(context.Background()); err != nil || n != 1 {
		t.Fatalf("refill = %d, %v", n, err)
	}
	spares := testdb.Databases(t, s.db, s.prefix)
	if len(spares) != 1 {
		t.Fatalf("databases after refill = %v", spares)
	}
	s.requireClean(t)
	r := s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: tenantsPath, Token: super, Body: map[string]any{"slug": "spare-one", "name": "Spare", "admin": tenantAdmin}})
	v := r.Obj("tenant")
	if v["status"] != "active" || v["databaseName"] != spares[0] {
		t.Fatalf("tenant = %s, want it on spare %s", r.Raw, spares[0])
	}
	s.requireLeakFree(t, "spare-one", string(r.Raw))
	requireTenantAdmin(t, spares[0])
	if n := s.count(t, "SELECT COUNT(*) FROM spare_databases"); n != 0 {
		t.Fatalf("%d spares left after the claim", n)
	}
	if n := s.count(t, "SELECT COUNT(*) FROM audit_log WHERE action = 'tenant.create' AND detail LIKE '%(spare)'"); n != 1 {
		t.Fatal("claim of a spare not audited")
	}
	s.requireClean(t)
	s.Expect(t, 204, "", testsilo.Request{Method: "DELETE", Path: tenantsPath + "/spare-one?purge=true", Token: super})
	if len(testdb.Databases(t, s.db, s.prefix)) != 0 || len(testdb.Users(t, s.db, s.prefix)) != 0 {
		t.Fatalf("purge left %v %v", testdb.Databases(t, s.db, s.prefix), testdb.Users(t, s.db, s.prefix))
	}
	s.requireClean(t)
}

func TestTenantAuthentication(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	super := s.AdminToken()
	s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: tenantsPath, Token: super, Body: map[string]any{"slug": "guarded", "name": "Guarded"}}).Obj("tenant")
	me := s.Do(t, testsilo.Request{Method: "GET", Path: "/api/central/auth/me", Token: super}).Obj("user")
	tenantTok, err := s.keys.Issue(token.TenantAudience("guarded"), me["id"].(string), token.Claims{
		Email: "root@example.com", Role: "superadmin", IsCentralAdmin: true, TenantID: "guarded",
	})
	if err != nil {
		t.Fatal(err)
	}
	routes := []struct {
		method, path string
		body         any
	}{
		{"POST", tenantsPath, map[string]any{"slug": "intruder", "name": "Intruder"}},
		{"GET", tenantsPath, nil},
		{"GET", tenantsPath + "/guarded", nil},
		{"PATCH", tenantsPath + "/guarded", map[string]any{"name": "Owned"}},
		{"POST", tenantsPath + "/guarded/suspend", nil},
		{"POST", tenantsPath + "/guarded/resume", nil},
		{"POST", tenantsPath + "/guarded/provision", nil},
		{"DELETE", tenantsPath + "/guarded", nil},
		{"DELETE", tenantsPath + "/guarded?purge=true", nil},
		{"GET", "/api/central/audit", nil},
	}
	before := s.tenantState(t)
	audits := s.count(t, "SELECT COUNT(*) FROM audit_log")
	for name, tok := range map[string]string{"NoToken": "", "Garbage": "garbage", "TenantAudience": tenantTok, "Empty": " "} {
		t.Run(name, func(t *testing.T) {
			for _, rt := range routes {
				r := s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: rt.method, Path: rt.path, Token: tok, Body: rt.body})
				if r.Header.Get("WWW-Authenticate") == "" {
					t.Fatalf("%s %s: no WWW-Authenticate", rt.method, rt.path)
				}
			}
		})
	}
	t.Run("BasicScheme", func(t *testing.T) {
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: tenantsPath, Header: map[string]string{"Authorization": "Basic cm9vdDpyb290"}})
	})
	if s.tenantState(t) != before {
		t.Fatal("unauthenticated requests changed the catalog or the server")
	}
	if n := s.count(t, "SELECT COUNT(*) FROM audit_log"); n != audits {
		t.Fatalf("unauthenticated requests wrote %d audit entries", n-audits)
	}
	s.requireClean(t)
}

func TestTenantCreateValidation(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	super := s.AdminToken()
	audits := s.count(t, "SELECT COUNT(*) FROM audit_log")

	ok := func(mod func(m map[string]any)) map[string]any {
		m := map[string]any{"slug": "valid-slug", "name": "Valid", "domains": []string{"valid.example.com"},
			"admin": map[string]any{"email": "a@valid.example", "password": password, "firstName": "A", "lastName": "B"}}
		mod(m)
		return m
	}
	withSlug := func(slug string) map[string]any { return ok(func(m map[string]any) { m["slug"] = slug }) }
	withDomains := func(d ...string) map[string]any { return ok(func(m map[string]any) { m["domains"] = d }) }
	withAdmin := func(mod func(a map[string]any)) map[string]any {
		return ok(func(m map[string]any) { mod(m["admin"].(map[string]any)) })
	}
	many := make([]string, 21)
	for i := range many {
		many[i] = fmt.Sprintf("d%d.example.com", i)
	}
	cases := []struct {
		name  string
		body  any
		code  string
		field string
	}{
		{"SlugUpperCase", withSlug("Acme"), "VALIDATION_FAILED", "slug"},
		{"SlugAllUpper", withSlug("ACME"), "VALIDATION_FAILED", "slug"},
		{"SlugTooLong41", withSlug("a" + strings.Repeat("b", 40)), "VALIDATION_FAILED", "slug"},
		{"SlugTooShort", withSlug("ab"), "VALIDATION_FAILED", "slug"},
		{"SlugReservedAdmin", withSlug("admin"), "VALIDATION_FAILED", "slug"},
		{"SlugReservedAPI", withSlug("api"), "VALIDATION_FAILED", "slug"},
		{"SlugReservedWWW", withSlug("www"), "VALIDATION_FAILED", "slug"},
		{"SlugReservedCentral", withSlug("central"), "VALIDATION_FAILED", "slug"},
		{"SlugReservedMySQL", withSlug("mysql"), "VALIDATION_FAILED", "slug"},
		{"SlugReservedTest", withSlug("test"), "VALIDATION_FAILED", "slug"},
		{"SlugReservedSys", withSlug("sys"), "VALIDATION_FAILED", "slug"},
		{"SlugInformationSchema", withSlug("information_schema"), "VALIDATION_FAILED", "slug"},
		{"SlugSQLInjection", withSlug("a;DROP DATABASE x"), "VALIDATION_FAILED", "slug"},
		{"SlugQuote", withSlug("acme'--"), "VALIDATION_FAILED", "slug"},
		{"SlugBacktick", withSlug("ac`me"), "VALIDATION_FAILED", "slug"},
		{"SlugBackticks", withSlug("`acme`"), "VALIDATION_FAILED", "slug"},
		{"SlugUnicode", withSlug("açme"), "VALIDATION_FAILED", "slug"},
		{"SlugCyrillic", withSlug("асме"), "VALIDATION_FAILED", "slug"},
		{"SlugUnderscore", withSlug("ac_me"), "VALIDATION_FAILED", "slug"},
		{"SlugSpace", withSlug("ac me"), "VALIDATION_FAILED", "slug"},
		{"SlugDot", withSlug("ac.me"), "VALIDATION_FAILED", "slug"},
		{"SlugSlash", withSlug("ac/me"), "VALIDATION_FAILED", "slug"},
		{"SlugTrailingNewline", withSlug("acme\n"), "VALIDATION_FAILED", "slug"},
		{"SlugLeadingDigit", withSlug("1acme"), "VALIDATION_FAILED", "slug"},
		{"SlugLeadingHyphen", withSlug("-acme"), "VALIDATION_FAILED", "slug"},
		{"SlugTrailingHyphen", withSlug("acme-"), "VALIDATION_FAILED", "slug"},
		{"SlugEmpty", withSlug(""), "VALIDATION_FAILED", "slug"},
		{"SlugMissing", ok(func(m map[string]any) { delete(m, "slug") }), "VALIDATION_FAILED", "slug"},
		{"SlugNull", ok(func(m map[string]any) { m["slug"] = nil }), "VALIDATION_FAILED", "slug"},
		{"SlugNumber", ok(func(m map[string]any) { m["slug"] = 5 }), "VALIDATION_FAILED", "slug"},
		{"SlugArray", ok(func(m map[string]any) { m["slug"] = []string{"acme"} }), "VALIDATION_FAILED", "slug"},
		{"NameEmpty", ok(func(m map[string]any) { m["name"] = "" }), "VALIDATION_FAILED", "name"},
		{"NameBlank", ok(func(m map[string]any) { m["name"] = "   " }), "VALIDATION_FAILED", "name"},
		{"NameMissing", ok(func(m map[string]any) { delete(m, "name") }), "VALIDATION_FAILED", "name"},
		{"NameTooLong", ok(func(m map[string]any) { m["name"] = strings.Repeat("é", 201) }), "VALIDATION_FAILED", "name"},
		{"NameControl", ok(func(m map[string]any) { m["name"] = "Acme\x00Corp" }), "VALIDATION_FAILED", "name"},
		{"NameBoolean", ok(func(m map[string]any) { m["name"] = true }), "VALIDATION_FAILED", "name"},
		{"DomainNotAName", withDomains("not a domain"), "VALIDATION_FAILED", "domains"},
		{"DomainIP", withDomains("192.168.1.1"), "VALIDATION_FAILED", "domains"},
		{"DomainSingleLabel", withDomains("localhost"), "VALIDATION_FAILED", "domains"},
		{"DomainEmpty", withDomains(""), "VALIDATION_FAILED", "domains"},
		{"DomainDoubleDot", withDomains("a..example.com"), "VALIDATION_FAILED", "domains"},
		{"DomainLeadingHyphen", withDomains("-a.example.com"), "VALIDATION_FAILED", "domains"},
		{"DomainLabelTooLong", withDomains(strings.Repeat("a", 64) + ".example.com"), "VALIDATION_FAILED", "domains"},
		{"DomainWithPort", withDomains("example.com:443"), "VALIDATION_FAILED", "domains"},
		{"DomainURL", withDomains("https://example.com"), "VALIDATION_FAILED", "domains"},
		{"DomainUnderBase", withDomains("shop.silo.test"), "VALIDATION_FAILED", "domains"},
		{"DomainIsBase", withDomains("SILO.test."), "VALIDATION_FAILED", "domains"},
		{"DomainTwice", withDomains("a.example.com", "A.Example.com."), "VALIDATION_FAILED", "domains"},
		{"DomainsTooMany", withDomains(many...), "VALIDATION_FAILED", "domains"},
		{"DomainsString", ok(func(m map[string]any) { m["domains"] = "a.example.com" }), "VALIDATION_FAILED", "domains"},
		{"DomainsNumbers", ok(func(m map[string]any) { m["domains"] = []int{1} }), "VALIDATION_FAILED", ""},
		{"AdminBadEmail", withAdmin(func(a map[string]any) { a["email"] = "nope" }), "VALIDATION_FAILED", "admin.email"},
		{"AdminDisplayName", withAdmin(func(a map[string]any) { a["email"] = "Boss <boss@example.com>" }), "VALIDATION_FAILED", "admin.email"},
		{"AdminShortPassword", withAdmin(func(a map[string]any) { a["password"] = "short" }), "VALIDATION_FAILED", "admin.password"},
		{"AdminLongPassword", withAdmin(func(a map[string]any) { a["password"] = strings.Repeat("x", 73) }), "VALIDATION_FAILED", "admin.password"},
		{"AdminNoFirstName", withAdmin(func(a map[string]any) { delete(a, "firstName") }), "VALIDATION_FAILED", "admin.firstName"},
		{"AdminBlankLastName", withAdmin(func(a map[string]any) { a["lastName"] = " " }), "VALIDATION_FAILED", "admin.lastName"},
		{"AdminUnknownField", withAdmin(func(a map[string]any) { a["role"] = "superadmin" }), "VALIDATION_FAILED", "role"},
		{"AdminString", ok(func(m map[string]any) { m["admin"] = "boss@example.com" }), "VALIDATION_FAILED", "admin"},
		{"AdminEmailNumber", withAdmin(func(a map[string]any) { a["email"] = 7 }), "VALIDATION_FAILED", ""},
		{"UnknownField", ok(func(m map[string]any) { m["status"] = "active" }), "VALIDATION_FAILED", "status"},
		{"UnknownFieldDB", ok(func(m map[string]any) { m["databaseName"] = "mysql" }), "VALIDATION_FAILED", "databaseName"},
		{"EmptyObject", map[string]any{}, "VALIDATION_FAILED", "slug"},
		{"Null", "null", "VALIDATION_FAILED", "slug"},
		{"Array", "[]", "MALFORMED_JSON", ""},
		{"Truncated", `{"slug": "acme"`, "MALFORMED_JSON", ""},
		{"TwoObjects", `{"slug": "acme", "name": "A"} {}`, "MALFORMED_JSON", ""},
		{"EmptyBody", "", "MALFORMED_JSON", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := s.Expect(t, 400, tc.code, testsilo.Request{Method: "POST", Path: tenantsPath, Token: super, Body: tc.body})
			if tc.field != "" && !r.Details()[tc.field] {
				t.Fatalf("no detail for %s: %s", tc.field, r.Raw)
			}
		})
	}
	t.Run("EveryBadFieldReported", func(t *testing.T) {
		r := s.Expect(t, 400, "VALIDATION_FAILED", testsilo.Request{Method: "POST", Path: tenantsPath, Token: super, Body: map[string]any{"slug": "Bad Slug", "name": "", "domains": []string{"x"},
			"admin": map[string]any{"email": "x", "password": "y"}}})
		for _, f := range []string{"slug", "name", "domains", "admin.email", "admin.password", "admin.firstName", "admin.lastName"} {
			if !r.Details()[f] {
				t.Errorf("no detail for %s: %s", f, r.Raw)
			}
		}
	})
	t.Run("NotJSON", func(t *testing.T) {
		s.Expect(t, 415, "UNSUPPORTED_MEDIA_TYPE", testsilo.Request{Method: "POST", Path: tenantsPath, Token: super, Body: `slug=acme&name=Acme`, Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
	})

	// Nothing of any refused request reached the catalog, the audit log or the server.
	if n := s.count(t, "SELECT COUNT(*) FROM tenants"); n != 0 {
		t.Fatalf("%d tenants rows after refused creates", n)
	}
	if n := s.count(t, "SELECT COUNT(*) FROM tenant_domains"); n != 0 {
		t.Fatalf("%d tenant_domains rows after refused creates", n)
	}
	if n := s.count(t, "SELECT COUNT(*) FROM audit_log"); n != audits {
		t.Fatalf("refused creates wrote %d audit entries", n-audits)
	}
	if dbs, us := testdb.Databases(t, s.db, s.prefix), testdb.Users(t, s.db, s.prefix); len(dbs)+len(us) != 0 {
		t.Fatalf("refused creates left databases %v and users %v", dbs, us)
	}
	// The same body with a valid slug is accepted: the refusals were due to the slug.
	s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: tenantsPath, Token: super, Body: ok(func(map[string]any) {})}).Obj("tenant")
	s.requireClean(t)
}

// Twenty simultaneous creates of one slug: exactly one wins.
func TestTenantCreateRace(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	super := s.AdminToken()
	const n = 20
	statuses := make([]int, n)
	codes := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := s.Do(t, testsilo.Request{Method: "POST", Path: tenantsPath, Token: super, Body: map[string]any{"slug": "race-me", "name": fmt.Sprintf("Racer %d", i), "admin": tenantAdmin}})
			statuses[i], codes[i] = r.Status, r.Code()
		}()
	}
	close(start)
	wg.Wait()
	created := 0
	for i := range n {
		switch {
		case statuses[i] == 201:
			created++
		case statuses[i] == 409 && codes[i] == "TENANT_EXISTS":
		default:
			t.Fatalf("unexpected answer %d %s (all: %v %v)", statuses[i], codes[i], statuses, codes)
		}
	}
	if created != 1 {
		t.Fatalf("%d creates succeeded, want 1 (%v)", created, statuses)
	}
	if dbs := testdb.Databases(t, s.db, s.prefix); !slices.Equal(dbs, []string{s.prefix + "race_me"}) {
		t.Fatalf("databases = %v", dbs)
	}
	if us := testdb.Users(t, s.db, s.prefix); len(us) != 1 {
		t.Fatalf("DB users = %v", us)
	}
	if n := s.count(t, "SELECT COUNT(*) FROM tenants"); n != 1 {
		t.Fatalf("%d tenants", n)
	}
	if n := s.count(t, "SELECT COUNT(*) FROM audit_log WHERE action = 'tenant.create'"); n != 1 {
		t.Fatalf("%d tenant.create audit entries", n)
	}
	requireTenantAdmin(t, s.prefix+"race_me")
	s.requireClean(t)
}

func TestTenantList(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	super := s.AdminToken()
	_, admin := s.AddAdmin(t, super, "ops@example.com", "admin")
	names := map[string]string{
		"list-alpha": "Alpha Corp", "list-beta": "Beta 100% Inc", "list-gamma": "Gamma_Co",
		"list-delta": "Delta", "zeta": "Zeta 100 Inc",
	}
	var wg sync.WaitGroup
	for slug, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := s.Do(t, testsilo.Request{Method: "POST", Path: tenantsPath, Token: super, Body: map[string]any{"slug": slug, "name": name}})
			if r.Status != 201 {
				t.Errorf("create %s: %d %s", slug, r.Status, r.Raw)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	s.Expect(t, 200, "", testsilo.Request{Method: "POST", Path: tenantsPath + "/list-delta/suspend", Token: super})

	slugs := func(t *testing.T, query string) []string {
		t.Helper()
		r := s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: tenantsPath + "?" + query, Token: admin})
		if _, ok := r.JSON["nextCursor"]; !ok {
			t.Fatalf("no nextCursor: %s", r.Raw)
		}
		var out []string
		for _, v := range r.List("tenants") {
			out = append(out, v["slug"].(string))
		}
		if strings.Contains(strings.ToLower(string(r.Raw)), "password") || strings.Contains(string(r.Raw), "dbUser") || strings.Contains(string(r.Raw), "db_user") {
			t.Fatalf("list leaks credentials: %s", r.Raw)
		}
		slices.Sort(out)
		return out
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{"list-alpha", "list-beta", "list-delta", "list-gamma", "zeta"}},
		{"status=suspended", []string{"list-delta"}},
		{"status=active", []string{"list-alpha", "list-beta", "list-gamma", "zeta"}},
		{"status=failed", nil},
		{"status=deleted", nil},
		{"q=alpha", []string{"list-alpha"}}, // slug
		{"q=Corp", []string{"list-alpha"}},  // name only
		{"q=list-", []string{"list-alpha", "list-beta", "list-delta", "list-gamma"}},
		{"q=" + url.QueryEscape("100%"), []string{"list-beta"}}, // % is literal
		{"q=" + url.QueryEscape("%"), []string{"list-beta"}},
		{"q=_", []string{"list-gamma"}}, // _ is literal
		{"q=a_c", []string{"list-gamma"}},
		{"q=" + url.QueryEscape(`\`), nil},
		{"q=" + url.QueryEscape("' OR 1=1 -- "), nil},
		{"q=nothing-like-this", nil},
		{"q=100&status=active", []string{"list-beta", "zeta"}},
		{"q=100&status=suspended", nil},
	} {
		t.Run(tc.query, func(t *testing.T) {
			if got := slugs(t, tc.query); !slices.Equal(got, tc.want) {
				t.Fatalf("?%s = %v, want %v", tc.query, got, tc.want)
			}
		})
	}
	t.Run("EmptyIsArray", func(t *testing.T) {
		r := s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: tenantsPath + "?status=failed", Token: admin})
		if !strings.Contains(string(r.Raw), `"tenants":[]`) || !strings.Contains(string(r.Raw), `"nextCursor":null`) {
			t.Fatalf("empty list = %s", r.Raw)
		}
	})
	t.Run("Paginated", func(t *testing.T) {
		for _, tc := range []struct {
			query        string
			total, pages int
		}{
			{"limit=2", 5, 3},
			{"limit=1", 5, 5},
			{"limit=5", 5, 1},
			{"limit=200", 5, 1},
			{"limit=3&q=list-", 4, 2},
			{"limit=2&status=active", 4, 2},
		} {
			seen := map[string]bool{}
			var order []string
			cursor, pages := "", 0
			for {
				path := tenantsPath + "?" + tc.query
				if cursor != "" {
					path += "&cursor=" + url.QueryEscape(cursor)
				}
				r := s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: path, Token: admin})
				for _, v := range r.List("tenants") {
					id := v["id"].(string)
					if seen[id] {
						t.Fatalf("%s: tenant %s listed twice", tc.query, v["slug"])
					}
					seen[id] = true
					order = append(order, id)
				}
				pages++
				if pages > 10 {
					t.Fatalf("%s: pagination does not end", tc.query)
				}
				next, _ := r.JSON["nextCursor"].(string)
				if next == "" {
					break
				}
				cursor = next
			}
			if len(seen) != tc.total || pages != tc.pages {
				t.Fatalf("%s: %d tenants in %d pages, want %d in %d", tc.query, len(seen), pages, tc.total, tc.pages)
			}
			if !slices.IsSorted(order) {
				t.Fatalf("%s: not in a stable (id) order: %v", tc.query, order)
			}
		}
	})
	t.Run("BadQuery", func(t *testing.T) {
		for _, q := range []string{
			"limit=0", "limit=201", "limit=-1", "limit=abc", "limit=1.5", "limit=", // limit= is the default
			"status=bogus", "status=ACTIVE", "status=" + url.QueryEscape("active' OR '1'='1"),
			"cursor=garbage", "cursor=" + url.QueryEscape("1' OR 1=1"), "cursor=12345",
			"q=" + strings.Repeat("a", 201), "q=%FF",
		} {
			r := s.Do(t, testsilo.Request{Method: "GET", Path: tenantsPath + "?" + q, Token: admin})
			if q == "limit=" {
				r.Require(t, 200, "")
				continue
			}
			r.Require(t, 400, "VALIDATION_FAILED")
		}
	})
	s.requireClean(t)
}

func TestTenantGetAndPatch(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	super := s.AdminToken()
	_, admin := s.AddAdmin(t, super, "ops@example.com", "admin")
	one := s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: tenantsPath, Token: admin, Body: map[string]any{"slug": "patch-one", "name": "One", "domains": []string{"One.Example.com."}}}).Obj("tenant")
	s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: tenantsPath, Token: admin, Body: map[string]any{"slug": "patch-two", "name": "Two", "domains": []string{"two.example.com"}}}).Obj("tenant")
	if d := strs(one["domains"]); !slices.Equal(d, []string{"one.example.com"}) {
		t.Fatalf("domains = %v", d)
	}
	domainsOf := func(t *testing.T, slug string) []string {
		t.Helper()
		r := s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: tenantsPath + "/" + slug, Token: admin})
		return strs(r.Obj("tenant")["domains"])
	}

	t.Run("Get", func(t *testing.T) {
		r := s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: tenantsPath + "/patch-one", Token: admin})
		s.requireTenantView(t, r.Obj("tenant"), "patch-one", "One")
		if r.Obj("tenant")["id"] != one["id"] {
			t.Fatalf("GET = %s", r.Raw)
		}
		s.requireLeakFree(t, "patch-one", string(r.Raw))
	})
	t.Run("GetUnknown", func(t *testing.T) {
		for _, slug := range []string{"nobody-here", "PATCH-ONE", "x", "patch-one-", url.PathEscape("patch-one'--"), url.PathEscape("pätch")} {
			s.Expect(t, 404, "TENANT_NOT_FOUND", testsilo.Request{Method: "GET", Path: tenantsPath + "/" + slug, Token: admin})
		}
	})
	t.Run("PatchName", func(t *testing.T) {
		r := s.Expect(t, 200, "", testsilo.Request{Method: "PATCH", Path: tenantsPath + "/patch-one", Token: admin, Body: map[string]any{"name": "  One Renamed  "}})
		v := r.Obj("tenant")
		if v["name"] != "One Renamed" || !slices.Equal(strs(v["domains"]), []string{"one.example.com"}) {
			t.Fatalf("patched = %s", r.Raw)
		}
		if !parseTime(t, v["updatedAt"]).After(parseTime(t, one["updatedAt"])) {
			t.Fatalf("updatedAt not advanced: %v -> %v", one["updatedAt"], v["updatedAt"])
		}
		s.requireLeakFree(t, "patch-one", string(r.Raw))
	})
	t.Run("PatchDomains", func(t *testing.T) {
		r := s.Expect(t, 200, "", testsilo.Request{Method: "PATCH", Path: tenantsPath + "/patch-one", Token: admin, Body: map[string]any{"domains": []string{"WWW.One.Example.COM.", " one.example.org "}}})
		if d := strs(r.Obj("tenant")["domains"]); !slices.Equal(d, []string{"one.example.org", "www.one.example.com"}) {
			t.Fatalf("domains = %v", d)
		}
		if r.Obj("tenant")["name"] != "One Renamed" {
			t.Fatalf("domains patch changed the name: %s", r.Raw)
		}
		// The replaced domain is free again.
		r = s.Expect(t, 200, "", testsilo.Request{Method: "PATCH", Path: tenantsPath + "/patch-two", Token: admin, Body: map[string]any{"domains": []string{"two.example.com", "one.example.com"}}})
	})
	t.Run("DomainTakenByAnother", func(t *testing.T) {
		before := s.tenantState(t)
		for _, ds := range [][]string{{"one.example.org"}, {"ONE.Example.org."}, {"two.example.com", "www.one.example.com"}} {
			s.Expect(t, 409, "CONFLICT", testsilo.Request{Method: "PATCH", Path: tenantsPath + "/patch-two", Token: admin, Body: map[string]any{"name": "Stolen", "domains": ds}})
		}
		if s.tenantState(t) != before {
			t.Fatal("refused domain change changed the catalog")
		}
		if d := domainsOf(t, "patch-two"); !slices.Equal(d, []string{"one.example.com", "two.example.com"}) {
			t.Fatalf("patch-two domains = %v", d)
		}
		if d := domainsOf(t, "patch-one"); !slices.Equal(d, []string{"one.example.org", "www.one.example.com"}) {
			t.Fatalf("patch-one domains = %v", d)
		}
		if r := s.Do(t, testsilo.Request{Method: "GET", Path: tenantsPath + "/patch-two", Token: admin}); r.Obj("tenant")["name"] != "Two" {
			t.Fatalf("refused patch renamed the tenant: %s", r.Raw)
		}
	})
	t.Run("ClearDomains", func(t *testing.T) {
		r := s.Expect(t, 200, "", testsilo.Request{Method: "PATCH", Path: tenantsPath + "/patch-two", Token: admin, Body: map[string]any{"domains": []string{}}})
		if d := strs(r.Obj("tenant")["domains"]); len(d) != 0 {
			t.Fatalf("domains = %v", d)
		}
	})
	t.Run("BadPatch", func(t *testing.T) {
		before := s.tenantState(t)
		for _, body := range []any{
			map[string]any{"name": ""},
			map[string]any{"name": "   "},
			map[string]any{"name": 5},
			map[string]any{"name": strings.Repeat("n", 201)},
			map[string]any{"domains": []string{"bad domain"}},
			map[string]any{"domains": []string{"x.silo.test"}},
			map[string]any{"domains": "one.example.org"},
			map[string]any{"slug": "renamed"},
			map[string]any{"status": "active"},
			map[string]any{"databaseName": "mysql"},
		} {
			s.Expect(t, 400, "VALIDATION_FAILED", testsilo.Request{Method: "PATCH", Path: tenantsPath + "/patch-one", Token: admin, Body: body})
		}
		s.Expect(t, 400, "MALFORMED_JSON", testsilo.Request{Method: "PATCH", Path: tenantsPath + "/patch-one", Token: admin, Body: "{"})
		if s.tenantState(t) != before {
			t.Fatal("bad patches changed the catalog")
		}
	})
	t.Run("PatchUnknown", func(t *testing.T) {
		s.Expect(t, 404, "TENANT_NOT_FOUND", testsilo.Request{Method: "PATCH", Path: tenantsPath + "/nobody-here", Token: admin, Body: map[string]any{"name": "X"}})
		s.Expect(t, 404, "TENANT_NOT_FOUND", testsilo.Request{Method: "PATCH", Path: tenantsPath + "/Nobody", Token: admin, Body: map[string]any{"name": "X"}})
	})
	s.requireClean(t)
}

func TestTenantSuspendResumeProvision(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	super := s.AdminToken()
	_, admin := s.AddAdmin(t, super, "ops@example.com", "admin")
	created := s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: tenantsPath, Token: admin, Body: map[string]any{"slug": "cycle", "name": "Cycle"}}).Obj("tenant")
	path := tenantsPath + "/cycle"
	status := func(t *testing.T) string {
		t.Helper()
		r := s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: path, Token: admin})
		return r.Obj("tenant")["status"].(string)
	}

	t.Run("ProvisionActiveIsIdempotent", func(t *testing.T) {
		before := s.tenantState(t)
		for range 2 {
			r := s.Expect(t, 200, "", testsilo.Request{Method: "POST", Path: path + "/provision", Token: admin})
			v := r.Obj("tenant")
			if v["status"] != "active" || v["updatedAt"] != created["updatedAt"] || v["schemaVersion"] != created["schemaVersion"] {
				t.Fatalf("provision of an active tenant = %s, created %v", r.Raw, created)
			}
		}
		if s.tenantState(t) != before {
			t.Fatal("provision of an active tenant changed something")
		}
	})
	t.Run("Suspend", func(t *testing.T) {
		r := s.Expect(t, 200, "", testsilo.Request{Method: "POST", Path: path + "/suspend", Token: admin})
		if r.Obj("tenant")["status"] != "suspended" {
			t.Fatalf("suspend = %s", r.Raw)
		}
		if status(t) != "suspended" {
			t.Fatal("not suspended")
		}
		s.Expect(t, 409, "CONFLICT", testsilo.Request{Method: "POST", Path: path + "/suspend", Token: admin})
		r = s.Expect(t, 200, "", testsilo.Request{Method: "POST", Path: path + "/provision", Token: admin})
		if r.Obj("tenant")["status"] != "suspended" {
			t.Fatalf("provision of a suspended tenant = %s", r.Raw)
		}
		// A suspended tenant may still be renamed.
		s.Expect(t, 200, "", testsilo.Request{Method: "PATCH", Path: path, Token: admin, Body: map[string]any{"name": "Cycle Paused"}})
	})
	t.Run("Resume", func(t *testing.T) {
		r := s.Expect(t, 200, "", testsilo.Request{Method: "POST", Path: path + "/resume", Token: admin})
		if r.Obj("tenant")["status"] != "active" || r.Obj("tenant")["name"] != "Cycle Paused" {
			t.Fatalf("resume = %s", r.Raw)
		}
		s.Expect(t, 409, "CONFLICT", testsilo.Request{Method: "POST", Path: path + "/resume", Token: admin})
		if status(t) != "active" {
			t.Fatal("not active")
		}
	})
	t.Run("BodyIgnoredOrRefused", func(t *testing.T) {
		// The lifecycle actions take no body; a non-JSON one is refused.
		s.Expect(t, 415, "UNSUPPORTED_MEDIA_TYPE", testsilo.Request{Method: "POST", Path: path + "/suspend", Token: admin, Body: "status=active", Header: map[string]string{"Content-Type": "text/plain"}})
		if status(t) != "active" {
			t.Fatal("refused request changed the status")
		}
	})
	t.Run("Unknown", func(t *testing.T) {
		for _, action := range []string{"suspend", "resume", "provision"} {
			s.Expect(t, 404, "TENANT_NOT_FOUND", testsilo.Request{Method: "POST", Path: tenantsPath + "/nobody-here/" + action, Token: admin})
			s.Expect(t, 404, "TENANT_NOT_FOUND", testsilo.Request{Method: "POST", Path: tenantsPath + "/NOPE/" + action, Token: admin})
		}
	})
	n := s.count(t, "SELECT COUNT(*) FROM audit_log WHERE target_type = 'tenant' AND target = 'cycle' AND action IN ('tenant.suspend', 'tenant.resume')")
	if n != 2 {
		t.Fatalf("%d suspend/resume audit entries, want 2", n)
	}
	s.requireClean(t)
}

func TestTenantDelete(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	super := s.AdminToken()
	_, admin := s.AddAdmin(t, super, "ops@example.com", "admin")
	v := s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: tenantsPath, Token: admin, Body: map[string]any{"slug": "doomed", "name": "Doomed", "domains": []string{"doomed.example.com"}, "admin": tenantAdmin}}).Obj("tenant")
	database := v["databaseName"].(string)
	dbUser, _, _ := s.secrets(t, "doomed")
	if err := s.connectAsTenant(t, "doomed", database); err != nil {
		t.Fatalf("tenant DB user cannot connect: %v", err)
	}

	t.Run("AdminForbidden", func(t *testing.T) {
		before := s.tenantState(t)
		audits := s.count(t, "SELECT COUNT(*) FROM audit_log")
		for _, q := range []string{"", "?purge=true", "?purge=false", "?purge=banana"} {
			s.Expect(t, 403, "FORBIDDEN", testsilo.Request{Method: "DELETE", Path: tenantsPath + "/doomed" + q, Token: admin})
		}
		s.Expect(t, 403, "FORBIDDEN", testsilo.Request{Method: "DELETE", Path: tenantsPath + "/nobody-here", Token: admin})
		if s.tenantState(t) != before {
			t.Fatal("forbidden deletes changed something")
		}
		if s.count(t, "SELECT COUNT(*) FROM audit_log") != audits {
			t.Fatal("forbidden deletes were audited as changes")
		}
	})
	t.Run("BadPurge", func(t *testing.T) {
		before := s.tenantState(t)
		for _, q := range []string{"?purge=banana", "?purge=1", "?purge=TRUE", "?purge=yes"} {
			r := s.Expect(t, 400, "VALIDATION_FAILED", testsilo.Request{Method: "DELETE", Path: tenantsPath + "/doomed" + q, Token: super})
			if !r.Details()["purge"] {
				t.Fatalf("no purge detail: %s", r.Raw)
			}
		}
		if s.tenantState(t) != before {
			t.Fatal("bad purge flag changed something")
		}
	})
	t.Run("Unknown", func(t *testing.T) {
		s.Expect(t, 404, "TENANT_NOT_FOUND", testsilo.Request{Method: "DELETE", Path: tenantsPath + "/nobody-here", Token: super})
		s.Expect(t, 404, "TENANT_NOT_FOUND", testsilo.Request{Method: "DELETE", Path: tenantsPath + "/nobody-here?purge=true", Token: super})
		s.Expect(t, 404, "TENANT_NOT_FOUND", testsilo.Request{Method: "DELETE", Path: tenantsPath + "/Bad%20Slug?purge=true", Token: super})
	})
	t.Run("SoftDelete", func(t *testing.T) {
		r := s.Expect(t, 204, "", testsilo.Request{Method: "DELETE", Path: tenantsPath + "/doomed", Token: super})
		if string(r.Raw) != "" {
			t.Fatalf("204 with a body: %q", r.Raw)
		}
		g := s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: tenantsPath + "/doomed", Token: admin})
		if g.Obj("tenant")["status"] != "deleted" {
			t.Fatalf("after delete: %s", g.Raw)
		}
		if !testdb.DatabaseExists(t, s.db, database) || !testdb.UserExists(t, s.db, dbUser) {
			t.Fatal("soft delete dropped the database or its user")
		}
		requireTenantAdmin(t, database) // data kept
		if err := s.connectAsTenant(t, "doomed", database); err == nil {
			t.Fatal("deleted tenant's DB user can still log in")
		}
		// Deleting again is harmless; the slug stays taken.
		s.Expect(t, 204, "", testsilo.Request{Method: "DELETE", Path: tenantsPath + "/doomed", Token: super})
		s.Expect(t, 204, "", testsilo.Request{Method: "DELETE", Path: tenantsPath + "/doomed?purge=false", Token: super})
		s.Expect(t, 409, "TENANT_EXISTS", testsilo.Request{Method: "POST", Path: tenantsPath, Token: super, Body: map[string]any{"slug": "doomed", "name": "Again"}})
		// A deleted tenant cannot be brought back by the lifecycle actions.
		before := s.tenantState(t)
		for _, action := range []string{"suspend", "resume", "provision"} {
			s.Expect(t, 409, "CONFLICT", testsilo.Request{Method: "POST", Path: tenantsPath + "/doomed/" + action, Token: admin})
		}
		if r := s.Do(t, testsilo.Request{Method: "PATCH", Path: tenantsPath + "/doomed", Token: admin, Body: map[string]any{"name": "Zombie"}}); r.Status < 400 {
			t.Fatalf("patch of a deleted tenant = %d %s", r.Status, r.Raw)
		}
		if s.tenantState(t) != before {
			t.Fatal("refused actions on a deleted tenant changed something")
		}
		if n := s.count(t, "SELECT COUNT(*) FROM tenants WHERE slug = 'doomed' AND status = 'deleted'"); n != 1 {
			t.Fatal("catalog row not deleted")
		}
		s.requireClean(t)
	})
	t.Run("Purge", func(t *testing.T) {
		s.Expect(t, 204, "", testsilo.Request{Method: "DELETE", Path: tenantsPath + "/doomed?purge=true", Token: super})
		if testdb.DatabaseExists(t, s.db, database) {
			t.Fatal("purge kept the database")
		}
		if testdb.UserExists(t, s.db, dbUser) {
			t.Fatal("purge kept the DB user")
		}
		if n := s.count(t, "SELECT COUNT(*) FROM tenants") + s.count(t, "SELECT COUNT(*) FROM tenant_domains"); n != 0 {
			t.Fatalf("%d catalog rows left after purge", n)
		}
		s.Expect(t, 404, "TENANT_NOT_FOUND", testsilo.Request{Method: "GET", Path: tenantsPath + "/doomed", Token: admin})
		s.Expect(t, 404, "TENANT_NOT_FOUND", testsilo.Request{Method: "DELETE", Path: tenantsPath + "/doomed?purge=true", Token: super})
		s.requireClean(t)
	})
	t.Run("SlugAndDomainReusable", func(t *testing.T) {
		v := s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: tenantsPath, Token: admin, Body: map[string]any{"slug": "doomed", "name": "Reborn", "domains": []string{"doomed.example.com"}}}).Obj("tenant")
		s.requireTenantView(t, v, "doomed", "Reborn")
		if us := tenantUsers(t, v["databaseName"].(string)); len(us) != 0 {
			t.Fatalf("reborn tenant inherited users: %+v", us)
		}
		if newUser, _, _ := s.secrets(t, "doomed"); newUser == dbUser {
			t.Fatal("reborn tenant reuses the purged DB user name")
		}
	})
	t.Run("PurgeActiveDirectly", func(t *testing.T) {
		s.Expect(t, 204, "", testsilo.Request{Method: "DELETE", Path: tenantsPath + "/doomed?purge=true", Token: super})
		if dbs, us := testdb.Databases(t, s.db, s.prefix), testdb.Users(t, s.db, s.prefix); len(dbs)+len(us) != 0 {
			t.Fatalf("purge left %v %v", dbs, us)
		}
	})
	s.requireClean(t)
}

// failAt returns a provisioning hook failing at step.
func failAt(step string) func(string) error {
	return func(s string) error {
		if s == step {
			return errors.New("injected fault")
		}
		return nil
	}
}

func TestTenantProvisioningFailure(t *testing.T) {
	t.Parallel()
	// The hook is set only between requests on this test's own server.
	s := newServer(t)
	super := s.AdminToken()
	_, admin := s.AddAdmin(t, super, "ops@example.com", "admin")

	t.Run("FailAtMigrated", func(t *testing.T) {
		s.prov.Hook = failAt("migrated")
		r := s.Do(t, testsilo.Request{Method: "POST", Path: tenantsPath, Token: admin, Body: map[string]any{"slug": "flaky", "name": "Flaky", "admin": tenantAdmin}})
		s.prov.Hook = nil
		r.Require(t, 503, "PROVISIONING_FAILED")
		if strings.Contains(string(r.Raw), "injected") {
			t.Fatalf("the cause leaks to the client: %s", r.Raw)
		}
		g := s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: tenantsPath + "/flaky", Token: admin})
		v := g.Obj("tenant")
		lastErr, _ := v["lastError"].(string)
		if v["status"] != "failed" || !strings.Contains(lastErr, "step migrated") || !strings.Contains(lastErr, "injected fault") {
			t.Fatalf("failed tenant = %s", g.Raw)
		}
		s.requireLeakFree(t, "flaky", string(g.Raw))
		l := s.Do(t, testsilo.Request{Method: "GET", Path: tenantsPath + "?status=failed", Token: admin})
		if ts := l.List("tenants"); len(ts) != 1 || ts[0]["slug"] != "flaky" || ts[0]["lastError"] != lastErr {
			t.Fatalf("failed list = %s", l.Raw)
		}
		if n := s.count(t, "SELECT COUNT(*) FROM audit_log WHERE action = 'tenant.provision' AND outcome = 'failure' AND target = 'flaky' AND detail LIKE '%step migrated%'"); n != 1 {
			t.Fatal("failure not audited")
		}
		// Steps before the failure happened; the failed tenant owns them.
		if !testdb.DatabaseExists(t, s.db, s.prefix+"flaky") {
			t.Fatal("database step not done")
		}
		s.requireClean(t)
		// Not a new slug, not suspendable.
		s.Expect(t, 409, "TENANT_EXISTS", testsilo.Request{Method: "POST", Path: tenantsPath, Token: admin, Body: map[string]any{"slug": "flaky", "name": "Flaky"}})
		s.Expect(t, 409, "CONFLICT", testsilo.Request{Method: "POST", Path: tenantsPath + "/flaky/suspend", Token: admin})
		s.Expect(t, 409, "CONFLICT", testsilo.Request{Method: "POST", Path: tenantsPath + "/flaky/resume", Token: admin})
	})
	t.Run("RetryFailsAgain", func(t *testing.T) {
		s.prov.Hook = failAt("migrated")
		r := s.Do(t, testsilo.Request{Method: "POST", Path: tenantsPath + "/flaky/provision", Token: admin})
		s.prov.Hook = nil
		r.Require(t, 503, "PROVISIONING_FAILED")
		if v := s.Do(t, testsilo.Request{Method: "GET", Path: tenantsPath + "/flaky", Token: admin}).Obj("tenant"); v["status"] != "failed" {
			t.Fatalf("after a failed retry: %v", v)
		}
	})
	t.Run("Resume", func(t *testing.T) {
		r := s.Expect(t, 200, "", testsilo.Request{Method: "POST", Path: tenantsPath + "/flaky/provision", Token: admin})
		s.requireTenantView(t, r.Obj("tenant"), "flaky", "Flaky")
		s.requireLeakFree(t, "flaky", string(r.Raw))
		requireTenantAdmin(t, s.prefix+"flaky")
		if n := s.count(t, "SELECT COUNT(*) FROM tenants WHERE slug = 'flaky' AND last_error IS NULL AND pending_admin IS NULL"); n != 1 {
			t.Fatal("lastError or pending admin kept after a successful retry")
		}
		// Idempotent once active.
		r2 := s.Expect(t, 200, "", testsilo.Request{Method: "POST", Path: tenantsPath + "/flaky/provision", Token: admin})
		if r2.Obj("tenant")["updatedAt"] != r.Obj("tenant")["updatedAt"] {
			t.Fatalf("second provision changed the tenant: %s vs %s", r2.Raw, r.Raw)
		}
		requireTenantAdmin(t, s.prefix+"flaky")
		s.requireClean(t)
	})
	t.Run("FailAtAdmin", func(t *testing.T) {
		s.prov.Hook = failAt("admin")
		r := s.Do(t, testsilo.Request{Method: "POST", Path: tenantsPath, Token: admin, Body: map[string]any{"slug": "late", "name": "Late", "admin": tenantAdmin}})
		s.prov.Hook = nil
		r.Require(t, 503, "PROVISIONING_FAILED")
		if us := tenantUsers(t, s.prefix+"late"); len(us) != 0 {
			t.Fatalf("admin created despite the failure: %+v", us)
		}
		s.Expect(t, 200, "", testsilo.Request{Method: "POST", Path: tenantsPath + "/late/provision", Token: admin})
		requireTenantAdmin(t, s.prefix+"late")
		s.requireClean(t)
	})
	t.Run("FailAtFirstStepThenPurge", func(t *testing.T) {
		s.prov.Hook = failAt("database")
		r := s.Do(t, testsilo.Request{Method: "POST", Path: tenantsPath, Token: admin, Body: map[string]any{"slug": "stillborn", "name": "Stillborn"}})
		s.prov.Hook = nil
		r.Require(t, 503, "PROVISIONING_FAILED")
		v := s.Do(t, testsilo.Request{Method: "GET", Path: tenantsPath + "/stillborn", Token: admin}).Obj("tenant")
		if v["status"] != "failed" || !strings.Contains(v["lastError"].(string), "step database") {
			t.Fatalf("tenant = %v", v)
		}
		if testdb.DatabaseExists(t, s.db, s.prefix+"stillborn") {
			t.Fatal("database created despite the failure")
		}
		s.requireClean(t)
		// Purge works from failed, with nothing to drop.
		s.Expect(t, 204, "", testsilo.Request{Method: "DELETE", Path: tenantsPath + "/stillborn?purge=true", Token: super})
		s.Expect(t, 404, "TENANT_NOT_FOUND", testsilo.Request{Method: "GET", Path: tenantsPath + "/stillborn", Token: admin})
		s.requireClean(t)
	})
	t.Run("SoftDeleteNeverProvisioned", func(t *testing.T) {
		s.prov.Hook = failAt("database")
		r := s.Do(t, testsilo.Request{Method: "POST", Path: tenantsPath, Token: admin, Body: map[string]any{"slug": "ghost", "name": "Ghost"}})
		s.prov.Hook = nil
		r.Require(t, 503, "PROVISIONING_FAILED")
		// A soft delete of a failed tenant works though its DB user never existed.
		s.Expect(t, 204, "", testsilo.Request{Method: "DELETE", Path: tenantsPath + "/ghost", Token: super})
		if v := s.Do(t, testsilo.Request{Method: "GET", Path: tenantsPath + "/ghost", Token: admin}).Obj("tenant"); v["status"] != "deleted" {
			t.Fatalf("tenant = %v", v)
		}
		// It never had a database or DB user, so reconciliation must not
		// report them missing.
		s.requireClean(t)
		s.Expect(t, 204, "", testsilo.Request{Method: "DELETE", Path: tenantsPath + "/ghost?purge=true", Token: super})
		s.requireClean(t)
	})
	if dbs := testdb.Databases(t, s.db, s.prefix); !slices.Equal(dbs, []string{s.prefix + "flaky", s.prefix + "late"}) {
		t.Fatalf("databases = %v", dbs)
	}
	s.requireClean(t)
}

func TestAuditLog(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	super := s.AdminToken()
	rootID := s.Do(t, testsilo.Request{Method: "GET", Path: "/api/central/auth/me", Token: super}).Obj("user")["id"].(string)
	adminID, admin := s.AddAdmin(t, super, "ops@example.com", "admin")

	// Every mutation below carries its own request id.
	rid := func(name string) map[string]string { return map[string]string{"X-Request-Id": "req-" + name} }
	r := s.Expect(t, 200, "", testsilo.Request{Method: "POST", Path: "/api/central/auth/login", Body: map[string]string{"email": "root@example.com", "password": password}, Header: rid("login")})
	super = r.Str("access_token")
	s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: tenantsPath, Token: super, Body: map[string]any{"slug": "audited", "name": "Audited"}, Header: rid("create")})
	s.Expect(t, 200, "", testsilo.Request{Method: "PATCH", Path: tenantsPath + "/audited", Token: super, Body: map[string]any{"name": "Audited Too"}, Header: rid("update")})
	s.Expect(t, 200, "", testsilo.Request{Method: "POST", Path: tenantsPath + "/audited/suspend", Token: super, Header: rid("suspend")})
	s.Expect(t, 200, "", testsilo.Request{Method: "POST", Path: tenantsPath + "/audited/resume", Token: super, Header: rid("resume")})
	s.Expect(t, 204, "", testsilo.Request{Method: "DELETE", Path: tenantsPath + "/audited", Token: super, Header: rid("delete")})
	s.Expect(t, 204, "", testsilo.Request{Method: "DELETE", Path: tenantsPath + "/audited?purge=true", Token: super, Header: rid("purge")})
	r = s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: "/api/central/auth/register", Token: super, Body: newAdmin("new@example.com", "admin"), Header: rid("register")})
	newID := r.Obj("user")["id"].(string)
	// Refused requests leave no entry.
	before := s.count(t, "SELECT COUNT(*) FROM audit_log")
	s.Expect(t, 400, "VALIDATION_FAILED", testsilo.Request{Method: "POST", Path: tenantsPath, Token: super, Body: map[string]any{"slug": "Bad"}, Header: rid("refused")})
	s.Expect(t, 403, "FORBIDDEN", testsilo.Request{Method: "DELETE", Path: tenantsPath + "/audited", Token: admin, Header: rid("refused")})
	if s.count(t, "SELECT COUNT(*) FROM audit_log") != before {
		t.Fatal("refused requests were audited")
	}

	all := s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: "/api/central/audit?limit=200", Token: super})
	entries := all.List("entries")
	if all.JSON["nextCursor"] != nil || !strings.Contains(string(all.Raw), `"nextCursor":null`) {
		t.Fatalf("nextCursor on the only page: %v", all.JSON["nextCursor"])
	}
	if len(entries) != before {
		t.Fatalf("%d entries listed, %d in the table", len(entries), before)
	}

	t.Run("NewestFirst", func(t *testing.T) {
		for i := 1; i < len(entries); i++ {
			if entries[i-1]["id"].(float64) <= entries[i]["id"].(float64) {
				t.Fatalf("entries not newest first at %d: %v, %v", i, entries[i-1], entries[i])
			}
			if parseTime(t, entries[i-1]["at"]).Before(parseTime(t, entries[i]["at"])) {
				t.Fatalf("entry times go backwards at %d", i)
			}
		}
	})
	find := func(t *testing.T, action, requestID string) (int, map[string]any) {
		t.Helper()
		for i, e := range entries {
			if e["action"] == action && e["requestId"] == requestID {
				return i, e
			}
		}
		t.Fatalf("no %s entry with request id %s in %s", action, requestID, all.Raw)
		return 0, nil
	}
	t.Run("Entries", func(t *testing.T) {
		for _, tc := range []struct {
			action, req, targetType, target, detail string
		}{
			{"auth.login", "req-login", "admin", rootID, ""},
			{"tenant.create", "req-create", "tenant", "audited", "database " + s.prefix + "audited on server default"},
			{"tenant.provision", "req-create", "tenant", "audited", ""},
			{"tenant.update", "req-update", "tenant", "audited", "name"},
			{"tenant.suspend", "req-suspend", "tenant", "audited", "active -> suspended"},
			{"tenant.resume", "req-resume", "tenant", "audited", "suspended -> active"},
			{"tenant.delete", "req-delete", "tenant", "audited", "active -> deleted"},
			{"tenant.purge", "req-purge", "tenant", "audited", ""},
			{"admin.create", "req-register", "admin", newID, "new@example.com as admin"},
		} {
			_, e := find(t, tc.action, tc.req)
			actor, _ := e["actor"].(map[string]any)
			target, _ := e["target"].(map[string]any)
			if actor["kind"] != "admin" || actor["id"] != rootID || actor["email"] != "root@example.com" {
				t.Errorf("%s: actor = %v", tc.action, actor)
			}
			if target["type"] != tc.targetType || target["id"] != tc.target {
				t.Errorf("%s: target = %v", tc.action, target)
			}
			if e["clientIp"] != "127.0.0.1" || e["outcome"] != "success" {
				t.Errorf("%s: entry = %v", tc.action, e)
			}
			if d, _ := e["detail"].(string); tc.detail != "" && d != tc.detail {
				t.Errorf("%s: detail = %q, want %q", tc.action, d, tc.detail)
			}
			if _, err := time.Parse(time.RFC3339Nano, e["at"].(string)); err != nil {
				t.Errorf("%s: at = %v", tc.action, e["at"])
			}
		}
		// The purge detail names what was dropped, but no secret.
		_, purge := find(t, "tenant.purge", "req-purge")
		if d, _ := purge["detail"].(string); !strings.Contains(d, s.prefix+"audited") {
			t.Errorf("purge detail = %q", d)
		}
		if strings.Contains(strings.ToLower(string(all.Raw)), "password") || strings.Contains(string(all.Raw), "$2a$") {
			t.Fatalf("audit log leaks secrets: %s", all.Raw)
		}
	})
	t.Run("Order", func(t *testing.T) {
		var idx []int
		for _, a := range [][2]string{
			{"admin.create", "req-register"}, {"tenant.purge", "req-purge"}, {"tenant.delete", "req-delete"},
			{"tenant.resume", "req-resume"}, {"tenant.suspend", "req-suspend"}, {"tenant.update", "req-update"},
			{"tenant.provision", "req-create"}, {"tenant.create", "req-create"}, {"auth.login", "req-login"},
		} {
			i, _ := find(t, a[0], a[1])
			idx = append(idx, i)
		}
		if !slices.IsSorted(idx) {
			t.Fatalf("entries out of order: %v", idx)
		}
	})
	t.Run("BootstrapAndOtherAdmins", func(t *testing.T) {
		// The instance registered its tenant admin DSN's server at start;
		// then the first superadmin registered itself anonymously.
		if first := entries[len(entries)-1]; first["action"] != "server.add" || first["actor"].(map[string]any)["kind"] != "system" ||
			first["target"].(map[string]any)["id"] != "default" {
			t.Fatalf("oldest entry = %v", first)
		}
		last := entries[len(entries)-2]
		if last["action"] != "admin.create" || last["actor"].(map[string]any)["kind"] != "anonymous" ||
			last["target"].(map[string]any)["id"] != rootID {
			t.Fatalf("oldest entry = %v", last)
		}
		// The plain admin's login is attributed to it.
		found := false
		for _, e := range entries {
			if e["action"] == "auth.login" && e["actor"].(map[string]any)["id"] == adminID {
				found = e["actor"].(map[string]any)["email"] == "ops@example.com"
			}
		}
		if !found {
			t.Fatal("plain admin's login not attributed to it")
		}
	})
	t.Run("Paginated", func(t *testing.T) {
		for _, limit := range []int{1, 3, len(entries)} {
			var ids []any
			cursor, pages := "", 0
			for {
				path := fmt.Sprintf("/api/central/audit?limit=%d", limit)
				if cursor != "" {
					path += "&cursor=" + url.QueryEscape(cursor)
				}
				r := s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: path, Token: super})
				page := r.List("entries")
				if len(page) > limit {
					t.Fatalf("page of %d with limit %d", len(page), limit)
				}
				for _, e := range page {
					ids = append(ids, e["id"])
				}
				pages++
				if pages > len(entries)+1 {
					t.Fatal("pagination does not end")
				}
				next, _ := r.JSON["nextCursor"].(string)
				if next == "" {
					break
				}
				cursor = next
			}
			var want []any
			for _, e := range entries {
				want = append(want, e["id"])
			}
			if !slices.Equal(ids, want) {
				t.Fatalf("limit %d: paged ids %v, want %v", limit, ids, want)
			}
			if wantPages := (len(entries) + limit - 1) / limit; pages != wantPages {
				t.Fatalf("limit %d: %d pages, want %d", limit, pages, wantPages)
			}
		}
	})
	t.Run("BadQuery", func(t *testing.T) {
		for _, q := range []string{"limit=0", "limit=201", "limit=x", "cursor=abc", "cursor=0", "cursor=-5", "cursor=" + url.QueryEscape("1 OR 1=1"), "cursor=99999999999999999999"} {
			s.Expect(t, 400, "VALIDATION_FAILED", testsilo.Request{Method: "GET", Path: "/api/central/audit?" + q, Token: super})
		}
	})
	t.Run("Access", func(t *testing.T) {
		s.Expect(t, 403, "FORBIDDEN", testsilo.Request{Method: "GET", Path: "/api/central/audit", Token: admin})
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: "/api/central/audit"})
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: "/api/central/audit", Token: "garbage"})
	})
	s.requireClean(t)
}
