package router_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/silo-dev/silo/internal/lib/token"
	"github.com/silo-dev/silo/internal/testsupport/testdb"
	"github.com/silo-dev/silo/internal/testsupport/testsilo"
	"github.com/silo-dev/silo/provisioning"
	"github.com/silo-dev/silo/tenantdb"
)

// The tenant plane: resolution, statuses, tenant-user auth, token binding
// and metrics, against real tenant databases.

const (
	mePath       = "/api/auth/me"
	loginPath    = "/api/auth/login"
	registerPath = "/api/auth/register"
	refreshPath  = "/api/auth/refresh"
	logoutPath   = "/api/auth/logout"
	configPath   = "/api/auth/config"
)

var (
	memberPerms = []string{"data:read", "data:write"}
	adminPerms  = []string{"apikeys:write", "audit:read", "data:read", "data:write", "roles:write", "settings:write", "users:read", "users:write"}
)

func tenantName(slug string) string { return "Tenant " + slug }

func adminOf(slug string) string { return "admin@" + slug + ".example" }

// tenantOf is tenant slug, named tenantName(slug), with custom domains and
// a first tenant_admin adminOf(slug) whose password is password.
func tenantOf(slug string, domains ...string) testsilo.NewTenant {
	return testsilo.NewTenant{Slug: slug, Name: tenantName(slug), Domains: domains,
		AdminEmail: adminOf(slug), AdminPassword: password, FirstName: "Grace", LastName: "Hopper"}
}

func creds(email, pw string) map[string]string {
	return map[string]string{"email": email, "password": pw}
}

func signup(email, pw string) map[string]any {
	return map[string]any{"email": email, "password": pw, "firstName": "Ann", "lastName": "Lee"}
}

// resolvedAs fails unless r is a /api/auth/me answer of tenant slug.
func resolvedAs(t testing.TB, r *testsilo.Response, slug string) {
	t.Helper()
	r.Require(t, 200, "")
	if got, _ := r.Obj("tenant")["slug"].(string); got != slug {
		t.Fatalf("resolved tenant %q, want %q: %s", got, slug, r.Raw)
	}
}

// expect4xx fails unless r is a client error in the API.md envelope.
func expect4xx(t testing.TB, r *testsilo.Response) {
	t.Helper()
	if r.Status < 400 || r.Status > 499 {
		t.Fatalf("status = %d, want 4xx; body %s", r.Status, r.Raw)
	}
	r.Require(t, r.Status, r.Code())
	if r.Code() == "" {
		t.Fatalf("no error code: %s", r.Raw)
	}
}

// rootExec runs q as root; {db} in q names the tenant database.
func rootExec(t testing.TB, database, q string, args ...any) {
	t.Helper()
	if !tenantdb.ValidDatabase(database) {
		t.Fatalf("bad database name %q", database)
	}
	root := testdb.Server(t)
	defer root.Close()
	if _, err := root.Exec(strings.ReplaceAll(q, "{db}", "`"+database+"`"), args...); err != nil {
		t.Fatal(err)
	}
}

// tenantFingerprint is the content of a tenant database's auth tables.
func tenantFingerprint(t testing.TB, database string) string {
	t.Helper()
	if !tenantdb.ValidDatabase(database) {
		t.Fatalf("bad database name %q", database)
	}
	root := testdb.Server(t)
	defer root.Close()
	var out []string
	for _, q := range []string{
		"SELECT CONCAT_WS('|', id, email, password_hash, first_name, last_name, is_active, updated_at) FROM {db}.users ORDER BY id",
		"SELECT CONCAT_WS('|', user_id, role_name) FROM {db}.user_roles ORDER BY 1",
		"SELECT CONCAT_WS('|', id, family_id, HEX(token_hash), IFNULL(used_at, '-'), IFNULL(revoked_at, '-')) FROM {db}.refresh_tokens ORDER BY id",
		"SELECT CONCAT_WS('|', user_id, MD5(config), updated_at) FROM {db}.user_configs ORDER BY 1",
		"SELECT CONCAT_WS('|', allow_public_signup, updated_at) FROM {db}.settings ORDER BY id",
	} {
		rows, err := root.Query(strings.ReplaceAll(q, "{db}", "`"+database+"`"))
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		rows.Close()
	}
	return strings.Join(out, "\n")
}

