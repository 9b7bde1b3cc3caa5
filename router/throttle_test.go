package router_test

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/silo-dev/silo/internal/testsupport/testsilo"
)

// Login throttling, anonymous work and sign-up (docs/SECURITY.md): each
// client is told apart by X-Forwarded-For, believed from the loopback
// proxy the tests connect through.

func fromIP(ip string) map[string]string { return map[string]string{"X-Forwarded-For": ip} }

func viaProxy(o *serverOptions) { o.trustedProxies = []string{"127.0.0.1/32"} }

// requireLimited checks a 429 answer: the envelope and a Retry-After in
// whole seconds.
func requireLimited(t testing.TB, r *testsilo.Response) {
	t.Helper()
	r.Require(t, 429, "RATE_LIMITED")
	if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 1 {
		t.Fatalf("Retry-After = %q", r.Header.Get("Retry-After"))
	}
}

// Five wrong passwords from five IPs do not lock the owner out: their
// right password from a new IP logs in, on both planes.
func TestLoginStrangersCannotLockOutOwner(t *testing.T) {
	t.Parallel()
	s := newServer(t, viaProxy, func(o *serverOptions) { o.perIP, o.perEmail, o.accountFailures = 20, 5, 100 })
	s.AdminToken()
	s.Tenant(t, tenantOf("owned"))
	for i := range 5 {
		ip := fmt.Sprintf("203.0.113.%d", i+1)
		s.Expect(t, 401, "INVALID_CREDENTIALS", testsilo.Request{Method: "POST", Path: "/api/central/auth/login", Body: creds("root@example.com", "wrong password!"), Header: fromIP(ip)})
		s.Expect(t, 401, "INVALID_CREDENTIALS", testsilo.Request{Method: "POST", Path: loginPath, Tenant: "owned", Body: creds(adminOf("owned"), "wrong password!"), Header: fromIP(ip)})
	}
	s.Expect(t, 200, "", testsilo.Request{Method: "POST", Path: "/api/central/auth/login", Body: creds("root@example.com", password), Header: fromIP("198.51.100.77")})
	s.Expect(t, 200, "", testsilo.Request{Method: "POST", Path: loginPath, Tenant: "owned", Body: creds(adminOf("owned"), password), Header: fromIP("198.51.100.77")})
	// The client that keeps failing at an account is stopped there, even
	// with the right password.
	for range 5 {
		s.Expect(t, 401, "INVALID_CREDENTIALS", testsilo.Request{Method: "POST", Path: "/api/central/auth/login", Body: creds("root@example.com", "wrong password!"), Header: fromIP("203.0.113.99")})
	}
	requireLimited(t, s.Do(t, testsilo.Request{Method: "POST", Path: "/api/central/auth/login", Body: creds("root@example.com", password), Header: fromIP("203.0.113.99")}))
}

// A guess spread over 50 addresses is still throttled: of 1,000 guesses at
// one account nearly all are refused before bcrypt, while the owner logs
// in from the address they used before.
func TestLoginDistributedGuessThrottled(t *testing.T) {
	t.Parallel()
	s := newServer(t, viaProxy, func(o *serverOptions) { o.perIP, o.perEmail, o.accountFailures = 20, 5, 10 })
	s.AdminToken() // logs root in from 127.0.0.1, its known address
	runs := s.guard.BcryptRuns()
	statuses := map[int]int{}
	for i := range 1000 {
		r := s.Do(t, testsilo.Request{Method: "POST", Path: "/api/central/auth/login", Body: creds("root@example.com", fmt.Sprintf("guess %d", i)), Header: fromIP(fmt.Sprintf("198.18.0.%d", i%50+1))})
		statuses[r.Status]++
	}
	checks := s.guard.BcryptRuns() - runs
	t.Logf("1,000 guesses from 50 IPs: statuses %v, %d bcrypt runs", statuses, checks)
	if statuses[429] < 950 || statuses[429]+statuses[401] != 1000 {
		t.Errorf("statuses %v: want at least 950 of 1,000 refused with 429, the rest 401", statuses)
	}
	if checks != int64(statuses[401]) || checks > 20 {
		t.Errorf("%d bcrypt runs for %d checked guesses, want one each and at most 20", checks, statuses[401])
	}
	s.CentralLogin(t, "root@example.com", password) // from 127.0.0.1, where root logged in before
	requireLimited(t, s.Do(t, testsilo.Request{Method: "POST", Path: "/api/central/auth/login", Body: creds("root@example.com", password), Header: fromIP("192.0.2.200")}))
}

