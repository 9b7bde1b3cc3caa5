package router_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/internal/lib/token"
	"github.com/silo-dev/silo/internal/testsupport/testdb"
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

// newTenant creates an active tenant through the provisioner, with a first
// tenant_admin adminOf(slug) whose password is password.
func (s *server) newTenant(t testing.TB, slug string, domains ...string) *central.Tenant {
	t.Helper()
	ctx := central.WithActor(context.Background(), central.Actor{Kind: "system"})
	tn, err := s.prov.Create(ctx, provisioning.NewTenant{Slug: slug, Name: tenantName(slug), Domains: domains,
		Admin: &provisioning.NewAdmin{Email: adminOf(slug), Password: password, FirstName: "Grace", LastName: "Hopper"}})
	if err != nil {
		t.Fatalf("create tenant %s: %v", slug, err)
	}
	if tn.Status != central.StatusActive {
		t.Fatalf("tenant %s is %s", slug, tn.Status)
	}
	return tn
}

// tc calls a tenant-plane route; slug, if not empty, is sent as x-tenant-id.
func (s *server) tc(t testing.TB, method, path, slug, bearer string, body any, headers ...string) response {
	t.Helper()
	if slug != "" {
		headers = append([]string{"x-tenant-id", slug}, headers...)
	}
	r, err := s.do(method, path, bearer, body, headers...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func creds(email, pw string) map[string]string {
	return map[string]string{"email": email, "password": pw}
}

func signup(email, pw string) map[string]any {
	return map[string]any{"email": email, "password": pw, "firstName": "Ann", "lastName": "Lee"}
}

// tlogin logs a tenant user in and returns the session.
func (s *server) tlogin(t testing.TB, slug, email, pw string) response {
	t.Helper()
	return answer(s.client().TenantLogin(t, slug, email, pw))
}

// register signs a member up and returns their id.
func (s *server) register(t testing.TB, slug, email, pw string) string {
	t.Helper()
	r := s.tc(t, "POST", registerPath, slug, "", signup(email, pw))
	expect(t, r, 201, "")
	return r.user()["id"].(string)
}

// resolvedAs fails unless r is a /api/auth/me answer of tenant slug.
func resolvedAs(t testing.TB, r response, slug string) {
	t.Helper()
	expect(t, r, 200, "")
	if got, _ := r.tenant()["slug"].(string); got != slug {
		t.Fatalf("resolved tenant %q, want %q: %s", got, slug, r.raw)
	}
}

// expect4xx fails unless r is a client error in the API.md envelope.
func expect4xx(t testing.TB, r response) {
	t.Helper()
	if r.status < 400 || r.status > 499 {
		t.Fatalf("status = %d, want 4xx; body %s", r.status, r.raw)
	}
	expect(t, r, r.status, r.code())
	if r.code() == "" {
		t.Fatalf("no error code: %s", r.raw)
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

// rawRequest sends a hand-written HTTP/1.1 request (for header bytes the Go
// client refuses to send) and returns the status and body.
func (s *server) rawRequest(t testing.TB, req string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b strings.Builder
	_, _ = bufio.NewReader(res.Body).WriteTo(&b)
	return res.StatusCode, b.String()
}

func TestTenantResolution(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	super := s.bootstrap()
	acme := s.newTenant(t, "acme", "acme.example.org")
	beta := s.newTenant(t, "beta")
	acmeTok := s.tlogin(t, "acme", adminOf("acme"), password).str("access_token")
	betaTok := s.tlogin(t, "beta", adminOf("beta"), password).str("access_token")
	me := func(t *testing.T, tok string, headers ...string) response {
		t.Helper()
		return s.tc(t, "GET", mePath, "", tok, nil, headers...)
	}
	t.Run("Header", func(t *testing.T) {
		resolvedAs(t, me(t, acmeTok, "x-tenant-id", "acme"), "acme")
		resolvedAs(t, me(t, betaTok, "X-Tenant-ID", "beta"), "beta")
		r := me(t, acmeTok, "x-tenant-id", "acme")
		if r.tenant()["name"] != tenantName("acme") {
			t.Fatalf("tenant = %v", r.tenant())
		}
	})
	t.Run("Subdomain", func(t *testing.T) {
		for _, host := range []string{"acme.silo.test", "acme.silo.test:8443", "ACME.Silo.Test", "acme.silo.test.", "Acme.SILO.test.:443"} {
			resolvedAs(t, me(t, acmeTok, "Host", host), "acme")
		}
		resolvedAs(t, me(t, betaTok, "Host", "beta.silo.test"), "beta")
		// The subdomain's tenant, not another's token.
		expect(t, me(t, betaTok, "Host", "acme.silo.test"), 401, "UNAUTHENTICATED")
	})
	t.Run("CustomDomain", func(t *testing.T) {
		for _, host := range []string{"acme.example.org", "ACME.Example.ORG:8443", "acme.example.org."} {
			resolvedAs(t, me(t, acmeTok, "Host", host), "acme")
		}
		// A domain change applies at once on this instance.
		r := s.call("PATCH", tenantsPath+"/acme", super, map[string]any{"domains": []string{"shop.acme.example", "www.acme.example"}})
		expect(t, r, 200, "")
		resolvedAs(t, me(t, acmeTok, "Host", "shop.acme.example"), "acme")
		resolvedAs(t, me(t, acmeTok, "Host", "WWW.acme.example:80"), "acme")
		// The old domain names no tenant any more.
		r = me(t, acmeTok, "Host", "acme.example.org")
		expect(t, r, 400, "TENANT_ID_REQUIRED")
		// ... but the header still works from it.
		resolvedAs(t, me(t, acmeTok, "Host", "acme.example.org", "x-tenant-id", "acme"), "acme")
		// Mapping the domain to another tenant moves it at once.
		expect(t, s.call("PATCH", tenantsPath+"/acme", super, map[string]any{"domains": []string{"www.acme.example"}}), 200, "")
		expect(t, s.call("PATCH", tenantsPath+"/beta", super, map[string]any{"domains": []string{"shop.acme.example"}}), 200, "")
		resolvedAs(t, me(t, betaTok, "Host", "shop.acme.example"), "beta")
		expect(t, me(t, acmeTok, "Host", "shop.acme.example"), 401, "UNAUTHENTICATED")
	})
	done := s.snapshot(t, acme.DatabaseName, beta.DatabaseName)
	t.Run("NoTenant", func(t *testing.T) {
		for _, host := range []string{"localhost", "localhost:8080", "127.0.0.1", "127.0.0.1:9", "[::1]:80", "[::1]",
			"silo.test", "SILO.test.", "silo.test:443", "unmapped.example.com", ""} {
			for _, tok := range []string{"", acmeTok} {
				r := me(t, tok, "Host", host)
				expect(t, r, 400, "TENANT_ID_REQUIRED")
				if e := r.body["error"].(map[string]any); e["message"] != "Tenant ID is required" {
					t.Fatalf("host %q: message %q", host, e["message"])
				}
			}
		}
		// The default host of the test client is 127.0.0.1:port.
		expect(t, s.tc(t, "POST", loginPath, "", "", creds(adminOf("acme"), password)), 400, "TENANT_ID_REQUIRED")
		expect(t, s.tc(t, "POST", registerPath, "", "", signup("new@example.com", password)), 400, "TENANT_ID_REQUIRED")
	})
	t.Run("Mismatch", func(t *testing.T) {
		for _, h := range [][]string{
			{"x-tenant-id", "beta", "Host", "acme.silo.test"},
			{"x-tenant-id", "acme", "Host", "beta.silo.test:8443"},
			{"x-tenant-id", "beta", "Host", "www.acme.example"},
			{"x-tenant-id", "acme", "Host", "shop.acme.example"},
		} {
			for _, tok := range []string{"", acmeTok, betaTok} {
				expect(t, me(t, tok, h...), 400, "TENANT_MISMATCH")
			}
			expect(t, s.tc(t, "POST", loginPath, "", "", creds(adminOf("acme"), password), h...), 400, "TENANT_MISMATCH")
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
				expect(t, me(t, tok, h...), 404, "TENANT_NOT_FOUND")
			}
			expect(t, s.tc(t, "POST", loginPath, "", "", creds(adminOf("acme"), password), h...), 404, "TENANT_NOT_FOUND")
		}
	})
	t.Run("UnknownHeaderOnTenantHost", func(t *testing.T) {
		// Refused either way; API.md (and the resolver's own comment: "only
		// two different known tenants clash") make it 404, not a mismatch.
		for _, host := range []string{"acme.silo.test", "www.acme.example"} {
			expect4xx(t, me(t, acmeTok, "x-tenant-id", "nobody-here", "Host", host))
		}
		for _, host := range []string{"acme.silo.test", "www.acme.example"} {
			expect(t, me(t, acmeTok, "x-tenant-id", "nobody-here", "Host", host), 404, "TENANT_NOT_FOUND")
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
			status, body := s.rawRequest(t, "GET "+mePath+" HTTP/1.1\r\nHost: localhost\r\nx-tenant-id: "+v+"\r\nConnection: close\r\n\r\n")
			if status < 400 || status > 499 {
				t.Fatalf("header %q: status %d, body %s", v, status, body)
			}
		}
		// A tab inside the value does reach Silo.
		status, body := s.rawRequest(t, "GET "+mePath+" HTTP/1.1\r\nHost: localhost\r\nx-tenant-id: ac\tme\r\nConnection: close\r\n\r\n")
		if status != 404 || !strings.Contains(body, `"TENANT_NOT_FOUND"`) {
			t.Fatalf("tab in header: status %d, body %s", status, body)
		}
	})
	t.Run("ForwardedHostIgnoredByDefault", func(t *testing.T) {
		expect(t, me(t, acmeTok, "X-Forwarded-Host", "acme.silo.test"), 400, "TENANT_ID_REQUIRED")
		expect(t, me(t, acmeTok, "Host", "beta.silo.test", "X-Forwarded-Host", "acme.silo.test"), 401, "UNAUTHENTICATED")
		resolvedAs(t, me(t, betaTok, "Host", "beta.silo.test", "X-Forwarded-Host", "acme.silo.test"), "beta")
		// A proxy range that does not hold the client is not trusted either.
		other := s.instance(t, func(o *serverOptions) { o.trustedProxies = []string{"10.0.0.0/8"} })
		expect(t, other.tc(t, "GET", mePath, "", acmeTok, nil, "X-Forwarded-Host", "acme.silo.test"), 400, "TENANT_ID_REQUIRED")
	})
	t.Run("ForwardedHostFromTrustedProxy", func(t *testing.T) {
		p := s.instance(t, func(o *serverOptions) { o.trustedProxies = []string{"127.0.0.1/32"} })
		for _, fwd := range []string{"acme.silo.test", "ACME.silo.test:8443", "acme.silo.test, proxy.internal", "www.acme.example"} {
			resolvedAs(t, p.tc(t, "GET", mePath, "", acmeTok, nil, "X-Forwarded-Host", fwd), "acme")
			resolvedAs(t, p.tc(t, "GET", mePath, "", acmeTok, nil, "Host", "beta.silo.test", "X-Forwarded-Host", fwd), "acme")
		}
		expect(t, p.tc(t, "GET", mePath, "beta", betaTok, nil, "X-Forwarded-Host", "acme.silo.test"), 400, "TENANT_MISMATCH")
		expect(t, p.tc(t, "GET", mePath, "", "", nil, "X-Forwarded-Host", "nobody-here.silo.test"), 404, "TENANT_NOT_FOUND")
		expect(t, p.tc(t, "GET", mePath, "", "", nil, "X-Forwarded-Host", "silo.test"), 400, "TENANT_ID_REQUIRED")
		// Without the header the Host is used as usual.
		resolvedAs(t, p.tc(t, "GET", mePath, "", betaTok, nil, "Host", "beta.silo.test"), "beta")
	})
	done()
	s.requireClean(t)
}

func TestTenantUnknownCostsNoCentralQuery(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	known := s.newTenant(t, "known")
	tok := s.tlogin(t, "known", adminOf("known"), password).str("access_token")

	// A second instance with a central pool of its own, which it alone
	// loses below; no poller runs, so only requests could query.
	inst := s.instance(t)
	resolvedAs(t, inst.tc(t, "GET", mePath, "known", tok, nil), "known")
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
				r, err := inst.do("GET", mePath, tok, nil, headers...)
				switch {
				case err != nil:
					errs <- err.Error()
				case r.status != 404 || r.code() != "TENANT_NOT_FOUND":
					errs <- fmt.Sprintf("%v: %d %s", headers, r.status, r.raw)
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
		resolvedAs(t, inst.tc(t, "GET", mePath, "known", tok, nil), "known")
		if n := inst.queries.Load() - before; n != 0 {
			t.Fatalf("a known tenant cost %d central queries", n)
		}
	})
	t.Run("CentralDown", func(t *testing.T) {
		if err := inst.db.Close(); err != nil {
			t.Fatal(err)
		}
		expect(t, inst.call("GET", "/readyz", "", nil), 503, "DATABASE_UNAVAILABLE")
		unknowns(t, 200)
		resolvedAs(t, inst.tc(t, "GET", mePath, "known", tok, nil), "known")
		resolvedAs(t, inst.tc(t, "GET", mePath, "", tok, nil, "Host", "known.silo.test"), "known")
		// The tenant's own database still serves its users.
		r := inst.tc(t, "POST", loginPath, "known", "", creds(adminOf("known"), password))
		expect(t, r, 200, "")
		expect(t, inst.tc(t, "POST", registerPath, "known", "", signup("late@example.com", password)), 201, "")
	})
	if us := tenantUsers(t, known.DatabaseName); len(us) != 2 {
		t.Fatalf("tenant users = %+v", us)
	}
}

// race runs n calls at once and counts their statuses; transport errors
// and answers without the error envelope fail the test.
func race(t *testing.T, n int, call func(i int) (response, error)) map[int]int {
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
			case r.status >= 300 && r.code() == "":
				problems = append(problems, r.raw)
			default:
				statuses[r.status]++
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
	super := s.bootstrap()
	pause := s.newTenant(t, "pause")
	gone := s.newTenant(t, "gone")
	tok := s.tlogin(t, "pause", adminOf("pause"), password)
	access, refreshTok := tok.str("access_token"), tok.str("refresh_token")
	goneTok := s.tlogin(t, "gone", adminOf("gone"), password).str("access_token")

	// A second instance following the catalog as serve.go does.
	inst := s.instance(t, func(o *serverOptions) { o.background = true })
	resolvedAs(t, inst.tc(t, "GET", mePath, "pause", access, nil), "pause")
	resolvedAs(t, inst.tc(t, "GET", mePath, "gone", goneTok, nil), "gone")

	answer := func(srv *server, slug, tok string) func() response {
		return func() response {
			r, err := srv.do("GET", mePath, tok, nil, "x-tenant-id", slug)
			if err != nil {
				return response{raw: err.Error()}
			}
			return r
		}
	}

	t.Run("Suspended", func(t *testing.T) {
		r := s.call("POST", tenantsPath+"/pause/suspend", super, nil)
		expect(t, r, 200, "")
		suspended := time.Now()
		// This instance refuses at once, token or not, on every route.
		done := s.snapshot(t, pause.DatabaseName)
		for _, h := range [][]string{{"x-tenant-id", "pause"}, {"Host", "pause.silo.test"}} {
			expect(t, s.tc(t, "GET", mePath, "", access, nil, h...), 403, "TENANT_SUSPENDED")
			expect(t, s.tc(t, "GET", configPath, "", access, nil, h...), 403, "TENANT_SUSPENDED")
			expect(t, s.tc(t, "PUT", configPath, "", access, map[string]any{"config": map[string]any{"a": 1}}, h...), 403, "TENANT_SUSPENDED")
			expect(t, s.tc(t, "GET", mePath, "", "", nil, h...), 403, "TENANT_SUSPENDED")
			expect(t, s.tc(t, "POST", loginPath, "", "", creds(adminOf("pause"), password), h...), 403, "TENANT_SUSPENDED")
			expect(t, s.tc(t, "POST", registerPath, "", "", signup("new@example.com", password), h...), 403, "TENANT_SUSPENDED")
			expect(t, s.tc(t, "POST", refreshPath, "", "", map[string]string{"refresh_token": refreshTok}, h...), 403, "TENANT_SUSPENDED")
			expect(t, s.tc(t, "POST", logoutPath, "", "", map[string]string{"refresh_token": refreshTok}, h...), 403, "TENANT_SUSPENDED")
		}
		done()
		// The other instance within a second.
		waitFor(t, suspended, time.Second, "second instance sees the suspension", func() (bool, string) {
			r := answer(inst, "pause", access)()
			if r.status != 200 && r.status != 403 {
				t.Fatalf("second instance answered %d %s", r.status, r.raw)
			}
			return r.status == 403 && r.code() == "TENANT_SUSPENDED", r.raw
		})
		expect(t, answer(inst, "pause", access)(), 403, "TENANT_SUSPENDED")
		// Other tenants are untouched.
		resolvedAs(t, answer(inst, "gone", goneTok)(), "gone")
	})
	t.Run("Resumed", func(t *testing.T) {
		expect(t, s.call("POST", tenantsPath+"/pause/resume", super, nil), 200, "")
		resumed := time.Now()
		resolvedAs(t, answer(s, "pause", access)(), "pause")
		waitFor(t, resumed, time.Second, "second instance sees the resumption", func() (bool, string) {
			r := answer(inst, "pause", access)()
			if r.status != 200 && r.status != 403 {
				t.Fatalf("second instance answered %d %s", r.status, r.raw)
			}
			return r.status == 200, r.raw
		})
		// The session survived the suspension.
		r := s.tc(t, "POST", refreshPath, "pause", "", map[string]string{"refresh_token": refreshTok})
		expect(t, r, 200, "")
		resolvedAs(t, inst.tc(t, "GET", mePath, "pause", r.str("access_token"), nil), "pause")
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
				return r.status == 503 && r.code() == "TENANT_UNAVAILABLE", r.raw
			})
			expect(t, answer(srv, "broken", "")(), 503, "TENANT_UNAVAILABLE")
			expect(t, srv.tc(t, "GET", mePath, "", "", nil, "Host", "broken.silo.test"), 503, "TENANT_UNAVAILABLE")
			expect(t, srv.tc(t, "POST", loginPath, "broken", "", creds(adminOf("broken"), password)), 503, "TENANT_UNAVAILABLE")
			expect(t, srv.tc(t, "POST", registerPath, "broken", "", signup("x@example.com", password)), 503, "TENANT_UNAVAILABLE")
		}
		if !s.databaseExists(t, brokenDB) {
			t.Fatal("the failed tenant's database is missing")
		}
		// Retried provisioning makes it usable.
		expect(t, s.call("POST", tenantsPath+"/broken/provision", super, nil), 200, "")
		s.tlogin(t, "broken", adminOf("broken"), password)
		waitFor(t, time.Now(), time.Second, "second instance sees the repaired tenant", func() (bool, string) {
			r := inst.tc(t, "POST", loginPath, "broken", "", creds(adminOf("broken"), password))
			return r.status == 200, r.raw
		})
	})
	t.Run("Deleted", func(t *testing.T) {
		expect(t, s.call("DELETE", tenantsPath+"/gone", super, nil), 204, "")
		deleted := time.Now()
		done := s.snapshot(t, gone.DatabaseName)
		for _, h := range [][]string{{"x-tenant-id", "gone"}, {"Host", "gone.silo.test"}} {
			expect(t, s.tc(t, "GET", mePath, "", goneTok, nil, h...), 404, "TENANT_NOT_FOUND")
			expect(t, s.tc(t, "POST", loginPath, "", "", creds(adminOf("gone"), password), h...), 404, "TENANT_NOT_FOUND")
			expect(t, s.tc(t, "POST", registerPath, "", "", signup("x@example.com", password), h...), 404, "TENANT_NOT_FOUND")
		}
		done()
		waitFor(t, deleted, time.Second, "second instance forgets the deleted tenant", func() (bool, string) {
			r := answer(inst, "gone", goneTok)()
			return r.status == 404 && r.code() == "TENANT_NOT_FOUND", r.raw
		})
		// Purged: still unknown.
		expect(t, s.call("DELETE", tenantsPath+"/gone?purge=true", super, nil), 204, "")
		expect(t, answer(s, "gone", goneTok)(), 404, "TENANT_NOT_FOUND")
	})
	resolvedAs(t, answer(s, "pause", access)(), "pause")
	s.requireClean(t)
}

