package router_test

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Login throttling, anonymous work and sign-up (docs/SECURITY.md): each
// client is told apart by X-Forwarded-For, believed from the loopback
// proxy the tests connect through.

func fromIP(ip string) []string { return []string{"X-Forwarded-For", ip} }

func viaProxy(o *serverOptions) { o.trustedProxies = []string{"127.0.0.1/32"} }

// requireLimited checks a 429 answer: the envelope and a Retry-After in
// whole seconds.
func requireLimited(t testing.TB, r response) {
	t.Helper()
	expect(t, r, 429, "RATE_LIMITED")
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 {
		t.Fatalf("Retry-After = %q", r.header.Get("Retry-After"))
	}
}

// Five wrong passwords from five IPs do not lock the owner out: their
// right password from a new IP logs in, on both planes.
func TestLoginStrangersCannotLockOutOwner(t *testing.T) {
	t.Parallel()
	s := newServer(t, viaProxy, func(o *serverOptions) { o.perIP, o.perEmail, o.accountFailures = 20, 5, 100 })
	s.bootstrap()
	s.newTenant(t, "owned")
	for i := range 5 {
		ip := fmt.Sprintf("203.0.113.%d", i+1)
		expect(t, s.call("POST", "/api/central/auth/login", "", creds("root@example.com", "wrong password!"), fromIP(ip)...), 401, "INVALID_CREDENTIALS")
		expect(t, s.tc(t, "POST", loginPath, "owned", "", creds(adminOf("owned"), "wrong password!"), fromIP(ip)...), 401, "INVALID_CREDENTIALS")
	}
	expect(t, s.call("POST", "/api/central/auth/login", "", creds("root@example.com", password), fromIP("198.51.100.77")...), 200, "")
	expect(t, s.tc(t, "POST", loginPath, "owned", "", creds(adminOf("owned"), password), fromIP("198.51.100.77")...), 200, "")
	// The client that keeps failing at an account is stopped there, even
	// with the right password.
	for range 5 {
		expect(t, s.call("POST", "/api/central/auth/login", "", creds("root@example.com", "wrong password!"), fromIP("203.0.113.99")...), 401, "INVALID_CREDENTIALS")
	}
	requireLimited(t, s.call("POST", "/api/central/auth/login", "", creds("root@example.com", password), fromIP("203.0.113.99")...))
}

// A guess spread over 50 addresses is still throttled: of 1,000 guesses at
// one account nearly all are refused before bcrypt, while the owner logs
// in from the address they used before.
func TestLoginDistributedGuessThrottled(t *testing.T) {
	t.Parallel()
	s := newServer(t, viaProxy, func(o *serverOptions) { o.perIP, o.perEmail, o.accountFailures = 20, 5, 10 })
	s.bootstrap() // logs root in from 127.0.0.1, its known address
	runs := s.guard.BcryptRuns()
	statuses := map[int]int{}
	for i := range 1000 {
		r := s.call("POST", "/api/central/auth/login", "", creds("root@example.com", fmt.Sprintf("guess %d", i)), fromIP(fmt.Sprintf("198.18.0.%d", i%50+1))...)
		statuses[r.status]++
	}
	checks := s.guard.BcryptRuns() - runs
	t.Logf("1,000 guesses from 50 IPs: statuses %v, %d bcrypt runs", statuses, checks)
	if statuses[429] < 950 || statuses[429]+statuses[401] != 1000 {
		t.Errorf("statuses %v: want at least 950 of 1,000 refused with 429, the rest 401", statuses)
	}
	if checks != int64(statuses[401]) || checks > 20 {
		t.Errorf("%d bcrypt runs for %d checked guesses, want one each and at most 20", checks, statuses[401])
	}
	s.login("root@example.com", password) // from 127.0.0.1, where root logged in before
	requireLimited(t, s.call("POST", "/api/central/auth/login", "", creds("root@example.com", password), fromIP("192.0.2.200")...))
}