// snapshot fingerprints the central database and the given tenant
// databases; the returned func fails the test if any changed since.
func (s *server) snapshot(t testing.TB, databases ...string) func() {
	t.Helper()
	take := func() string {
		parts := []string{s.rows(), s.tenantState(t)}
		for _, d := range databases {
			parts = append(parts, tenantFingerprint(t, d))
		}
		return strings.Join(parts, "\n--\n")
	}
	before := take()
	return func() {
		t.Helper()
		if after := take(); after != before {
			t.Fatalf("refused requests changed the databases:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	}
}

func randomSlug() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "z" + hex.EncodeToString(b)
}

func TestTenantResolution(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	super := s.AdminToken()
	acme := s.Tenant(t, tenantOf("acme", "acme.example.org"))
	beta := s.Tenant(t, tenantOf("beta"))
	acmeTok := s.TenantLogin(t, "acme", adminOf("acme"), password).Str("access_token")
	betaTok := s.TenantLogin(t, "beta", adminOf("beta"), password).Str("access_token")
	me := func(t *testing.T, tok string, headers ...string) *testsilo.Response {
		t.Helper()
		return s.Do(t, testsilo.Request{Method: "GET", Path: mePath, Token: tok, Header: headerMap(headers)})
	}
	t.Run("Header", func(t *testing.T) {
		resolvedAs(t, me(t, acmeTok, "x-tenant-id", "acme"), "acme")
		resolvedAs(t, me(t, betaTok, "X-Tenant-ID", "beta"), "beta")
		r := me(t, acmeTok, "x-tenant-id", "acme")
		if r.Obj("tenant")["name"] != tenantName("acme") {
			t.Fatalf("tenant = %v", r.Obj("tenant"))
		}
	})
	t.Run("Subdomain", func(t *testing.T) {
		for _, host := range []string{"acme.silo.test", "acme.silo.test:8443", "ACME.Silo.Test", "acme.silo.test.", "Acme.SILO.test.:443"} {
			resolvedAs(t, me(t, acmeTok, "Host", host), "acme")
		}
		resolvedAs(t, me(t, betaTok, "Host", "beta.silo.test"), "beta")
		// The subdomain's tenant, not another's token.
		me(t, betaTok, "Host", "acme.silo.test").Require(t, 401, "UNAUTHENTICATED")
	})
	t.Run("CustomDomain", func(t *testing.T) {
		for _, host := range []string{"acme.example.org", "ACME.Example.ORG:8443", "acme.example.org."} {
			resolvedAs(t, me(t, acmeTok, "Host", host), "acme")
		}
		// A domain change applies at once on this instance.
		r := s.Expect(t, 200, "", testsilo.Request{Method: "PATCH", Path: tenantsPath + "/acme", Token: super, Body: map[string]any{"domains": []string{"shop.acme.example", "www.acme.example"}}})
		resolvedAs(t, me(t, acmeTok, "Host", "shop.acme.example"), "acme")
		resolvedAs(t, me(t, acmeTok, "Host", "WWW.acme.example:80"), "acme")
		// The old domain names no tenant any more.
		r = me(t, acmeTok, "Host", "acme.example.org")
		r.Require(t, 400, "TENANT_ID_REQUIRED")
		// ... but the header still works from it.
		resolvedAs(t, me(t, acmeTok, "Host", "acme.example.org", "x-tenant-id", "acme"), "acme")
		// Mapping the domain to another tenant moves it at once.
		s.Expect(t, 200, "", testsilo.Request{Method: "PATCH", Path: tenantsPath + "/acme", Token: super, Body: map[string]any{"domains": []string{"www.acme.example"}}})
		s.Expect(t, 200, "", testsilo.Request{Method: "PATCH", Path: tenantsPath + "/beta", Token: super, Body: map[string]any{"domains": []string{"shop.acme.example"}}})
		resolvedAs(t, me(t, betaTok, "Host", "shop.acme.example"), "beta")
		me(t, acmeTok, "Host", "shop.acme.example").Require(t, 401, "UNAUTHENTICATED")
	})
	done := s.snapshot(t, acme.DatabaseName, beta.DatabaseName)
	t.Run("NoTenant", func(t *testing.T) {
		for _, host := range []string{"localhost", "localhost:8080", "127.0.0.1", "127.0.0.1:9", "[::1]:80", "[::1]",
			"silo.test", "SILO.test.", "silo.test:443", "unmapped.example.com", ""} {
			for _, tok := range []string{"", acmeTok} {
				r := me(t, tok, "Host", host)
				r.Require(t, 400, "TENANT_ID_REQUIRED")
				if e := r.JSON["error"].(map[string]any); e["message"] != "Tenant ID is required" {
					t.Fatalf("host %q: message %q", host, e["message"])
				}
			}
		}
		// The default host of the test client is 127.0.0.1:port.
		s.Expect(t, 400, "TENANT_ID_REQUIRED", testsilo.Request{Method: "POST", Path: loginPath, Body: creds(adminOf("acme"), password)})
		s.Expect(t, 400, "TENANT_ID_REQUIRED", testsilo.Request{Method: "POST", Path: registerPath, Body: signup("new@example.com", password)})
	})
	t.Run("Mismatch", func(t *testing.T) {
		for _, h := range [][]string{
			{"x-tenant-id", "beta", "Host", "acme.silo.test"},
			{"x-tenant-id", "acme", "Host", "beta.silo.test:8443"},
			{"x-tenant-id", "beta", "Host", "www.acme.example"},
			{"x-tenant-id", "acme", "Host", "shop.acme.example"},
		} {
			for _, tok := range []string{"", acmeTok, betaTok} {
				me(t, tok, h...).Require(t, 400, "TENANT_MISMATCH")
			}
			s.Expect(t, 400, "TENANT_MISMATCH", testsilo.Request{Method: "POST", Path: loginPath, Body: creds(adminOf("acme"), password), Header: headerMap(h)})
		}
		// The same tenant twice is no mismatch.
		resolvedAs(t, me(t, acmeTok, "x-tenant-id", "acme", "Host", "acme.silo.test"), "acme")
		resolvedAs(t, me(t, acmeTok, "x-tenant-id", "acme", "Host", "www.acme.example"), "acme")
	})
	t.Run("HeaderWinsOverNonTenantHost", func(t *testing.T) {
		for _, host := range []string{"api.silo.test", "api.silo.test:443", "nobody-here.silo.test", "a.b.silo.test", "unmapped.example.com", "localhost"} {
			resolvedAs(t, me(t, acmeTok, "x-tenant-id", "acme", "Host", host), "acme")
		}
	})
	t.Run("Unknown", func(t *testing.T) {
		for _, h := range [][]string{
			{"x-tenant-id", "nobody-here"},
			{"x-tenant-id", "api"},
			{"Host", "nobody-here.silo.test"},
			{"Host", "api.silo.test"},
			{"Host", "a.b.silo.test"},
			{"Host", "acme.beta.silo.test"},
			{"Host", "-acme.silo.test"},
		} {
			for _, tok := range []string{"", acmeTok} {
				me(t, tok, h...).Require(t, 404, "TENANT_NOT_FOUND")
			}
			s.Expect(t, 404, "TENANT_NOT_FOUND", testsilo.Request{Method: "POST", Path: loginPath, Body: creds(adminOf("acme"), password), Header: headerMap(h)})
		}
	})
	t.Run("UnknownHeaderOnTenantHost", func(t *testing.T) {
		// Refused either way; API.md (and the resolver's own comment: "only
		// two different known tenants clash") make it 404, not a mismatch.
		for _, host := range []string{"acme.silo.test", "www.acme.example"} {
			expect4xx(t, me(t, acmeTok, "x-tenant-id", "nobody-here", "Host", host))
		}
		for _, host := range []string{"acme.silo.test", "www.acme.example"} {
			me(t, acmeTok, "x-tenant-id", "nobody-here", "Host", host).Require(t, 404, "TENANT_NOT_FOUND")
		}
	})
	t.Run("MalformedHeader", func(t *testing.T) {
		for _, v := range []string{"ACME", "Acme", "a;b", "acme;beta", "ac me", "acme,beta", "ac\tme", "acm\u00e9",
			"acme.silo.test", "../acme", "acme%00", "'acme'--", "a", "ab", "acme-", strings.Repeat("a", 41), strings.Repeat("a", 5000)} {
			for _, tok := range []string{"", acmeTok} {
				r := me(t, tok, "x-tenant-id", v)
				expect4xx(t, r)
			}
		}
		// Control characters: the Go client refuses to send them, so send
		// them by hand. net/http itself answers 400 before Silo sees the
		// request (its plain-text answer is not Silo's envelope).
		for _, v := range []string{"ac\x01me", "acme\x00", "ac\x7fme", "ac\rme"} {
			r, err := s.SendRaw("GET " + mePath + " HTTP/1.1\r\nHost: localhost\r\nx-tenant-id: " + v + "\r\nConnection: close\r\n\r\n")
			if err != nil {
				t.Fatal(err)
			}
			if r.Status < 400 || r.Status > 499 {
				t.Fatalf("header %q: status %d, body %s", v, r.Status, r.Raw)
			}
		}
		// A tab inside the value does reach Silo.
		r, err := s.SendRaw("GET " + mePath + " HTTP/1.1\r\nHost: localhost\r\nx-tenant-id: ac\tme\r\nConnection: close\r\n\r\n")
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != 404 || !strings.Contains(string(r.Raw), `"TENANT_NOT_FOUND"`) {
			t.Fatalf("tab in header: status %d, body %s", r.Status, r.Raw)
		}
	})
	t.Run("ForwardedHostIgnoredByDefault", func(t *testing.T) {
		me(t, acmeTok, "X-Forwarded-Host", "acme.silo.test").Require(t, 400, "TENANT_ID_REQUIRED")
		me(t, acmeTok, "Host", "beta.silo.test", "X-Forwarded-Host", "acme.silo.test").Require(t, 401, "UNAUTHENTICATED")
		resolvedAs(t, me(t, betaTok, "Host", "beta.silo.test", "X-Forwarded-Host", "acme.silo.test"), "beta")
		// A proxy range that does not hold the client is not trusted either.
		other := s.instance(t, func(o *serverOptions) { o.trustedProxies = []string{"10.0.0.0/8"} })
		other.Expect(t, 400, "TENANT_ID_REQUIRED", testsilo.Request{Method: "GET", Path: mePath, Token: acmeTok, Header: map[string]string{"X-Forwarded-Host": "acme.silo.test"}})
	})
	t.Run("ForwardedHostFromTrustedProxy", func(t *testing.T) {
		p := s.instance(t, func(o *serverOptions) { o.trustedProxies = []string{"127.0.0.1/32"} })
		for _, fwd := range []string{"acme.silo.test", "ACME.silo.test:8443", "acme.silo.test, proxy.internal", "www.acme.example"} {
			resolvedAs(t, p.Do(t, testsilo.Request{Method: "GET", Path: mePath, Token: acmeTok, Header: map[string]string{"X-Forwarded-Host": fwd}}), "acme")
			resolvedAs(t, p.Do(t, testsilo.Request{Method: "GET", Path: mePath, Token: acmeTok, Host: "beta.silo.test", Header: map[string]string{"X-Forwarded-Host": fwd}}), "acme")
		}
		p.Expect(t, 400, "TENANT_MISMATCH", testsilo.Request{Method: "GET", Path: mePath, Tenant: "beta", Token: betaTok, Header: map[string]string{"X-Forwarded-Host": "acme.silo.test"}})
		p.Expect(t, 404, "TENANT_NOT_FOUND", testsilo.Request{Method: "GET", Path: mePath, Header: map[string]string{"X-Forwarded-Host": "nobody-here.silo.test"}})
		p.Expect(t, 400, "TENANT_ID_REQUIRED", testsilo.Request{Method: "GET", Path: mePath, Header: map[string]string{"X-Forwarded-Host": "silo.test"}})
		// Without the header the Host is used as usual.
		resolvedAs(t, p.Do(t, testsilo.Request{Method: "GET", Path: mePath, Token: betaTok, Host: "beta.silo.test"}), "beta")
	})
	done()
	s.requireClean(t)
}

func TestTenantUnknownCostsNoCentralQuery(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	known := s.Tenant(t, tenantOf("known"))
	tok := s.TenantLogin(t, "known", adminOf("known"), password).Str("access_token")

	// A second instance with a central pool of its own, which it alone
	// loses below; no poller runs, so only requests could query.
	inst := s.instance(t)
	resolvedAs(t, inst.Do(t, testsilo.Request{Method: "GET", Path: mePath, Tenant: "known", Token: tok}), "known")
	unknowns := func(t *testing.T, n int) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan string, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				slug := randomSlug()
				headers := []string{"x-tenant-id", slug}
				switch i % 3 {
				case 1:
					headers = []string{"Host", slug + ".silo.test"}
				case 2:
					headers = []string{"Host", "api.silo.test", "x-tenant-id", slug}
				}
				r, err := inst.Send(testsilo.Request{Method: "GET", Path: mePath, Token: tok, Header: headerMap(headers)})
				switch {
				case err != nil:
					errs <- err.Error()
				case r.Status != 404 || r.Code() != "TENANT_NOT_FOUND":
					errs <- fmt.Sprintf("%v: %d %s", headers, r.Status, r.Raw)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
	}
	t.Run("NoQuery", func(t *testing.T) {
		before := inst.queries.Load()
		unknowns(t, 200)
		if n := inst.queries.Load() - before; n != 0 {
			t.Fatalf("200 unknown tenants cost %d central queries", n)
		}
		resolvedAs(t, inst.Do(t, testsilo.Request{Method: "GET", Path: mePath, Tenant: "known", Token: tok}), "known")
		if n := inst.queries.Load() - before; n != 0 {
			t.Fatalf("a known tenant cost %d central queries", n)
		}
	})
	t.Run("CentralDown", func(t *testing.T) {
		if err := inst.db.Close(); err != nil {
			t.Fatal(err)
		}
		inst.Expect(t, 503, "DATABASE_UNAVAILABLE", testsilo.Request{Method: "GET", Path: "/readyz"})
		unknowns(t, 200)
		resolvedAs(t, inst.Do(t, testsilo.Request{Method: "GET", Path: mePath, Tenant: "known", Token: tok}), "known")
		resolvedAs(t, inst.Do(t, testsilo.Request{Method: "GET", Path: mePath, Token: tok, Host: "known.silo.test"}), "known")
		// The tenant's own database still serves its users.
		inst.Expect(t, 200, "", testsilo.Request{Method: "POST", Path: loginPath, Tenant: "known", Body: creds(adminOf("known"), password)})
		inst.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: registerPath, Tenant: "known", Body: signup("late@example.com", password)})
	})
	if us := tenantUsers(t, known.DatabaseName); len(us) != 2 {
		t.Fatalf("tenant users = %+v", us)
	}
}