func TestTenantUserAuth(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	shop := s.newTenant(t, "shop")
	db := shop.DatabaseName
	const slug = "shop"

	var annID string
	t.Run("Register", func(t *testing.T) {
		r := s.tc(t, "POST", registerPath, slug, "", signup("Ann@Example.COM", password))
		expect(t, r, 201, "")
		u := r.user()
		annID, _ = u["id"].(string)
		if len(annID) != 36 || u["email"] != "ann@example.com" || u["firstName"] != "Ann" || u["lastName"] != "Lee" {
			t.Fatalf("registered user = %s", r.raw)
		}
		if !reflect.DeepEqual(strs(u["roles"]), []string{"member"}) {
			t.Fatalf("roles = %v", u["roles"])
		}
		if strings.Contains(strings.ToLower(r.raw), "password") || strings.Contains(r.raw, "$2a$") {
			t.Fatalf("register leaks the hash: %s", r.raw)
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
			r := s.tc(t, "POST", registerPath, slug, "", body)
			expect(t, r, 400, "VALIDATION_FAILED")
			if !r.details()["role"] {
				t.Fatalf("role not named: %s", r.raw)
			}
		}
		for _, email := range []string{"ann@example.com", "ANN@EXAMPLE.COM", "Ann@example.com", adminOf(slug), strings.ToUpper(adminOf(slug))} {
			r := s.tc(t, "POST", registerPath, slug, "", signup(email, "another password 1"))
			expect(t, r, 409, "USER_EXISTS")
			if r.body["error"].(map[string]any)["message"] != "User already exists" {
				t.Fatalf("message: %s", r.raw)
			}
		}
		r := s.tc(t, "POST", registerPath, slug, "", signup("long@example.com", strings.Repeat("p", 73)))
		expect(t, r, 400, "VALIDATION_FAILED")
		if !r.details()["password"] {
			t.Fatalf("password not named: %s", r.raw)
		}
		expect(t, s.tc(t, "POST", registerPath, slug, "", signup("not-an-email", password)), 400, "VALIDATION_FAILED")
		expect(t, s.tc(t, "POST", registerPath, slug, "", `{"email":`), 400, "MALFORMED_JSON")
		expect(t, s.tc(t, "POST", registerPath, slug, "", "email=a", "Content-Type", "text/plain"), 415, "UNSUPPORTED_MEDIA_TYPE")
		// Sign-up closed by the tenant's settings.
		rootExec(t, db, "UPDATE {db}.settings SET allow_public_signup = 0")
		done = s.snapshot(t, db)
		expect(t, s.tc(t, "POST", registerPath, slug, "", signup("closed@example.com", password)), 403, "FORBIDDEN")
		done()
		rootExec(t, db, "UPDATE {db}.settings SET allow_public_signup = 1")
		s.register(t, slug, "open@example.com", password)
	})

	var session response
	t.Run("Login", func(t *testing.T) {
		r := s.tlogin(t, slug, "ANN@example.com", password)
		session = r
		if r.str("token_type") != "Bearer" || r.str("access_token") == "" || r.str("refresh_token") == "" {
			t.Fatalf("login = %s", r.raw)
		}
		if exp, _ := r.body["expires_in"].(float64); exp != 900 {
			t.Fatalf("expires_in = %v", r.body["expires_in"])
		}
		u := r.user()
		if u["id"] != annID || u["email"] != "ann@example.com" ||
			!reflect.DeepEqual(strs(u["roles"]), []string{"member"}) || !reflect.DeepEqual(strs(u["permissions"]), memberPerms) {
			t.Fatalf("user = %v", u)
		}
		if tn := r.tenant(); tn["slug"] != slug || tn["name"] != tenantName(slug) || len(tn) != 2 {
			t.Fatalf("tenant = %v", tn)
		}
		claims, err := s.keys.Verify(r.str("access_token"), token.TenantAudience(slug))
		if err != nil {
			t.Fatal(err)
		}
		if claims.TenantID != slug || claims.Subject != annID || claims.Email != "ann@example.com" || claims.IsCentralAdmin || claims.ID == "" {
			t.Fatalf("claims = %+v", claims)
		}
		if strings.Contains(r.raw, "$2a$") || strings.Contains(strings.ToLower(r.raw), "password") {
			t.Fatalf("login leaks: %s", r.raw)
		}
		a := s.tlogin(t, slug, adminOf(slug), password)
		if !reflect.DeepEqual(strs(a.user()["roles"]), []string{"tenant_admin"}) || !reflect.DeepEqual(strs(a.user()["permissions"]), adminPerms) {
			t.Fatalf("admin = %v", a.user())
		}
	})
	t.Run("LoginRefused", func(t *testing.T) {
		wrong := s.tc(t, "POST", loginPath, slug, "", creds("ann@example.com", "wrong password 1"))
		unknown := s.tc(t, "POST", loginPath, slug, "", creds("nobody@example.com", "wrong password 1"))
		junk := s.tc(t, "POST", loginPath, slug, "", creds("not-an-email", "wrong password 1"))
		for _, r := range []response{wrong, unknown, junk} {
			expect(t, r, 401, "INVALID_CREDENTIALS")
			if r.header.Get("WWW-Authenticate") == "" {
				t.Fatal("no WWW-Authenticate")
			}
		}
		strip := func(r response) string {
			e := r.body["error"].(map[string]any)
			delete(e, "requestId")
			b, _ := json.Marshal(r.body)
			return strconv.Itoa(r.status) + string(b)
		}
		if strip(wrong) != strip(unknown) || strip(wrong) != strip(junk) {
			t.Fatalf("wrong password and unknown email differ:\n%s\n%s\n%s", wrong.raw, unknown.raw, junk.raw)
		}
		r := s.tc(t, "POST", loginPath, slug, "", creds("ann@example.com", strings.Repeat("p", 73)))
		expect(t, r, 400, "VALIDATION_FAILED")
		if !r.details()["password"] {
			t.Fatalf("password not named: %s", r.raw)
		}
		// The 72-byte prefix of a long password is no way in.
		expect(t, s.tc(t, "POST", loginPath, slug, "", creds("ann@example.com", password+strings.Repeat("x", 60))), 400, "VALIDATION_FAILED")
		expect(t, s.tc(t, "POST", loginPath, slug, "", creds("", password)), 400, "VALIDATION_FAILED")
		// A central admin's credentials are no tenant user's.
		expect(t, s.tc(t, "POST", loginPath, slug, "", creds("root@example.com", password)), 401, "INVALID_CREDENTIALS")
	})
	t.Run("RateLimited", func(t *testing.T) {
		limited := s.instance(t, func(o *serverOptions) { o.perEmail = 3 })
		for range 3 {
			expect(t, limited.tc(t, "POST", loginPath, slug, "", creds("open@example.com", "wrong password 1")), 401, "INVALID_CREDENTIALS")
		}
		done := s.snapshot(t, db)
		for _, pw := range []string{"wrong password 1", password} {
			r := limited.tc(t, "POST", loginPath, slug, "", creds("OPEN@example.com", pw))
			expect(t, r, 429, "RATE_LIMITED")
			if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
				t.Fatalf("Retry-After = %q", r.header.Get("Retry-After"))
			}
		}
		done()
		// Another email is not limited.
		limited.tlogin(t, slug, "ann@example.com", password)
	})
	t.Run("RefreshRotation", func(t *testing.T) {
		r1 := session.str("refresh_token")
		r := s.tc(t, "POST", refreshPath, slug, "", map[string]string{"refresh_token": r1})
		expect(t, r, 200, "")
		r2 := r.str("refresh_token")
		if r2 == "" || r2 == r1 || r.str("access_token") == "" || r.user()["id"] != annID || r.tenant()["slug"] != slug {
			t.Fatalf("refresh = %s", r.raw)
		}
		resolvedAs(t, s.tc(t, "GET", mePath, slug, r.str("access_token"), nil), slug)
		// Reuse of the spent token revokes the family, r2 included.
		expect(t, s.tc(t, "POST", refreshPath, slug, "", map[string]string{"refresh_token": r1}), 401, "UNAUTHENTICATED")
		expect(t, s.tc(t, "POST", refreshPath, slug, "", map[string]string{"refresh_token": r2}), 401, "UNAUTHENTICATED")
		done := s.snapshot(t, db)
		expect(t, s.tc(t, "POST", refreshPath, slug, "", map[string]string{"refresh_token": "garbage"}), 401, "UNAUTHENTICATED")
		expect(t, s.tc(t, "POST", refreshPath, slug, "", map[string]string{"refresh_token": ""}), 400, "VALIDATION_FAILED")
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
		r := s.tlogin(t, slug, "ann@example.com", password)
		rt := r.str("refresh_token")
		expect(t, s.tc(t, "POST", logoutPath, slug, "", map[string]string{"refresh_token": rt}), 204, "")
		expect(t, s.tc(t, "POST", refreshPath, slug, "", map[string]string{"refresh_token": rt}), 401, "UNAUTHENTICATED")
		// Unknown tokens are ignored; a missing one is refused.
		expect(t, s.tc(t, "POST", logoutPath, slug, "", map[string]string{"refresh_token": "unknown-token"}), 204, "")
		expect(t, s.tc(t, "POST", logoutPath, slug, "", map[string]string{}), 400, "VALIDATION_FAILED")
	})
	t.Run("RegisterRace", func(t *testing.T) {
		statuses := race(t, 8, func(i int) (response, error) {
			email := "race@example.com"
			if i%2 == 1 {
				email = "RACE@Example.com"
			}
			return s.do("POST", registerPath, "", signup(email, password), "x-tenant-id", slug)
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
		rt := s.tlogin(t, slug, "race@example.com", password).str("refresh_token")
		statuses := race(t, 8, func(int) (response, error) {
			return s.do("POST", refreshPath, "", map[string]string{"refresh_token": rt}, "x-tenant-id", slug)
		})
		if statuses[200] != 1 || statuses[401] != 7 {
			t.Fatalf("concurrent refreshes of one token: %v, want one 200 and seven 401", statuses)
		}
	})
	access := s.tlogin(t, slug, "ann@example.com", password).str("access_token")
	t.Run("Me", func(t *testing.T) {
		r := s.tc(t, "GET", mePath, slug, access, nil)
		expect(t, r, 200, "")
		u := r.user()
		if u["id"] != annID || u["email"] != "ann@example.com" || u["firstName"] != "Ann" || u["lastName"] != "Lee" ||
			!reflect.DeepEqual(strs(u["roles"]), []string{"member"}) || !reflect.DeepEqual(strs(u["permissions"]), memberPerms) {
			t.Fatalf("me = %s", r.raw)
		}
		if tn := r.tenant(); tn["slug"] != slug || tn["name"] != tenantName(slug) {
			t.Fatalf("tenant = %v", tn)
		}
		if _, ok := r.body["impersonatedBy"]; ok {
			t.Fatalf("impersonatedBy on a plain session: %s", r.raw)
		}
		for _, tok := range []string{"", "garbage", access + "x"} {
			r := s.tc(t, "GET", mePath, slug, tok, nil)
			expect(t, r, 401, "UNAUTHENTICATED")
			if r.header.Get("WWW-Authenticate") == "" {
				t.Fatal("no WWW-Authenticate")
			}
		}
		expect(t, s.tc(t, "GET", mePath, slug, "", nil, "Authorization", "Basic YTpi"), 401, "UNAUTHENTICATED")
	})
	t.Run("Config", func(t *testing.T) {
		get := func(tok string) string {
			t.Helper()
			r := s.tc(t, "GET", configPath, slug, tok, nil)
			expect(t, r, 200, "")
			b, _ := json.Marshal(r.body["config"])
			if _, ok := r.body["config"].(map[string]any); !ok {
				t.Fatalf("config is not an object: %s", r.raw)
			}
			return string(b)
		}
		if c := get(access); c != "{}" {
			t.Fatalf("initial config = %s", c)
		}
		cfg := map[string]any{"theme": "dark", "cols": []any{"a", "b"}, "nested": map[string]any{"n": 1.5, "ok": true}}
		r := s.tc(t, "PUT", configPath, slug, access, map[string]any{"config": cfg})
		expect(t, r, 200, "")
		want, _ := json.Marshal(cfg)
		if b, _ := json.Marshal(r.body["config"]); string(b) != string(want) {
			t.Fatalf("PUT answered %s", r.raw)
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
		expect(t, s.tc(t, "PUT", configPath, slug, access, `{"config":`+big+`}`), 200, "")
		if c := get(access); len(c) != 64<<10 {
			t.Fatalf("stored config of %d bytes", len(c))
		}
		expect(t, s.tc(t, "PUT", configPath, slug, access, map[string]any{"config": cfg}), 200, "")
		done := s.snapshot(t, db)
		expect(t, s.tc(t, "PUT", configPath, slug, access, `{"config":`+pad(tenantdb.MaxConfigBytes+1)+`}`), 413, "BODY_TOO_LARGE")
		expect(t, s.tc(t, "PUT", configPath, slug, access, `{"config":`+pad(512<<10)+`}`), 413, "BODY_TOO_LARGE")
		expect(t, s.tc(t, "PUT", configPath, slug, access, `{"config":`+pad(2<<20)+`}`), 413, "BODY_TOO_LARGE")
		for _, body := range []string{`{"config":[1,2]}`, `{"config":"str"}`, `{"config":null}`, `{"config":42}`, `{"config":true}`, `{}`,
			`{"config":{},"extra":1}`, `[]`, `null`} {
			r := s.tc(t, "PUT", configPath, slug, access, body)
			expect4xx(t, r)
			if r.status != 400 {
				t.Fatalf("PUT %s: %d %s", body, r.status, r.raw)
			}
		}
		expect(t, s.tc(t, "PUT", configPath, slug, access, `{"config":{"a":`), 400, "MALFORMED_JSON")
		expect(t, s.tc(t, "PUT", configPath, slug, "", map[string]any{"config": cfg}), 401, "UNAUTHENTICATED")
		done()
		if c := get(access); c != string(want) {
			t.Fatalf("refused PUTs changed the config to %s", c)
		}
		t.Run("InvalidUTF8", func(t *testing.T) {
			done := s.snapshot(t, db)
			for _, body := range []string{"{\"config\":{\"a\":\"\xff\xfe\"}}", "{\"config\":{\"\xc3\x28\":1}}"} {
				r := s.tc(t, "PUT", configPath, slug, access, body)
				expect(t, r, 400, "MALFORMED_JSON") // bodies must be UTF-8
			}
			done()
		})
		// Another user has their own, empty config.
		admin := s.tlogin(t, slug, adminOf(slug), password).str("access_token")
		if c := get(admin); c != "{}" {
			t.Fatalf("admin's config = %s", c)
		}
		expect(t, s.tc(t, "PUT", configPath, slug, admin, map[string]any{"config": map[string]any{"theme": "light"}}), 200, "")
		if c := get(access); c != string(want) {
			t.Fatalf("admin's PUT changed ann's config to %s", c)
		}
	})
}

func TestTenantTokenBinding(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	super := s.bootstrap()
	alpha := s.newTenant(t, "alpha")
	bravo := s.newTenant(t, "bravo")
	alphaTok := s.tlogin(t, "alpha", adminOf("alpha"), password).str("access_token")
	alphaAdmin := s.tlogin(t, "alpha", adminOf("alpha"), password).user()["id"].(string)

	t.Run("OtherTenant", func(t *testing.T) {
		done := s.snapshot(t, alpha.DatabaseName, bravo.DatabaseName)
		for _, h := range [][]string{{"x-tenant-id", "bravo"}, {"Host", "bravo.silo.test"}} {
			expect(t, s.tc(t, "GET", mePath, "", alphaTok, nil, h...), 401, "UNAUTHENTICATED")
			expect(t, s.tc(t, "GET", configPath, "", alphaTok, nil, h...), 401, "UNAUTHENTICATED")
			expect(t, s.tc(t, "PUT", configPath, "", alphaTok, map[string]any{"config": map[string]any{}}, h...), 401, "UNAUTHENTICATED")
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
			if r := s.tc(t, "GET", mePath, "alpha", tok, nil); r.status != 401 {
				t.Fatalf("forged token %d: %d %s", i, r.status, r.raw)
			}
		}
		done()
	})
	t.Run("CentralAndTenantPlanes", func(t *testing.T) {
		expect(t, s.tc(t, "GET", mePath, "alpha", super, nil), 401, "UNAUTHENTICATED")
		expect(t, s.tc(t, "GET", configPath, "alpha", super, nil), 401, "UNAUTHENTICATED")
		expect(t, s.call("GET", "/api/central/auth/me", alphaTok, nil), 401, "UNAUTHENTICATED")
		expect(t, s.call("GET", tenantsPath, alphaTok, nil), 401, "UNAUTHENTICATED")
		// A tenant user's credentials are no central admin's.
		expect(t, s.call("POST", "/api/central/auth/login", "", creds(adminOf("alpha"), password)), 401, "INVALID_CREDENTIALS")
	})
	var dupAlpha, dupBravo string
	t.Run("SameEmailTwoTenants", func(t *testing.T) {
		dupAlpha = s.register(t, "alpha", "dup@example.com", "alpha password 1")
		dupBravo = s.register(t, "bravo", "DUP@example.com", "bravo password 1")
		if dupAlpha == dupBravo {
			t.Fatal("same user id in two tenants")
		}
		a := s.tlogin(t, "alpha", "dup@example.com", "alpha password 1")
		b := s.tlogin(t, "bravo", "dup@example.com", "bravo password 1")
		if a.user()["id"] != dupAlpha || b.user()["id"] != dupBravo {
			t.Fatalf("logins: %s / %s", a.raw, b.raw)
		}
		expect(t, s.tc(t, "POST", loginPath, "alpha", "", creds("dup@example.com", "bravo password 1")), 401, "INVALID_CREDENTIALS")
		expect(t, s.tc(t, "POST", loginPath, "bravo", "", creds("dup@example.com", "alpha password 1")), 401, "INVALID_CREDENTIALS")
		// Each token only at its own tenant, though the email exists in both.
		expect(t, s.tc(t, "GET", mePath, "bravo", a.str("access_token"), nil), 401, "UNAUTHENTICATED")
		expect(t, s.tc(t, "GET", mePath, "alpha", b.str("access_token"), nil), 401, "UNAUTHENTICATED")
		// ... and each refresh token only at its own tenant.
		expect(t, s.tc(t, "POST", refreshPath, "bravo", "", map[string]string{"refresh_token": a.str("refresh_token")}), 401, "UNAUTHENTICATED")
		expect(t, s.tc(t, "POST", refreshPath, "alpha", "", map[string]string{"refresh_token": a.str("refresh_token")}), 200, "")
		// The per-email rate limit is counted per tenant.
		limited := s.instance(t, func(o *serverOptions) { o.perEmail = 2 })
		for range 2 {
			expect(t, limited.tc(t, "POST", loginPath, "alpha", "", creds("dup@example.com", "nope nope 1")), 401, "INVALID_CREDENTIALS")
		}
		expect(t, limited.tc(t, "POST", loginPath, "alpha", "", creds("dup@example.com", "alpha password 1")), 429, "RATE_LIMITED")
		limited.tlogin(t, "bravo", "dup@example.com", "bravo password 1")
	})
	t.Run("DeletedUser", func(t *testing.T) {
		id := s.register(t, "alpha", "temp@example.com", password)
		r := s.tlogin(t, "alpha", "temp@example.com", password)
		resolvedAs(t, s.tc(t, "GET", mePath, "alpha", r.str("access_token"), nil), "alpha")
		rootExec(t, alpha.DatabaseName, "DELETE FROM {db}.users WHERE id = ?", id)
		expect(t, s.tc(t, "GET", mePath, "alpha", r.str("access_token"), nil), 401, "UNAUTHENTICATED")
		expect(t, s.tc(t, "GET", configPath, "alpha", r.str("access_token"), nil), 401, "UNAUTHENTICATED")
		expect(t, s.tc(t, "POST", refreshPath, "alpha", "", map[string]string{"refresh_token": r.str("refresh_token")}), 401, "UNAUTHENTICATED")
		expect(t, s.tc(t, "POST", loginPath, "alpha", "", creds("temp@example.com", password)), 401, "INVALID_CREDENTIALS")
	})
	t.Run("DeactivatedUser", func(t *testing.T) {
		id := s.register(t, "alpha", "off@example.com", password)
		r := s.tlogin(t, "alpha", "off@example.com", password)
		resolvedAs(t, s.tc(t, "GET", mePath, "alpha", r.str("access_token"), nil), "alpha")
		rootExec(t, alpha.DatabaseName, "UPDATE {db}.users SET is_active = 0 WHERE id = ?", id)
		expect(t, s.tc(t, "GET", mePath, "alpha", r.str("access_token"), nil), 401, "UNAUTHENTICATED")
		expect(t, s.tc(t, "PUT", configPath, "alpha", r.str("access_token"), map[string]any{"config": map[string]any{"a": 1}}), 401, "UNAUTHENTICATED")
		expect(t, s.tc(t, "POST", loginPath, "alpha", "", creds("off@example.com", password)), 401, "INVALID_CREDENTIALS")
		expect(t, s.tc(t, "POST", refreshPath, "alpha", "", map[string]string{"refresh_token": r.str("refresh_token")}), 401, "UNAUTHENTICATED")
		// A wrong password answers the same (TestInactiveLoginIsNoOracle).
		expect(t, s.tc(t, "POST", loginPath, "alpha", "", creds("off@example.com", "wrong password 1")), 401, "INVALID_CREDENTIALS")
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
		r := s.call("POST", tenantsPath+"/alpha/impersonate", super, map[string]string{"userId": dupAlpha})
		expect(t, r, 200, "")
		tok := r.str("access_token")
		me := s.tc(t, "GET", mePath, "alpha", tok, nil)
		resolvedAs(t, me, "alpha")
		superID := s.call("GET", "/api/central/auth/me", super, nil).user()["id"]
		if me.user()["id"] != dupAlpha || me.body["impersonatedBy"] != superID {
			t.Fatalf("impersonated me = %s", me.raw)
		}
		expect(t, s.tc(t, "GET", mePath, "bravo", tok, nil), 401, "UNAUTHENTICATED")
		expect(t, s.call("GET", "/api/central/auth/me", tok, nil), 401, "UNAUTHENTICATED")
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
	s.newTenant(t, "steady")
	tok := s.tlogin(t, "steady", adminOf("steady"), password).str("access_token")
	proxy := newStallProxy(t, s.cfg.Addr)
	const requestTimeout = 2 * time.Second
	inst := s.instance(t, func(o *serverOptions) {
		o.timeout = requestTimeout
		o.central = func(c *mysql.Config) { c.Addr = proxy.ln.Addr().String(); c.ReadTimeout = 8 * time.Second }
	})
	resolvedAs(t, inst.tc(t, "GET", mePath, "steady", tok, nil), "steady")
	// A change made through this instance marks its cache stale; then the
	// central database hangs before the next request.
	name := "Steady Renamed"
	if _, err := inst.prov.Update(context.Background(), "steady", &name, nil); err != nil {
		t.Fatal(err)
	}
	proxy.stall()
	start := time.Now()
	r := inst.tc(t, "GET", mePath, "steady", tok, nil)
	took := time.Since(start)
	resolvedAs(t, r, "steady")
	if took > requestTimeout+time.Second {
		t.Fatalf("a known tenant took %v during a central stall (request timeout %v)", took, requestTimeout)
	}
	start = time.Now()
	expect(t, inst.tc(t, "GET", mePath, randomSlug(), tok, nil), 404, "TENANT_NOT_FOUND")
	if took := time.Since(start); took > requestTimeout+time.Second {
		t.Fatalf("an unknown tenant took %v during a central stall", took)
	}
}

func TestTenantMetrics(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	super := s.bootstrap()
	s.newTenant(t, "metered")
	s.newTenant(t, "counted")
	// An instance with room for one pool, so switching tenants evicts.
	m := s.instance(t, func(o *serverOptions) { o.poolsMax = 1 })
	secret := randomSlug()
	for range 2 {
		m.tlogin(t, "metered", adminOf("metered"), password)
	}
	expect(t, m.tc(t, "POST", loginPath, "metered", "", creds(adminOf("metered"), "wrong password 1")), 401, "INVALID_CREDENTIALS")
	tok := m.tlogin(t, "counted", adminOf("counted"), password).str("access_token")
	resolvedAs(t, m.tc(t, "GET", mePath, "", tok, nil, "Host", "counted.silo.test"), "counted")
	expect(t, m.tc(t, "GET", mePath, secret, "", nil), 404, "TENANT_NOT_FOUND")
	expect(t, m.call("GET", "/api/"+secret+"/records", "", nil), 404, "NOT_FOUND")
	expect(t, m.call("GET", tenantsPath+"/metered", super, nil), 200, "")

	r := m.call("GET", "/metrics", "", nil)
	if r.status != 200 {
		t.Fatalf("metrics: %d", r.status)
	}
	values := map[string]float64{}
	for _, line := range strings.Split(r.raw, "\n") {
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
		"silo_tenant_pools_open":                                          1,
		"silo_tenant_connections_open":                                    1,
		"silo_tenant_connections_in_use":                                  0,
		"silo_tenant_pool_evictions_total":                                1,
		"silo_catalog_cache_hits_total":                                   5,
		"silo_catalog_cache_misses_total":                                 1,
		`silo_logins_total{outcome="success",plane="tenant"}`:             3,
		`silo_logins_total{outcome="invalid_credentials",plane="tenant"}`: 1,
	} {
		v, ok := values[name]
		if !ok {
			t.Fatalf("no %s in\n%s", name, r.raw)
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
	if v := values["silo_tenant_pools_open"]; v != 1 {
		t.Errorf("pools open = %v with MaxPools 1", v)
	}
	if _, ok := values[`silo_http_requests_total{method="GET",route="unmatched",status="404"}`]; !ok {
		t.Errorf("unmatched route not counted as such:\n%s", r.raw)
	}
}