// A garbage invitation acceptance is refused after a lookup, without a
// bcrypt; so are used and revoked ones. Only a pending invitation costs
// its hash.
func TestAcceptInvitationHashesOnlyPending(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.newTenant(t, "acc")
	admin := s.tlogin(t, "acc", adminOf("acc"), password).str("access_token")
	accept := func(token string) response {
		return s.tc(t, "POST", "/api/invitations/accept", "acc", "", map[string]any{
			"token": token, "password": "a long enough password", "firstName": "In", "lastName": "Vitee"})
	}
	invite := func(email string) (id, token string) {
		r := s.tc(t, "POST", "/api/invitations", "acc", admin, map[string]string{"email": email, "role": "member"})
		expect(t, r, 201, "")
		return r.body["invitation"].(map[string]any)["id"].(string), r.str("token")
	}
	_, used := invite("used@acc.io")
	expect(t, accept(used), 201, "")
	revokedID, revoked := invite("revoked@acc.io")
	expect(t, s.tc(t, "DELETE", "/api/invitations/"+revokedID, "acc", admin, nil), 204, "")
	runs := s.guard.BcryptRuns()
	for i := range 50 {
		expect(t, accept(fmt.Sprintf("silo_inv_garbage%d", i)), 400, "INVITATION_INVALID")
	}
	expect(t, accept("not-even-the-prefix"), 400, "INVITATION_INVALID")
	expect(t, accept(used), 409, "INVITATION_USED")
	expect(t, accept(revoked), 409, "INVITATION_REVOKED")
	if n := s.guard.BcryptRuns() - runs; n != 0 {
		t.Fatalf("refused acceptances ran %d bcrypts, want none", n)
	}
	_, pending := invite("pending@acc.io")
	expect(t, accept(pending), 201, "")
	if n := s.guard.BcryptRuns() - runs; n != 1 {
		t.Fatalf("a pending invitation's acceptance ran %d bcrypts, want 1", n)
	}
}

// Acceptances and sign-ups are limited per client IP, sign-ups also per
// tenant; the 429 has the envelope and Retry-After.
func TestAcceptAndRegisterRateLimited(t *testing.T) {
	t.Parallel()
	s := newServer(t, viaProxy, func(o *serverOptions) { o.perIP, o.signupPerTenant = 3, 5 })
	s.newTenant(t, "lim")
	s.newTenant(t, "lim-other")
	garbage := map[string]any{"token": "silo_inv_garbage", "password": "a long enough password", "firstName": "E", "lastName": "Ve"}
	for range 3 {
		expect(t, s.tc(t, "POST", "/api/invitations/accept", "lim", "", garbage, fromIP("203.0.113.1")...), 400, "INVITATION_INVALID")
	}
	requireLimited(t, s.tc(t, "POST", "/api/invitations/accept", "lim", "", garbage, fromIP("203.0.113.1")...))
	expect(t, s.tc(t, "POST", "/api/invitations/accept", "lim", "", garbage, fromIP("203.0.113.2")...), 400, "INVITATION_INVALID")

	for i := range 3 {
		expect(t, s.tc(t, "POST", registerPath, "lim", "", signup(fmt.Sprintf("ip%d@lim.io", i), password), fromIP("198.51.100.1")...), 201, "")
	}
	requireLimited(t, s.tc(t, "POST", registerPath, "lim", "", signup("ip3@lim.io", password), fromIP("198.51.100.1")...))
	// Per tenant: 5 a minute from any number of addresses.
	for i := range 2 {
		expect(t, s.tc(t, "POST", registerPath, "lim", "", signup(fmt.Sprintf("tn%d@lim.io", i), password), fromIP(fmt.Sprintf("198.51.100.%d", 10+i))...), 201, "")
	}
	requireLimited(t, s.tc(t, "POST", registerPath, "lim", "", signup("tn9@lim.io", password), fromIP("198.51.100.20")...))
	var n int
	if err := s.db.QueryRow("SELECT COUNT(*) FROM `" + s.prefix + "lim`.users").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 6 {
		t.Fatalf("%d users in lim, want the admin and 5 sign-ups", n)
	}
	expect(t, s.tc(t, "POST", registerPath, "lim-other", "", signup("tn9@lim.io", password), fromIP("198.51.100.20")...), 201, "")
}