// race runs n calls at once and counts their statuses; transport errors
// and answers without the error envelope fail the test.
func race(t *testing.T, n int, call func(i int) (*testsilo.Response, error)) map[int]int {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	statuses := map[int]int{}
	var problems []string
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r, err := call(i)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				problems = append(problems, err.Error())
			case r.Status >= 300 && r.Code() == "":
				problems = append(problems, string(r.Raw))
			default:
				statuses[r.Status]++
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(problems) > 0 {
		t.Fatalf("%v", problems)
	}
	return statuses
}

// waitFor runs check every 50 ms until it passes, failing after limit
// counted from since.
func waitFor(t *testing.T, since time.Time, limit time.Duration, what string, check func() (bool, string)) {
	t.Helper()
	for {
		ok, last := check()
		if ok {
			t.Logf("%s after %v", what, time.Since(since).Round(time.Millisecond))
			return
		}
		if time.Since(since) > limit {
			t.Fatalf("%s: not within %v; last answer %s", what, limit, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestTenantStatuses(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	super := s.AdminToken()
	pause := s.Tenant(t, tenantOf("pause"))
	gone := s.Tenant(t, tenantOf("gone"))
	tok := s.TenantLogin(t, "pause", adminOf("pause"), password)
	access, refreshTok := tok.Str("access_token"), tok.Str("refresh_token")
	goneTok := s.TenantLogin(t, "gone", adminOf("gone"), password).Str("access_token")

	// A second instance following the catalog as serve.go does.
	inst := s.instance(t, func(o *serverOptions) { o.background = true })
	resolvedAs(t, inst.Do(t, testsilo.Request{Method: "GET", Path: mePath, Tenant: "pause", Token: access}), "pause")
	resolvedAs(t, inst.Do(t, testsilo.Request{Method: "GET", Path: mePath, Tenant: "gone", Token: goneTok}), "gone")

	answer := func(srv *server, slug, tok string) func() *testsilo.Response {
		return func() *testsilo.Response {
			r, err := srv.Send(testsilo.Request{Method: "GET", Path: mePath, Token: tok, Tenant: slug})
			if err != nil {
				return &testsilo.Response{Raw: []byte(err.Error())}
			}
			return r
		}
	}

	t.Run("Suspended", func(t *testing.T) {
		s.Expect(t, 200, "", testsilo.Request{Method: "POST", Path: tenantsPath + "/pause/suspend", Token: super})
		suspended := time.Now()
		// This instance refuses at once, token or not, on every route.
		done := s.snapshot(t, pause.DatabaseName)
		for _, h := range [][]string{{"x-tenant-id", "pause"}, {"Host", "pause.silo.test"}} {
			s.Expect(t, 403, "TENANT_SUSPENDED", testsilo.Request{Method: "GET", Path: mePath, Token: access, Header: headerMap(h)})
			s.Expect(t, 403, "TENANT_SUSPENDED", testsilo.Request{Method: "GET", Path: configPath, Token: access, Header: headerMap(h)})
			s.Expect(t, 403, "TENANT_SUSPENDED", testsilo.Request{Method: "PUT", Path: configPath, Token: access, Body: map[string]any{"config": map[string]any{"a": 1}}, Header: headerMap(h)})
			s.Expect(t, 403, "TENANT_SUSPENDED", testsilo.Request{Method: "GET", Path: mePath, Header: headerMap(h)})
			s.Expect(t, 403, "TENANT_SUSPENDED", testsilo.Request{Method: "POST", Path: loginPath, Body: creds(adminOf("pause"), password), Header: headerMap(h)})
			s.Expect(t, 403, "TENANT_SUSPENDED", testsilo.Request{Method: "POST", Path: registerPath, Body: signup("new@example.com", password), Header: headerMap(h)})
			s.Expect(t, 403, "TENANT_SUSPENDED", testsilo.Request{Method: "POST", Path: refreshPath, Body: map[string]string{"refresh_token": refreshTok}, Header: headerMap(h)})
			s.Expect(t, 403, "TENANT_SUSPENDED", testsilo.Request{Method: "POST", Path: logoutPath, Body: map[string]string{"refresh_token": refreshTok}, Header: headerMap(h)})
		}
		done()
		// The other instance within a second.
		waitFor(t, suspended, time.Second, "second instance sees the suspension", func() (bool, string) {
			r := answer(inst, "pause", access)()
			if r.Status != 200 && r.Status != 403 {
				t.Fatalf("second instance answered %d %s", r.Status, r.Raw)
			}
			return r.Status == 403 && r.Code() == "TENANT_SUSPENDED", string(r.Raw)
		})
		answer(inst, "pause", access)().Require(t, 403, "TENANT_SUSPENDED")
		// Other tenants are untouched.
		resolvedAs(t, answer(inst, "gone", goneTok)(), "gone")
	})
	t.Run("Resumed", func(t *testing.T) {
		s.Expect(t, 200, "", testsilo.Request{Method: "POST", Path: tenantsPath + "/pause/resume", Token: super})
		resumed := time.Now()
		resolvedAs(t, answer(s, "pause", access)(), "pause")
		waitFor(t, resumed, time.Second, "second instance sees the resumption", func() (bool, string) {
			r := answer(inst, "pause", access)()
			if r.Status != 200 && r.Status != 403 {
				t.Fatalf("second instance answered %d %s", r.Status, r.Raw)
			}
			return r.Status == 200, string(r.Raw)
		})
		// The session survived the suspension.
		r := s.Expect(t, 200, "", testsilo.Request{Method: "POST", Path: refreshPath, Tenant: "pause", Body: map[string]string{"refresh_token": refreshTok}})
		resolvedAs(t, inst.Do(t, testsilo.Request{Method: "GET", Path: mePath, Tenant: "pause", Token: r.Str("access_token")}), "pause")
	})
	t.Run("Failed", func(t *testing.T) {
		s.prov.Hook = failAt("migrated")
		_, err := s.prov.Create(context.Background(), provisioning.NewTenant{Slug: "broken", Name: "Broken",
			Admin: &provisioning.NewAdmin{Email: adminOf("broken"), Password: password, FirstName: "Grace", LastName: "Hopper"}})
		s.prov.Hook = nil
		if err == nil {
			t.Fatal("provisioning did not fail")
		}
		brokenDB := s.prefix + "broken"
		for _, srv := range []*server{s, inst} {
			waitFor(t, time.Now(), time.Second, "failed tenant unavailable", func() (bool, string) {
				r := answer(srv, "broken", "")()
				return r.Status == 503 && r.Code() == "TENANT_UNAVAILABLE", string(r.Raw)
			})
			answer(srv, "broken", "")().Require(t, 503, "TENANT_UNAVAILABLE")
			srv.Expect(t, 503, "TENANT_UNAVAILABLE", testsilo.Request{Method: "GET", Path: mePath, Host: "broken.silo.test"})
			srv.Expect(t, 503, "TENANT_UNAVAILABLE", testsilo.Request{Method: "POST", Path: loginPath, Tenant: "broken", Body: creds(adminOf("broken"), password)})
			srv.Expect(t, 503, "TENANT_UNAVAILABLE", testsilo.Request{Method: "POST", Path: registerPath, Tenant: "broken", Body: signup("x@example.com", password)})
		}
		if !testdb.DatabaseExists(t, s.db, brokenDB) {
			t.Fatal("the failed tenant's database is missing")
		}
		// Retried provisioning makes it usable.
		s.Expect(t, 200, "", testsilo.Request{Method: "POST", Path: tenantsPath + "/broken/provision", Token: super})
		s.TenantLogin(t, "broken", adminOf("broken"), password)
		waitFor(t, time.Now(), time.Second, "second instance sees the repaired tenant", func() (bool, string) {
			r := inst.Do(t, testsilo.Request{Method: "POST", Path: loginPath, Tenant: "broken", Body: creds(adminOf("broken"), password)})
			return r.Status == 200, string(r.Raw)
		})
	})
	t.Run("Deleted", func(t *testing.T) {
		s.Expect(t, 204, "", testsilo.Request{Method: "DELETE", Path: tenantsPath + "/gone", Token: super})
		deleted := time.Now()
		done := s.snapshot(t, gone.DatabaseName)
		for _, h := range [][]string{{"x-tenant-id", "gone"}, {"Host", "gone.silo.test"}} {
			s.Expect(t, 404, "TENANT_NOT_FOUND", testsilo.Request{Method: "GET", Path: mePath, Token: goneTok, Header: headerMap(h)})
			s.Expect(t, 404, "TENANT_NOT_FOUND", testsilo.Request{Method: "POST", Path: loginPath, Body: creds(adminOf("gone"), password), Header: headerMap(h)})
			s.Expect(t, 404, "TENANT_NOT_FOUND", testsilo.Request{Method: "POST", Path: registerPath, Body: signup("x@example.com", password), Header: headerMap(h)})
		}
		done()
		waitFor(t, deleted, time.Second, "second instance forgets the deleted tenant", func() (bool, string) {
			r := answer(inst, "gone", goneTok)()
			return r.Status == 404 && r.Code() == "TENANT_NOT_FOUND", string(r.Raw)
		})
		// Purged: still unknown.
		s.Expect(t, 204, "", testsilo.Request{Method: "DELETE", Path: tenantsPath + "/gone?purge=true", Token: super})
		answer(s, "gone", goneTok)().Require(t, 404, "TENANT_NOT_FOUND")
	})
	resolvedAs(t, answer(s, "pause", access)(), "pause")
	s.requireClean(t)
}

func TestTenantUserAuth(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	shop := s.Tenant(t, tenantOf("shop"))
	db := shop.DatabaseName
	const slug = "shop"

	var annID string
	t.Run("Register", func(t *testing.T) {
		r := s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: registerPath, Tenant: slug, Body: signup("Ann@Example.COM", password)})
		u := r.Obj("user")
		annID, _ = u["id"].(string)
		if len(annID) != 36 || u["email"] != "ann@example.com" || u["firstName"] != "Ann" || u["lastName"] != "Lee" {
			t.Fatalf("registered user = %s", r.Raw)
		}
		if !reflect.DeepEqual(strs(u["roles"]), []string{"member"}) {
			t.Fatalf("roles = %v", u["roles"])
		}
		if strings.Contains(strings.ToLower(string(r.Raw)), "password") || strings.Contains(string(r.Raw), "$2a$") {
			t.Fatalf("register leaks the hash: %s", r.Raw)
		}
		var found bool
		for _, u := range tenantUsers(t, db) {
			if u.email == "ann@example.com" {
				found = true
				if u.roles != "member" || !u.active {
					t.Fatalf("stored user = %+v", u)
				}
			}
		}
		if !found {
			t.Fatal("user not stored in the tenant database")
		}
	})
	t.Run("RegisterRefused", func(t *testing.T) {
		done := s.snapshot(t, db)
		for _, role := range []string{"member", "tenant_admin", "superadmin"} {
			body := signup("eve@example.com", password)
			body["role"] = role
			r := s.Expect(t, 400, "VALIDATION_FAILED", testsilo.Request{Method: "POST", Path: registerPath, Tenant: slug, Body: body})
			if !r.Details()["role"] {
				t.Fatalf("role not named: %s", r.Raw)
			}
		}
		for _, email := range []string{"ann@example.com", "ANN@EXAMPLE.COM", "Ann@example.com", adminOf(slug), strings.ToUpper(adminOf(slug))} {
			r := s.Expect(t, 409, "USER_EXISTS", testsilo.Request{Method: "POST", Path: registerPath, Tenant: slug, Body: signup(email, "another password 1")})
			if r.JSON["error"].(map[string]any)["message"] != "User already exists" {
				t.Fatalf("message: %s", r.Raw)
			}
		}
		r := s.Expect(t, 400, "VALIDATION_FAILED", testsilo.Request{Method: "POST", Path: registerPath, Tenant: slug, Body: signup("long@example.com", strings.Repeat("p", 73))})
		if !r.Details()["password"] {
			t.Fatalf("password not named: %s", r.Raw)
		}
		s.Expect(t, 400, "VALIDATION_FAILED", testsilo.Request{Method: "POST", Path: registerPath, Tenant: slug, Body: signup("not-an-email", password)})
		s.Expect(t, 400, "MALFORMED_JSON", testsilo.Request{Method: "POST", Path: registerPath, Tenant: slug, Body: `{"email":`})
		s.Expect(t, 415, "UNSUPPORTED_MEDIA_TYPE", testsilo.Request{Method: "POST", Path: registerPath, Tenant: slug, Body: "email=a", Header: map[string]string{"Content-Type": "text/plain"}})
		// Sign-up closed by the tenant's settings.
		rootExec(t, db, "UPDATE {db}.settings SET allow_public_signup = 0")
		done = s.snapshot(t, db)
		s.Expect(t, 403, "FORBIDDEN", testsilo.Request{Method: "POST", Path: registerPath, Tenant: slug, Body: signup("closed@example.com", password)})
		done()
		rootExec(t, db, "UPDATE {db}.settings SET allow_public_signup = 1")
		s.SignUp(t, slug, "open@example.com", password)
	})

	var session *testsilo.Response
	t.Run("Login", func(t *testing.T) {
		r := s.TenantLogin(t, slug, "ANN@example.com", password)
		session = r
		if r.Str("token_type") != "Bearer" || r.Str("access_token") == "" || r.Str("refresh_token") == "" {
			t.Fatalf("login = %s", r.Raw)
		}
		if exp, _ := r.JSON["expires_in"].(float64); exp != 900 {
			t.Fatalf("expires_in = %v", r.JSON["expires_in"])
		}
		u := r.Obj("user")
		if u["id"] != annID || u["email"] != "ann@example.com" ||
			!reflect.DeepEqual(strs(u["roles"]), []string{"member"}) || !reflect.DeepEqual(strs(u["permissions"]), memberPerms) {
			t.Fatalf("user = %v", u)
		}
		if tn := r.Obj("tenant"); tn["slug"] != slug || tn["name"] != tenantName(slug) || len(tn) != 2 {
			t.Fatalf("tenant = %v", tn)
		}
		claims, err := s.keys.Verify(r.Str("access_token"), token.TenantAudience(slug))
		if err != nil {
			t.Fatal(err)
		}
		if claims.TenantID != slug || claims.Subject != annID || claims.Email != "ann@example.com" || claims.IsCentralAdmin || claims.ID == "" {
			t.Fatalf("claims = %+v", claims)
		}
		if strings.Contains(string(r.Raw), "$2a$") || strings.Contains(strings.ToLower(string(r.Raw)), "password") {
			t.Fatalf("login leaks: %s", r.Raw)
		}
		a := s.TenantLogin(t, slug, adminOf(slug), password)
		if !reflect.DeepEqual(strs(a.Obj("user")["roles"]), []string{"tenant_admin"}) || !reflect.DeepEqual(strs(a.Obj("user")["permissions"]), adminPerms) {
			t.Fatalf("admin = %v", a.Obj("user"))
		}
	})
	t.Run("LoginRefused", func(t *testing.T) {
		wrong := s.Do(t, testsilo.Request{Method: "POST", Path: loginPath, Tenant: slug, Body: creds("ann@example.com", "wrong password 1")})
		unknown := s.Do(t, testsilo.Request{Method: "POST", Path: loginPath, Tenant: slug, Body: creds("nobody@example.com", "wrong password 1")})
		junk := s.Do(t, testsilo.Request{Method: "POST", Path: loginPath, Tenant: slug, Body: creds("not-an-email", "wrong password 1")})
		for _, r := range []*testsilo.Response{wrong, unknown, junk} {
			r.Require(t, 401, "INVALID_CREDENTIALS")
			if r.Header.Get("WWW-Authenticate") == "" {
				t.Fatal("no WWW-Authenticate")
			}
		}
		strip := func(r *testsilo.Response) string {
			e := r.JSON["error"].(map[string]any)
			delete(e, "requestId")
			b, _ := json.Marshal(r.JSON)
			return strconv.Itoa(r.Status) + string(b)
		}
		if strip(wrong) != strip(unknown) || strip(wrong) != strip(junk) {
			t.Fatalf("wrong password and unknown email differ:\n%s\n%s\n%s", wrong.Raw, unknown.Raw, junk.Raw)
		}
		r := s.Expect(t, 400, "VALIDATION_FAILED", testsilo.Request{Method: "POST", Path: loginPath, Tenant: slug, Body: creds("ann@example.com", strings.Repeat("p", 73))})
		if !r.Details()["password"] {
			t.Fatalf("password not named: %s", r.Raw)
		}
		// The 72-byte prefix of a long password is no way in.
		s.Expect(t, 400, "VALIDATION_FAILED", testsilo.Request{Method: "POST", Path: loginPath, Tenant: slug, Body: creds("ann@example.com", password+strings.Repeat("x", 60))})
		s.Expect(t, 400, "VALIDATION_FAILED", testsilo.Request{Method: "POST", Path: loginPath, Tenant: slug, Body: creds("", password)})
		// A central admin's credentials are no tenant user's.
		s.Expect(t, 401, "INVALID_CREDENTIALS", testsilo.Request{Method: "POST", Path: loginPath, Tenant: slug, Body: creds("root@example.com", password)})
	})
	t.Run("RateLimited", func(t *testing.T) {
		limited := s.instance(t, func(o *serverOptions) { o.perEmail = 3 })
		for range 3 {
			limited.Expect(t, 401, "INVALID_CREDENTIALS", testsilo.Request{Method: "POST", Path: loginPath, Tenant: slug, Body: creds("open@example.com", "wrong password 1")})
		}
		done := s.snapshot(t, db)
		for _, pw := range []string{"wrong password 1", password} {
			r := limited.Expect(t, 429, "RATE_LIMITED", testsilo.Request{Method: "POST", Path: loginPath, Tenant: slug, Body: creds("OPEN@example.com", pw)})
			if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
				t.Fatalf("Retry-After = %q", r.Header.Get("Retry-After"))
			}
		}
		done()
		// Another email is not limited.
		limited.TenantLogin(t, slug, "ann@example.com", password)
	})
	t.Run("RefreshRotation", func(t *testing.T) {
		r1 := session.Str("refresh_token")
		r := s.Expect(t, 200, "", testsilo.Request{Method: "POST", Path: refreshPath, Tenant: slug, Body: map[string]string{"refresh_token": r1}})
		r2 := r.Str("refresh_token")
		if r2 == "" || r2 == r1 || r.Str("access_token") == "" || r.Obj("user")["id"] != annID || r.Obj("tenant")["slug"] != slug {
			t.Fatalf("refresh = %s", r.Raw)
		}
		resolvedAs(t, s.Do(t, testsilo.Request{Method: "GET", Path: mePath, Tenant: slug, Token: r.Str("access_token")}), slug)
		// Reuse of the spent token revokes the family, r2 included.
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "POST", Path: refreshPath, Tenant: slug, Body: map[string]string{"refresh_token": r1}})
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "POST", Path: refreshPath, Tenant: slug, Body: map[string]string{"refresh_token": r2}})
		done := s.snapshot(t, db)
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "POST", Path: refreshPath, Tenant: slug, Body: map[string]string{"refresh_token": "garbage"}})
		s.Expect(t, 400, "VALIDATION_FAILED", testsilo.Request{Method: "POST", Path: refreshPath, Tenant: slug, Body: map[string]string{"refresh_token": ""}})
		done()
		var live int
		root := testdb.Server(t)
		defer root.Close()
		if err := root.QueryRow("SELECT COUNT(*) FROM `"+db+"`.refresh_tokens WHERE user_id = ? AND revoked_at IS NULL", annID).Scan(&live); err != nil {
			t.Fatal(err)
		}
		if live != 1 { // the RateLimited subtest's session only
			t.Fatalf("%d unrevoked refresh tokens of ann, want 1", live)
		}
	})
	t.Run("Logout", func(t *testing.T) {
		r := s.TenantLogin(t, slug, "ann@example.com", password)
		rt := r.Str("refresh_token")
		s.Expect(t, 204, "", testsilo.Request{Method: "POST", Path: logoutPath, Tenant: slug, Body: map[string]string{"refresh_token": rt}})
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "POST", Path: refreshPath, Tenant: slug, Body: map[string]string{"refresh_token": rt}})
		// Unknown tokens are ignored; a missing one is refused.
		s.Expect(t, 204, "", testsilo.Request{Method: "POST", Path: logoutPath, Tenant: slug, Body: map[string]string{"refresh_token": "unknown-token"}})
		s.Expect(t, 400, "VALIDATION_FAILED", testsilo.Request{Method: "POST", Path: logoutPath, Tenant: slug, Body: map[string]string{}})
	})
	t.Run("RegisterRace", func(t *testing.T) {
		statuses := race(t, 8, func(i int) (*testsilo.Response, error) {
			email := "race@example.com"
			if i%2 == 1 {
				email = "RACE@Example.com"
			}
			return s.Send(testsilo.Request{Method: "POST", Path: registerPath, Body: signup(email, password), Tenant: slug})
		})
		if statuses[201] != 1 || statuses[409] != 7 {
			t.Fatalf("concurrent sign-ups of one email: %v, want one 201 and seven 409", statuses)
		}
		n := 0
		for _, u := range tenantUsers(t, db) {
			if u.email == "race@example.com" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d users race@example.com", n)
		}
	})
	t.Run("RefreshRace", func(t *testing.T) {
		rt := s.TenantLogin(t, slug, "race@example.com", password).Str("refresh_token")
		statuses := race(t, 8, func(int) (*testsilo.Response, error) {
			return s.Send(testsilo.Request{Method: "POST", Path: refreshPath, Body: map[string]string{"refresh_token": rt}, Tenant: slug})
		})
		if statuses[200] != 1 || statuses[401] != 7 {
			t.Fatalf("concurrent refreshes of one token: %v, want one 200 and seven 401", statuses)
		}
	})
	access := s.TenantLogin(t, slug, "ann@example.com", password).Str("access_token")
	t.Run("Me", func(t *testing.T) {
		r := s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: mePath, Tenant: slug, Token: access})
		u := r.Obj("user")
		if u["id"] != annID || u["email"] != "ann@example.com" || u["firstName"] != "Ann" || u["lastName"] != "Lee" ||
			!reflect.DeepEqual(strs(u["roles"]), []string{"member"}) || !reflect.DeepEqual(strs(u["permissions"]), memberPerms) {
			t.Fatalf("me = %s", r.Raw)
		}
		if tn := r.Obj("tenant"); tn["slug"] != slug || tn["name"] != tenantName(slug) {
			t.Fatalf("tenant = %v", tn)
		}
		if _, ok := r.JSON["impersonatedBy"]; ok {
			t.Fatalf("impersonatedBy on a plain session: %s", r.Raw)
		}
		for _, tok := range []string{"", "garbage", access + "x"} {
			r := s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: mePath, Tenant: slug, Token: tok})
			if r.Header.Get("WWW-Authenticate") == "" {
				t.Fatal("no WWW-Authenticate")
			}
		}
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: mePath, Tenant: slug, Header: map[string]string{"Authorization": "Basic YTpi"}})
	})
	t.Run("Config", func(t *testing.T) {
		get := func(tok string) string {
			t.Helper()
			r := s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: configPath, Tenant: slug, Token: tok})
			b, _ := json.Marshal(r.JSON["config"])
			if _, ok := r.JSON["config"].(map[string]any); !ok {
				t.Fatalf("config is not an object: %s", r.Raw)
			}
			return string(b)
		}
		if c := get(access); c != "{}" {
			t.Fatalf("initial config = %s", c)
		}
		cfg := map[string]any{"theme": "dark", "cols": []any{"a", "b"}, "nested": map[string]any{"n": 1.5, "ok": true}}
		r := s.Expect(t, 200, "", testsilo.Request{Method: "PUT", Path: configPath, Tenant: slug, Token: access, Body: map[string]any{"config": cfg}})
		want, _ := json.Marshal(cfg)
		if b, _ := json.Marshal(r.JSON["config"]); string(b) != string(want) {
			t.Fatalf("PUT answered %s", r.Raw)
		}
		if c := get(access); c != string(want) {
			t.Fatalf("config = %s, want %s", c, want)
		}
		// Exactly 64 KiB is allowed; a byte more is not.
		pad := func(n int) string { // a compact object of n bytes
			return `{"k":"` + strings.Repeat("x", n-8) + `"}`
		}
		big := pad(tenantdb.MaxConfigBytes)
		if len(big) != 64<<10 {
			t.Fatalf("len = %d", len(big))
		}
		s.Expect(t, 200, "", testsilo.Request{Method: "PUT", Path: configPath, Tenant: slug, Token: access, Body: `{"config":` + big + `}`})
		if c := get(access); len(c) != 64<<10 {
			t.Fatalf("stored config of %d bytes", len(c))
		}
		s.Expect(t, 200, "", testsilo.Request{Method: "PUT", Path: configPath, Tenant: slug, Token: access, Body: map[string]any{"config": cfg}})
		done := s.snapshot(t, db)
		s.Expect(t, 413, "BODY_TOO_LARGE", testsilo.Request{Method: "PUT", Path: configPath, Tenant: slug, Token: access, Body: `{"config":` + pad(tenantdb.MaxConfigBytes+1) + `}`})
		s.Expect(t, 413, "BODY_TOO_LARGE", testsilo.Request{Method: "PUT", Path: configPath, Tenant: slug, Token: access, Body: `{"config":` + pad(512<<10) + `}`})
		s.Expect(t, 413, "BODY_TOO_LARGE", testsilo.Request{Method: "PUT", Path: configPath, Tenant: slug, Token: access, Body: `{"config":` + pad(2<<20) + `}`})
		for _, body := range []string{`{"config":[1,2]}`, `{"config":"str"}`, `{"config":null}`, `{"config":42}`, `{"config":true}`, `{}`,
			`{"config":{},"extra":1}`, `[]`, `null`} {
			r := s.Do(t, testsilo.Request{Method: "PUT", Path: configPath, Tenant: slug, Token: access, Body: body})
			expect4xx(t, r)
			if r.Status != 400 {
				t.Fatalf("PUT %s: %d %s", body, r.Status, r.Raw)
			}
		}
		s.Expect(t, 400, "MALFORMED_JSON", testsilo.Request{Method: "PUT", Path: configPath, Tenant: slug, Token: access, Body: `{"config":{"a":`})
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "PUT", Path: configPath, Tenant: slug, Body: map[string]any{"config": cfg}})
		done()
		if c := get(access); c != string(want) {
			t.Fatalf("refused PUTs changed the config to %s", c)
		}
		t.Run("InvalidUTF8", func(t *testing.T) {
			done := s.snapshot(t, db)
			for _, body := range []string{"{\"config\":{\"a\":\"\xff\xfe\"}}", "{\"config\":{\"\xc3\x28\":1}}"} {
				s.Expect(t, 400, "MALFORMED_JSON", testsilo.Request{Method: "PUT", Path: configPath, Tenant: slug, Token: access, Body: body}) // bodies must be UTF-8
			}
			done()
		})
		// Another user has their own, empty config.
		admin := s.TenantLogin(t, slug, adminOf(slug), password).Str("access_token")
		if c := get(admin); c != "{}" {
			t.Fatalf("admin's config = %s", c)
		}
		s.Expect(t, 200, "", testsilo.Request{Method: "PUT", Path: configPath, Tenant: slug, Token: admin, Body: map[string]any{"config": map[string]any{"theme": "light"}}})
		if c := get(access); c != string(want) {
			t.Fatalf("admin's PUT changed ann's config to %s", c)
		}
	})
}