// A garbage invitation acceptance is refused after a lookup, without a
// bcrypt; so are used and revoked ones. Only a pending invitation costs
// its hash.
func TestAcceptInvitationHashesOnlyPending(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.Tenant(t, tenantOf("acc"))
	admin := s.TenantLogin(t, "acc", adminOf("acc"), password).Str("access_token")
	accept := func(token string) *testsilo.Response {
		return s.Do(t, testsilo.Request{Method: "POST", Path: "/api/invitations/accept", Tenant: "acc", Body: map[string]any{
			"token": token, "password": "a long enough password", "firstName": "In", "lastName": "Vitee"}})
	}
	invite := func(email string) (id, token string) {
		r := s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: "/api/invitations", Tenant: "acc", Token: admin, Body: map[string]string{"email": email, "role": "member"}})
		return r.JSON["invitation"].(map[string]any)["id"].(string), r.Str("token")
	}
	_, used := invite("used@acc.io")
	accept(used).Require(t, 201, "")
	revokedID, revoked := invite("revoked@acc.io")
	s.Expect(t, 204, "", testsilo.Request{Method: "DELETE", Path: "/api/invitations/" + revokedID, Tenant: "acc", Token: admin})
	runs := s.guard.BcryptRuns()
	for i := range 50 {
		accept(fmt.Sprintf("silo_inv_garbage%d", i)).Require(t, 400, "INVITATION_INVALID")
	}
	accept("not-even-the-prefix").Require(t, 400, "INVITATION_INVALID")
	accept(used).Require(t, 409, "INVITATION_USED")
	accept(revoked).Require(t, 409, "INVITATION_REVOKED")
	if n := s.guard.BcryptRuns() - runs; n != 0 {
		t.Fatalf("refused acceptances ran %d bcrypts, want none", n)
	}
	_, pending := invite("pending@acc.io")
	accept(pending).Require(t, 201, "")
	if n := s.guard.BcryptRuns() - runs; n != 1 {
		t.Fatalf("a pending invitation's acceptance ran %d bcrypts, want 1", n)
	}
}