// New tenants start with public sign-up off unless the installation turns
// it on (SILO_DEFAULT_PUBLIC_SIGNUP=true, here PublicSignup).
func TestPublicSignupDefault(t *testing.T) {
	t.Parallel()
	closed := newServer(t, func(o *serverOptions) { o.closedSignup = true })
	closed.newTenant(t, "shut")
	expect(t, closed.tc(t, "POST", registerPath, "shut", "", signup("walk-in@shut.io", password)), 403, "FORBIDDEN")
	admin := closed.tlogin(t, "shut", adminOf("shut"), password).str("access_token")
	r := closed.tc(t, "GET", "/api/settings", "shut", admin, nil)
	expect(t, r, 200, "")
	if !strings.Contains(r.raw, `"allowPublicSignup":false`) {
		t.Fatalf("settings %s", r.raw)
	}
	// The tenant admin may open it.
	expect(t, closed.tc(t, "PUT", "/api/settings", "shut", admin, map[string]any{"allowPublicSignup": true}), 200, "")
	expect(t, closed.tc(t, "POST", registerPath, "shut", "", signup("walk-in@shut.io", password)), 201, "")

	open := newServer(t)
	open.newTenant(t, "open")
	expect(t, open.tc(t, "POST", registerPath, "open", "", signup("walk-in@open.io", password)), 201, "")
}

// Failed central logins are in the central audit log with their client IP,
// at most once a minute per IP and email.
func TestCentralFailedLoginsAudited(t *testing.T) {
	t.Parallel()
	s := newServer(t, viaProxy)
	super := s.bootstrap()
	firstFailure := time.Now()
	for range 5 {
		expect(t, s.call("POST", "/api/central/auth/login", "", creds("root@example.com", "wrong password!"), fromIP("203.0.113.5")...), 401, "INVALID_CREDENTIALS")
	}
	expect(t, s.call("POST", "/api/central/auth/login", "", creds("nobody@example.com", "wrong password!"), fromIP("203.0.113.5")...), 401, "INVALID_CREDENTIALS")
	expect(t, s.call("POST", "/api/central/auth/login", "", creds("root@example.com", "wrong password!"), fromIP("203.0.113.6")...), 401, "INVALID_CREDENTIALS")
	expect(t, s.call("POST", "/api/central/auth/login", "", creds("not an email", "wrong password!"), fromIP("203.0.113.6")...), 401, "INVALID_CREDENTIALS")
	r := s.call("GET", "/api/central/audit?limit=100", super, nil)
	expect(t, r, 200, "")
	got := map[string]int{}
	for _, e := range r.list("entries") {
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
	if strings.Contains(r.raw, "wrong password") {
		t.Fatal("a password reached the audit log")
	}
	// At most 60 such entries a minute in all, however many sources: a
	// bucket of 60 refilled at one a second, so the bound grows by one for
	// each second the requests took.
	for i := range 70 {
		expect(t, s.call("POST", "/api/central/auth/login", "", creds(fmt.Sprintf("spray%d@example.com", i), "wrong password!"), fromIP("203.0.113.7")...), 401, "INVALID_CREDENTIALS")
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
	expect(t, f.do(t, "PUT", settingsPath, f.admin, map[string]any{"logoUrl": "https://cdn.example.com/a/logo.png?v=2#x"}), 200, "")
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
	expect(t, f.do(t, "POST", rolesPath, f.admin, map[string]any{"name": "tenant_admin", "permissions": []string{}}), 409, "CONFLICT")
	f.addRole(t, "tenant-admins", "data:read") // another name: fine
}