func TestTenantTokenBinding(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	super := s.AdminToken()
	alpha := s.Tenant(t, tenantOf("alpha"))
	bravo := s.Tenant(t, tenantOf("bravo"))
	alphaTok := s.TenantLogin(t, "alpha", adminOf("alpha"), password).Str("access_token")
	alphaAdmin := s.TenantLogin(t, "alpha", adminOf("alpha"), password).Obj("user")["id"].(string)

	t.Run("OtherTenant", func(t *testing.T) {
		done := s.snapshot(t, alpha.DatabaseName, bravo.DatabaseName)
		for _, h := range [][]string{{"x-tenant-id", "bravo"}, {"Host", "bravo.silo.test"}} {
			s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: mePath, Token: alphaTok, Header: headerMap(h)})
			s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: configPath, Token: alphaTok, Header: headerMap(h)})
			s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "PUT", Path: configPath, Token: alphaTok, Body: map[string]any{"config": map[string]any{}}, Header: headerMap(h)})
		}
		// Forged claims: audience of one tenant, tid of another; a central
		// admin flag; an unknown subject.
		forged := []string{}
		for _, c := range []struct {
			aud, sub string
			claims   token.Claims
		}{
			{token.TenantAudience("alpha"), alphaAdmin, token.Claims{TenantID: "bravo"}},
			{token.TenantAudience("alpha"), alphaAdmin, token.Claims{TenantID: ""}},
			{token.TenantAudience("alpha"), alphaAdmin, token.Claims{TenantID: "alpha", IsCentralAdmin: true}},
			{token.TenantAudience("alpha"), "00000000-0000-7000-8000-000000000000", token.Claims{TenantID: "alpha"}},
			{token.TenantAudience("alpha"), "not-a-uuid", token.Claims{TenantID: "alpha"}},
			{token.CentralAudience, alphaAdmin, token.Claims{TenantID: "alpha"}},
		} {
			tok, err := s.keys.Issue(c.aud, c.sub, c.claims)
			if err != nil {
				t.Fatal(err)
			}
			forged = append(forged, tok)
		}
		for i, tok := range forged {
			if r := s.Do(t, testsilo.Request{Method: "GET", Path: mePath, Tenant: "alpha", Token: tok}); r.Status != 401 {
				t.Fatalf("forged token %d: %d %s", i, r.Status, r.Raw)
			}
		}
		done()
	})
	t.Run("CentralAndTenantPlanes", func(t *testing.T) {
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: mePath, Tenant: "alpha", Token: super})
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: configPath, Tenant: "alpha", Token: super})
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: "/api/central/auth/me", Token: alphaTok})
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: tenantsPath, Token: alphaTok})
		// A tenant user's credentials are no central admin's.
		s.Expect(t, 401, "INVALID_CREDENTIALS", testsilo.Request{Method: "POST", Path: "/api/central/auth/login", Body: creds(adminOf("alpha"), password)})
	})
	var dupAlpha, dupBravo string
	t.Run("SameEmailTwoTenants", func(t *testing.T) {
		dupAlpha = s.SignUp(t, "alpha", "dup@example.com", "alpha password 1")
		dupBravo = s.SignUp(t, "bravo", "DUP@example.com", "bravo password 1")
		if dupAlpha == dupBravo {
			t.Fatal("same user id in two tenants")
		}
		a := s.TenantLogin(t, "alpha", "dup@example.com", "alpha password 1")
		b := s.TenantLogin(t, "bravo", "dup@example.com", "bravo password 1")
		if a.Obj("user")["id"] != dupAlpha || b.Obj("user")["id"] != dupBravo {
			t.Fatalf("logins: %s / %s", a.Raw, b.Raw)
		}
		s.Expect(t, 401, "INVALID_CREDENTIALS", testsilo.Request{Method: "POST", Path: loginPath, Tenant: "alpha", Body: creds("dup@example.com", "bravo password 1")})
		s.Expect(t, 401, "INVALID_CREDENTIALS", testsilo.Request{Method: "POST", Path: loginPath, Tenant: "bravo", Body: creds("dup@example.com", "alpha password 1")})
		// Each token only at its own tenant, though the email exists in both.
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: mePath, Tenant: "bravo", Token: a.Str("access_token")})
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: mePath, Tenant: "alpha", Token: b.Str("access_token")})
		// ... and each refresh token only at its own tenant.
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "POST", Path: refreshPath, Tenant: "bravo", Body: map[string]string{"refresh_token": a.Str("refresh_token")}})
		s.Expect(t, 200, "", testsilo.Request{Method: "POST", Path: refreshPath, Tenant: "alpha", Body: map[string]string{"refresh_token": a.Str("refresh_token")}})
		// The per-email rate limit is counted per tenant.
		limited := s.instance(t, func(o *serverOptions) { o.perEmail = 2 })
		for range 2 {
			limited.Expect(t, 401, "INVALID_CREDENTIALS", testsilo.Request{Method: "POST", Path: loginPath, Tenant: "alpha", Body: creds("dup@example.com", "nope nope 1")})
		}
		limited.Expect(t, 429, "RATE_LIMITED", testsilo.Request{Method: "POST", Path: loginPath, Tenant: "alpha", Body: creds("dup@example.com", "alpha password 1")})
		limited.TenantLogin(t, "bravo", "dup@example.com", "bravo password 1")
	})
	t.Run("DeletedUser", func(t *testing.T) {
		id := s.SignUp(t, "alpha", "temp@example.com", password)
		r := s.TenantLogin(t, "alpha", "temp@example.com", password)
		resolvedAs(t, s.Do(t, testsilo.Request{Method: "GET", Path: mePath, Tenant: "alpha", Token: r.Str("access_token")}), "alpha")
		rootExec(t, alpha.DatabaseName, "DELETE FROM {db}.users WHERE id = ?", id)
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: mePath, Tenant: "alpha", Token: r.Str("access_token")})
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: configPath, Tenant: "alpha", Token: r.Str("access_token")})
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "POST", Path: refreshPath, Tenant: "alpha", Body: map[string]string{"refresh_token": r.Str("refresh_token")}})
		s.Expect(t, 401, "INVALID_CREDENTIALS", testsilo.Request{Method: "POST", Path: loginPath, Tenant: "alpha", Body: creds("temp@example.com", password)})
	})
	t.Run("DeactivatedUser", func(t *testing.T) {
		id := s.SignUp(t, "alpha", "off@example.com", password)
		r := s.TenantLogin(t, "alpha", "off@example.com", password)
		resolvedAs(t, s.Do(t, testsilo.Request{Method: "GET", Path: mePath, Tenant: "alpha", Token: r.Str("access_token")}), "alpha")
		rootExec(t, alpha.DatabaseName, "UPDATE {db}.users SET is_active = 0 WHERE id = ?", id)
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: mePath, Tenant: "alpha", Token: r.Str("access_token")})
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "PUT", Path: configPath, Tenant: "alpha", Token: r.Str("access_token"), Body: map[string]any{"config": map[string]any{"a": 1}}})
		s.Expect(t, 401, "INVALID_CREDENTIALS", testsilo.Request{Method: "POST", Path: loginPath, Tenant: "alpha", Body: creds("off@example.com", password)})
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "POST", Path: refreshPath, Tenant: "alpha", Body: map[string]string{"refresh_token": r.Str("refresh_token")}})
		// A wrong password answers the same (TestInactiveLoginIsNoOracle).
		s.Expect(t, 401, "INVALID_CREDENTIALS", testsilo.Request{Method: "POST", Path: loginPath, Tenant: "alpha", Body: creds("off@example.com", "wrong password 1")})
		var live int
		root := testdb.Server(t)
		defer root.Close()
		if err := root.QueryRow("SELECT COUNT(*) FROM `"+alpha.DatabaseName+"`.refresh_tokens WHERE user_id = ? AND revoked_at IS NULL", id).Scan(&live); err != nil {
			t.Fatal(err)
		}
		if live != 0 {
			t.Fatalf("%d live refresh tokens of a deactivated user", live)
		}
	})
	t.Run("Impersonation", func(t *testing.T) {
		r := s.Expect(t, 200, "", testsilo.Request{Method: "POST", Path: tenantsPath + "/alpha/impersonate", Token: super, Body: map[string]string{"userId": dupAlpha}})
		tok := r.Str("access_token")
		me := s.Do(t, testsilo.Request{Method: "GET", Path: mePath, Tenant: "alpha", Token: tok})
		resolvedAs(t, me, "alpha")
		superID := s.Do(t, testsilo.Request{Method: "GET", Path: "/api/central/auth/me", Token: super}).Obj("user")["id"]
		if me.Obj("user")["id"] != dupAlpha || me.JSON["impersonatedBy"] != superID {
			t.Fatalf("impersonated me = %s", me.Raw)
		}
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: mePath, Tenant: "bravo", Token: tok})
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: "/api/central/auth/me", Token: tok})
	})
}