// Acceptances and sign-ups are limited per client IP, sign-ups also per
// tenant; the 429 has the envelope and Retry-After.
func TestAcceptAndRegisterRateLimited(t *testing.T) {
	t.Parallel()
	s := newServer(t, viaProxy, func(o *serverOptions) { o.perIP, o.signupPerTenant = 3, 5 })
	s.Tenant(t, tenantOf("lim"))
	s.Tenant(t, tenantOf("lim-other"))
	garbage := map[string]any{"token": "silo_inv_garbage", "password": "a long enough password", "firstName": "E", "lastName": "Ve"}
	for range 3 {
		s.Expect(t, 400, "INVITATION_INVALID", testsilo.Request{Method: "POST", Path: "/api/invitations/accept", Tenant: "lim", Body: garbage, Header: fromIP("203.0.113.1")})
	}
	requireLimited(t, s.Do(t, testsilo.Request{Method: "POST", Path: "/api/invitations/accept", Tenant: "lim", Body: garbage, Header: fromIP("203.0.113.1")}))
	s.Expect(t, 400, "INVITATION_INVALID", testsilo.Request{Method: "POST", Path: "/api/invitations/accept", Tenant: "lim", Body: garbage, Header: fromIP("203.0.113.2")})

	for i := range 3 {
		s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: registerPath, Tenant: "lim", Body: signup(fmt.Sprintf("ip%d@lim.io", i), password), Header: fromIP("198.51.100.1")})
	}
	requireLimited(t, s.Do(t, testsilo.Request{Method: "POST", Path: registerPath, Tenant: "lim", Body: signup("ip3@lim.io", password), Header: fromIP("198.51.100.1")}))
	// Per tenant: 5 a minute from any number of addresses.
	for i := range 2 {
		s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: registerPath, Tenant: "lim", Body: signup(fmt.Sprintf("tn%d@lim.io", i), password), Header: fromIP(fmt.Sprintf("198.51.100.%d", 10+i))})
	}
	requireLimited(t, s.Do(t, testsilo.Request{Method: "POST", Path: registerPath, Tenant: "lim", Body: signup("tn9@lim.io", password), Header: fromIP("198.51.100.20")}))
	var n int
	if err := s.db.QueryRow("SELECT COUNT(*) FROM `" + s.prefix + "lim`.users").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 6 {
		t.Fatalf("%d users in lim, want the admin and 5 sign-ups", n)
	}
	s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: registerPath, Tenant: "lim-other", Body: signup("tn9@lim.io", password), Header: fromIP("198.51.100.20")})
}

// New tenants start with public sign-up off unless the installation turns
// it on (SILO_DEFAULT_PUBLIC_SIGNUP=true, here PublicSignup).
func TestPublicSignupDefault(t *testing.T) {
	t.Parallel()
	closed := newServer(t, func(o *serverOptions) { o.closedSignup = true })
	closed.Tenant(t, tenantOf("shut"))
	closed.Expect(t, 403, "FORBIDDEN", testsilo.Request{Method: "POST", Path: registerPath, Tenant: "shut", Body: signup("walk-in@shut.io", password)})
	admin := closed.TenantLogin(t, "shut", adminOf("shut"), password).Str("access_token")
	r := closed.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: "/api/settings", Tenant: "shut", Token: admin})
	if !strings.Contains(string(r.Raw), `"allowPublicSignup":false`) {
		t.Fatalf("settings %s", r.Raw)
	}
	// The tenant admin may open it.
	closed.Expect(t, 200, "", testsilo.Request{Method: "PUT", Path: "/api/settings", Tenant: "shut", Token: admin, Body: map[string]any{"allowPublicSignup": true}})
	closed.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: registerPath, Tenant: "shut", Body: signup("walk-in@shut.io", password)})

	open := newServer(t)
	open.Tenant(t, tenantOf("open"))
	open.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: registerPath, Tenant: "open", Body: signup("walk-in@open.io", password)})
}