// stallProxy forwards TCP connections to target until stall is called;
// from then on it accepts and reads but answers nothing, like a central
// database that hangs rather than refusing connections.
type stallProxy struct {
	ln      net.Listener
	mu      sync.Mutex
	stalled bool
	conns   []net.Conn
}

func newStallProxy(t testing.TB, target string) *stallProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if !p.track(c) {
				go p.pipe(io.Discard, c)
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.track(up)
			go p.pipe(up, c)
			go p.pipe(c, up)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range p.conns {
			c.Close()
		}
	})
	return p
}

// track remembers c for cleanup and reports whether the proxy forwards.
func (p *stallProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conns = append(p.conns, c)
	return !p.stalled
}

func (p *stallProxy) forwarding() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.stalled
}

func (p *stallProxy) stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stalled = true
}

func (p *stallProxy) pipe(dst io.Writer, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && p.forwarding() {
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func TestTenantCacheStaleDuringCentralStall(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.Tenant(t, tenantOf("steady"))
	tok := s.TenantLogin(t, "steady", adminOf("steady"), password).Str("access_token")
	proxy := newStallProxy(t, s.cfg.Addr)
	const requestTimeout = 2 * time.Second
	inst := s.instance(t, func(o *serverOptions) {
		o.timeout = requestTimeout
		o.central = func(c *mysql.Config) { c.Addr = proxy.ln.Addr().String(); c.ReadTimeout = 8 * time.Second }
	})
	resolvedAs(t, inst.Do(t, testsilo.Request{Method: "GET", Path: mePath, Tenant: "steady", Token: tok}), "steady")
	// A change made through this instance marks its cache stale; then the
	// central database hangs before the next request.
	name := "Steady Renamed"
	if _, err := inst.prov.Update(context.Background(), "steady", &name, nil); err != nil {
		t.Fatal(err)
	}
	proxy.stall()
	start := time.Now()
	r := inst.Do(t, testsilo.Request{Method: "GET", Path: mePath, Tenant: "steady", Token: tok})
	took := time.Since(start)
	resolvedAs(t, r, "steady")
	if took > requestTimeout+time.Second {
		t.Fatalf("a known tenant took %v during a central stall (request timeout %v)", took, requestTimeout)
	}
	start = time.Now()
	inst.Expect(t, 404, "TENANT_NOT_FOUND", testsilo.Request{Method: "GET", Path: mePath, Tenant: randomSlug(), Token: tok})
	if took := time.Since(start); took > requestTimeout+time.Second {
		t.Fatalf("an unknown tenant took %v during a central stall", took)
	}
}

func TestTenantMetrics(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	super := s.AdminToken()
	s.Tenant(t, tenantOf("metered"))
	s.Tenant(t, tenantOf("counted"))
	// An instance with room for one pool, so switching tenants evicts.
	m := s.instance(t, func(o *serverOptions) { o.poolsMax = 1 })
	secret := randomSlug()
	for range 2 {
		m.TenantLogin(t, "metered", adminOf("metered"), password)
	}
	m.Expect(t, 401, "INVALID_CREDENTIALS", testsilo.Request{Method: "POST", Path: loginPath, Tenant: "metered", Body: creds(adminOf("metered"), "wrong password 1")})
	tok := m.TenantLogin(t, "counted", adminOf("counted"), password).Str("access_token")
	resolvedAs(t, m.Do(t, testsilo.Request{Method: "GET", Path: mePath, Token: tok, Host: "counted.silo.test"}), "counted")
	m.Expect(t, 404, "TENANT_NOT_FOUND", testsilo.Request{Method: "GET", Path: mePath, Tenant: secret})
	m.Expect(t, 404, "NOT_FOUND", testsilo.Request{Method: "GET", Path: "/api/" + secret + "/records"})
	m.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: tenantsPath + "/metered", Token: super})

	r := m.Do(t, testsilo.Request{Method: "GET", Path: "/metrics"})
	if r.Status != 200 {
		t.Fatalf("metrics: %d", r.Status)
	}
	values := map[string]float64{}
	for _, line := range strings.Split(string(r.Raw), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad line %q", line)
		}
		values[line[:i]] = v
		if labels, ok := strings.CutPrefix(line[strings.IndexAny(line, "{ "):], "{"); ok {
			for _, bad := range []string{"metered", "counted", secret, "/records", "silo.test"} {
				if strings.Contains(labels, bad) {
					t.Fatalf("metric label holds %q: %s", bad, line)
				}
			}
		}
	}
	for name, min := range map[string]float64{
		`silo_tenant_pools_open{server="default"}`:                        1,
		`silo_tenant_connections_open{server="default"}`:                  1,
		`silo_tenant_connections_in_use{server="default"}`:                0,
		`silo_tenant_pool_evictions_total{server="default"}`:              1,
		"silo_catalog_cache_hits_total":                                   5,
		"silo_catalog_cache_misses_total":                                 1,
		`silo_logins_total{outcome="success",plane="tenant"}`:             3,
		`silo_logins_total{outcome="invalid_credentials",plane="tenant"}`: 1,
	} {
		v, ok := values[name]
		if !ok {
			t.Fatalf("no %s in\n%s", name, r.Raw)
		}
		if v < min {
			t.Errorf("%s = %v, want at least %v", name, v, min)
		}
	}
	if v := values[`silo_logins_total{outcome="success",plane="tenant"}`]; v != 3 {
		t.Errorf("tenant login successes = %v, want 3", v)
	}
	if v := values[`silo_logins_total{outcome="invalid_credentials",plane="tenant"}`]; v != 1 {
		t.Errorf("tenant invalid credentials = %v, want 1", v)
	}
	if v := values[`silo_tenant_pools_open{server="default"}`]; v != 1 {
		t.Errorf("pools open = %v with MaxPools 1", v)
	}
	if _, ok := values[`silo_http_requests_total{method="GET",route="unmatched",status="404"}`]; !ok {
		t.Errorf("unmatched route not counted as such:\n%s", r.Raw)
	}
}