// Failed central logins are in the central audit log with their client IP,
// at most once a minute per IP and email.
func TestCentralFailedLoginsAudited(t *testing.T) {
	t.Parallel()
	s := newServer(t, viaProxy)
	super := s.AdminToken()
	firstFailure := time.Now()
	for range 5 {
		s.Expect(t, 401, "INVALID_CREDENTIALS", testsilo.Request{Method: "POST", Path: "/api/central/auth/login", Body: creds("root@example.com", "wrong password!"), Header: fromIP("203.0.113.5")})
	}
	s.Expect(t, 401, "INVALID_CREDENTIALS", testsilo.Request{Method: "POST", Path: "/api/central/auth/login", Body: creds("nobody@example.com", "wrong password!"), Header: fromIP("203.0.113.5")})
	s.Expect(t, 401, "INVALID_CREDENTIALS", testsilo.Request{Method: "POST", Path: "/api/central/auth/login", Body: creds("root@example.com", "wrong password!"), Header: fromIP("203.0.113.6")})
	s.Expect(t, 401, "INVALID_CREDENTIALS", testsilo.Request{Method: "POST", Path: "/api/central/auth/login", Body: creds("not an email", "wrong password!"), Header: fromIP("203.0.113.6")})
	r := s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: "/api/central/audit?limit=100", Token: super})
	got := map[string]int{}
	for _, e := range r.List("entries") {
		if e["action"] != "auth.login" || e["outcome"] != "failure" {
			continue // successful logins are audited too
		}
		target := e["target"].(map[string]any)
		if target["type"] != "email" || e["actor"].(map[string]any)["kind"] != "anonymous" {
			t.Fatalf("failed-login entry %v", e)
		}
		got[e["clientIp"].(string)+" "+target["id"].(string)]++
	}
	want := map[string]int{"203.0.113.5 root@example.com": 1, "203.0.113.5 nobody@example.com": 1,
		"203.0.113.6 root@example.com": 1, "203.0.113.6 (invalid)": 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("failed-login entries %v, want %v", got, want)
	}
	if strings.Contains(string(r.Raw), "wrong password") {
		t.Fatal("a password reached the audit log")
	}
	// At most 60 such entries a minute in all, however many sources: a
	// bucket of 60 refilled at one a second, so the bound grows by one for
	// each second the requests took.
	for i := range 70 {
		s.Expect(t, 401, "INVALID_CREDENTIALS", testsilo.Request{Method: "POST", Path: "/api/central/auth/login", Body: creds(fmt.Sprintf("spray%d@example.com", i), "wrong password!"), Header: fromIP("203.0.113.7")})
	}
	refilled := int(math.Ceil(time.Since(firstFailure).Seconds()))
	if n := s.count(t, "SELECT COUNT(*) FROM audit_log WHERE action = 'auth.login' AND outcome = 'failure'"); n < 60 || n > 60+refilled {
		t.Fatalf("%d failed-login entries, want the cap of 60 (+%d refilled)", n, refilled)
	}
}

// logoUrl values that url.Parse takes for https URLs but that break out of
// an HTML attribute, a CSS url() or a script string are refused, naming
// the field and changing nothing.
func TestSettingsLogoURLStrict(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	f := newAdminFixture(t, s, "logo")
	f.s.Expect(t, 200, "", testsilo.Request{Method: "PUT", Path: settingsPath, Tenant: f.slug, Token: f.admin, Body: map[string]any{"logoUrl": "https://cdn.example.com/a/logo.png?v=2#x"}})
	for _, logo := range []string{
		`https://cdn.example.com/logo.png" onerror="alert(1)`,
		`https://cdn.example.com/logo.png' onerror='alert(1)`,
		"https://cdn.example.com/logo.png><script>alert(1)</script>",
		"https://cdn.example.com/logo.png);background:url(javascript:alert(1)",
		"https://cdn.example.com/a b.png",
		"https://cdn.example.com/logo.png\n",
		"https://cdn.example.com/logo.png\t",
		"https://cdn.example.com/\\logo.png",
		"https://cdn.example.com/`logo`.png",
		"https://cdn.example.com/{logo}.png",
		"https://cdn.exämple.com/logo.png",
	} {
		f.invalid(t, "PUT", settingsPath, f.admin, map[string]any{"logoUrl": logo, "displayName": "Not applied"}, "logoUrl")
	}
}

// A custom role named like a built-in one but for '-' and '_' is refused:
// it would pass for the built-in role in lists and logs.
func TestRoleLookAlikeBuiltInRefused(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	f := newAdminFixture(t, s, "roles")
	f.invalid(t, "POST", rolesPath, f.admin, map[string]any{"name": "tenant-admin", "permissions": []string{"data:read"}}, "name")
	f.s.Expect(t, 409, "CONFLICT", testsilo.Request{Method: "POST", Path: rolesPath, Tenant: f.slug, Token: f.admin, Body: map[string]any{"name": "tenant_admin", "permissions": []string{}}})
	f.addRole(t, "tenant-admins", "data:read") // another name: fine
}
