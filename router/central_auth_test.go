package router_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestRegisterBootstrap(t *testing.T) {
	t.Parallel()
	s := newServer(t)

	t.Run("FirstAdminMustBeSuperadmin", func(t *testing.T) {
		r := s.call("POST", "/api/central/auth/register", "", newAdmin("first@example.com", "admin"))
		expect(t, r, 400, "VALIDATION_FAILED")
	})
	t.Run("FirstAdminDefaultsToSuperadmin", func(t *testing.T) {
		r := s.call("POST", "/api/central/auth/register", "", newAdmin("Root@Example.com", ""))
		expect(t, r, 201, "")
		u := r.user()
		if u["role"] != "superadmin" || u["email"] != "root@example.com" || u["isCentralAdmin"] != true || u["isActive"] != true {
			t.Fatalf("user = %v", u)
		}
		if strings.Contains(r.raw, "password") || strings.Contains(r.raw, "$2a$") {
			t.Fatalf("response leaks the password hash: %s", r.raw)
		}
	})
	super := s.login("root@example.com", password).str("access_token")
	_, adminTok := s.addAdmin(super, "plain@example.com", "admin")

	t.Run("ClosedWithoutToken", func(t *testing.T) {
		before := s.rows()
		r := s.call("POST", "/api/central/auth/register", "", newAdmin("intruder@example.com", "superadmin"))
		expect(t, r, 401, "UNAUTHENTICATED")
		if s.rows() != before {
			t.Fatal("refused registration changed the database")
		}
	})
	t.Run("ForbiddenForAdmin", func(t *testing.T) {
		r := s.call("POST", "/api/central/auth/register", adminTok, newAdmin("intruder@example.com", "admin"))
		expect(t, r, 403, "FORBIDDEN")
	})
	t.Run("BadTokenIs401", func(t *testing.T) {
		r := s.call("POST", "/api/central/auth/register", "garbage", newAdmin("intruder@example.com", "admin"))
		expect(t, r, 401, "UNAUTHENTICATED")
	})
	t.Run("SuperadminMayRegister", func(t *testing.T) {
		r := s.call("POST", "/api/central/auth/register", super, newAdmin("second@example.com", ""))
		expect(t, r, 201, "")
		if r.user()["role"] != "admin" {
			t.Fatalf("role defaults to %v, want admin", r.user()["role"])
		}
	})
	t.Run("DuplicateEmailAnyCase", func(t *testing.T) {
		for _, email := range []string{"second@example.com", "SECOND@example.com", " Second@Example.COM "} {
			r := s.call("POST", "/api/central/auth/register", super, newAdmin(email, "admin"))
			expect(t, r, 409, "USER_EXISTS")
			if r.body["error"].(map[string]any)["message"] != "User already exists" {
				t.Fatalf("message = %v", r.raw)
			}
		}
	})
	t.Run("EveryBadFieldReported", func(t *testing.T) {
		before := s.rows()
		r := s.call("POST", "/api/central/auth/register", super, adminInput{Email: "nope", Password: "short", Role: "root"})
		expect(t, r, 400, "VALIDATION_FAILED")
		details, _ := r.body["error"].(map[string]any)["details"].([]any)
		fields := map[string]bool{}
		for _, d := range details {
			fields[d.(map[string]any)["field"].(string)] = true
		}
		for _, f := range []string{"email", "password", "firstName", "lastName", "role"} {
			if !fields[f] {
				t.Errorf("no detail for %s in %s", f, r.raw)
			}
		}
		if s.rows() != before {
			t.Fatal("invalid registration changed the database")
		}
	})
	t.Run("PasswordLimits", func(t *testing.T) {
		for name, pw := range map[string]string{"TooShort": "123456789", "Over72Bytes": strings.Repeat("é", 37)} {
			t.Run(name, func(t *testing.T) {
				in := newAdmin("pw-"+strings.ToLower(name)+"@example.com", "admin")
				in.Password = pw
				expect(t, s.call("POST", "/api/central/auth/register", super, in), 400, "VALIDATION_FAILED")
			})
		}
	})
}

// Two simultaneous bootstrap registrations: exactly one wins.
func TestRegisterBootstrapRace(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := s.call("POST", "/api/central/auth/register", "", newAdmin("racer"+string(rune('a'+i))+"@example.com", "superadmin"))
			codes[i] = r.status
		}()
	}
	wg.Wait()
	created := 0
	for _, c := range codes {
		switch c {
		case 201:
			created++
		case 401:
		default:
			t.Fatalf("unexpected status %d in %v", c, codes)
		}
	}
	if created != 1 {
		t.Fatalf("%d bootstrap registrations succeeded, want 1 (%v)", created, codes)
	}
}

func TestLogin(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	super := s.bootstrap()

	t.Run("Success", func(t *testing.T) {
		r := s.login("ROOT@example.com", password)
		if r.str("token_type") != "Bearer" || r.body["expires_in"] != float64(900) || r.str("refresh_token") == "" {
			t.Fatalf("session = %s", r.raw)
		}
		if r.user()["email"] != "root@example.com" || r.user()["isCentralAdmin"] != true {
			t.Fatalf("user = %v", r.user())
		}
	})
	wrong := s.call("POST", "/api/central/auth/login", "", map[string]string{"email": "root@example.com", "password": "wrong password!"})
	unknown := s.call("POST", "/api/central/auth/login", "", map[string]string{"email": "nobody@example.com", "password": "wrong password!"})
	t.Run("WrongPassword", func(t *testing.T) { expect(t, wrong, 401, "INVALID_CREDENTIALS") })
	t.Run("UnknownEmailLooksTheSame", func(t *testing.T) {
		expect(t, unknown, 401, "INVALID_CREDENTIALS")
		we, ue := wrong.body["error"].(map[string]any), unknown.body["error"].(map[string]any)
		if we["message"] != ue["message"] {
			t.Fatalf("messages differ: %q vs %q", we["message"], ue["message"])
		}
	})
	t.Run("MissingFields", func(t *testing.T) {
		expect(t, s.call("POST", "/api/central/auth/login", "", map[string]string{}), 400, "VALIDATION_FAILED")
	})
	t.Run("PasswordOver72Bytes", func(t *testing.T) {
		r := s.call("POST", "/api/central/auth/login", "", map[string]string{"email": "root@example.com", "password": password + strings.Repeat("x", 72)})
		expect(t, r, 400, "VALIDATION_FAILED")
	})
	t.Run("InactiveAdmin", func(t *testing.T) {
		id, tok := s.addAdmin(super, "leaver@example.com", "admin")
		expect(t, s.call("GET", "/api/central/auth/me", tok, nil), 200, "")
		expect(t, s.call("PATCH", "/api/central/admins/"+id, super, map[string]any{"isActive": false}), 200, "")
		// The live token stops working at once, and login is refused as
		// for a wrong password (TestInactiveLoginIsNoOracle).
		expect(t, s.call("GET", "/api/central/auth/me", tok, nil), 401, "UNAUTHENTICATED")
		r := s.call("POST", "/api/central/auth/login", "", map[string]string{"email": "leaver@example.com", "password": password})
		expect(t, r, 401, "INVALID_CREDENTIALS")
		// Reactivated: login works again.
		expect(t, s.call("PATCH", "/api/central/admins/"+id, super, map[string]any{"isActive": true}), 200, "")
		s.login("leaver@example.com", password)
	})
}

func TestLoginRateLimit(t *testing.T) {
	t.Parallel()
	t.Run("PerEmail", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, func(o *serverOptions) { o.perEmail = 3 })
		s.bootstrap() // one login: successes use no budget
		for i := 0; i < 3; i++ {
			expect(t, s.call("POST", "/api/central/auth/login", "", map[string]string{"email": "root@example.com", "password": "wrong password!"}), 401, "INVALID_CREDENTIALS")
		}
		last := s.call("POST", "/api/central/auth/login", "", map[string]string{"email": "root@example.com", "password": "wrong password!"})
		expect(t, last, 429, "RATE_LIMITED")
		if ra := last.header.Get("Retry-After"); ra == "" || ra == "0" {
			t.Fatalf("Retry-After = %q", ra)
		}
		// Even the right password is refused while limited.
		r := s.call("POST", "/api/central/auth/login", "", map[string]string{"email": "root@example.com", "password": password})
		expect(t, r, 429, "RATE_LIMITED")
		// Another email is not limited by this one's bucket.
		expect(t, s.call("POST", "/api/central/auth/login", "", map[string]string{"email": "other@example.com", "password": "wrong password!"}), 401, "INVALID_CREDENTIALS")
	})
	t.Run("PerIP", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, func(o *serverOptions) { o.perIP = 5 })
		statuses := map[int]int{}
		for i := 0; i < 8; i++ {
			r := s.call("POST", "/api/central/auth/login", "", map[string]string{"email": "user" + string(rune('a'+i)) + "@example.com", "password": "wrong password!"})
			statuses[r.status]++
		}
		if statuses[401] != 5 || statuses[429] != 3 {
			t.Fatalf("statuses = %v, want 5×401 then 3×429", statuses)
		}
	})
}

func TestMe(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	super := s.bootstrap()
	r := s.call("GET", "/api/central/auth/me", super, nil)
	expect(t, r, 200, "")
	if r.user()["email"] != "root@example.com" || r.user()["role"] != "superadmin" {
		t.Fatalf("me = %s", r.raw)
	}
	expect(t, s.call("GET", "/api/central/auth/me", "", nil), 401, "UNAUTHENTICATED")
	r = s.call("GET", "/api/central/auth/me", "", nil, "Authorization", "Basic cm9vdDpyb290")
	expect(t, r, 401, "UNAUTHENTICATED")
}

func TestTamperedTokens(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	super := s.bootstrap()
	claims, err := s.keys.Verify(super, "silo:central")
	if err != nil {
		t.Fatal(err)
	}
	sign := func(method jwt.SigningMethod, key any, kid string, mutate func(m jwt.MapClaims)) string {
		m := jwt.MapClaims{
			"iss": "silo", "sub": claims.Subject, "aud": []string{"silo:central"}, "email": claims.Email,
			"role": "superadmin", "isCentralAdmin": true, "jti": "x",
			"iat": time.Now().Unix(), "nbf": time.Now().Unix(), "exp": time.Now().Add(10 * time.Minute).Unix(),
		}
		if mutate != nil {
			mutate(m)
		}
		tok := jwt.NewWithClaims(method, m)
		if kid != "" {
			tok.Header["kid"] = kid
		}
		out, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// A control token forged the same way but correctly is accepted, so the
	// refusals below are due to the tampering alone.
	good := sign(jwt.SigningMethodHS256, []byte(testSecret), testKID, nil)
	expect(t, s.call("GET", "/api/central/auth/me", good, nil), 200, "")

	parts := strings.Split(super, ".")
	cases := map[string]struct {
		tok  string
		code string
	}{
		"AlgNone":       {sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, testKID, nil), "UNAUTHENTICATED"},
		"HS512":         {sign(jwt.SigningMethodHS512, []byte(testSecret), testKID, nil), "UNAUTHENTICATED"},
		"WrongKey":      {sign(jwt.SigningMethodHS256, []byte("another-secret-another-secret-0123456"), testKID, nil), "UNAUTHENTICATED"},
		"UnknownKid":    {sign(jwt.SigningMethodHS256, []byte(testSecret), "other", nil), "UNAUTHENTICATED"},
		"NoKid":         {sign(jwt.SigningMethodHS256, []byte(testSecret), "", nil), "UNAUTHENTICATED"},
		"WrongAudience": {sign(jwt.SigningMethodHS256, []byte(testSecret), testKID, func(m jwt.MapClaims) { m["aud"] = "silo:tenant:acme" }), "UNAUTHENTICATED"},
		"WrongIssuer":   {sign(jwt.SigningMethodHS256, []byte(testSecret), testKID, func(m jwt.MapClaims) { m["iss"] = "evil" }), "UNAUTHENTICATED"},
		"NotCentral":    {sign(jwt.SigningMethodHS256, []byte(testSecret), testKID, func(m jwt.MapClaims) { delete(m, "isCentralAdmin") }), "UNAUTHENTICATED"},
		"NoExpiry":      {sign(jwt.SigningMethodHS256, []byte(testSecret), testKID, func(m jwt.MapClaims) { delete(m, "exp") }), "UNAUTHENTICATED"},
		"UnknownUser":   {sign(jwt.SigningMethodHS256, []byte(testSecret), testKID, func(m jwt.MapClaims) { m["sub"] = "01a21284-9322-7bbd-8f49-73c47e0f1394" }), "UNAUTHENTICATED"},
		"Expired": {sign(jwt.SigningMethodHS256, []byte(testSecret), testKID, func(m jwt.MapClaims) {
			m["iat"], m["nbf"], m["exp"] = time.Now().Add(-time.Hour).Unix(), time.Now().Add(-time.Hour).Unix(), time.Now().Add(-30*time.Minute).Unix()
		}), "TOKEN_EXPIRED"},
		"Garbage":          {"not-a-jwt", "UNAUTHENTICATED"},
		"TamperedPayload":  {parts[0] + "." + strings.TrimRight(parts[1], "A") + "A." + parts[2], "UNAUTHENTICATED"},
		"StrippedSig":      {parts[0] + "." + parts[1] + ".", "UNAUTHENTICATED"},
		"RefreshAsAccess":  {s.login("root@example.com", password).str("refresh_token"), "UNAUTHENTICATED"},
		"HugeGarbageToken": {strings.Repeat("a", 8000), "UNAUTHENTICATED"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			expect(t, s.call("GET", "/api/central/auth/me", tc.tok, nil), 401, tc.code)
		})
	}
}

func TestRefreshRotation(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.bootstrap()
	first := s.login("root@example.com", password)
	rt1 := first.str("refresh_token")

	r := s.call("POST", "/api/central/auth/refresh", "", map[string]string{"refresh_token": rt1})
	expect(t, r, 200, "")
	rt2 := r.str("refresh_token")
	if rt2 == "" || rt2 == rt1 || r.str("access_token") == "" || r.user()["email"] != "root@example.com" {
		t.Fatalf("refresh = %s", r.raw)
	}
	expect(t, s.call("GET", "/api/central/auth/me", r.str("access_token"), nil), 200, "")

	// Reusing the spent token is refused and revokes the family, so the
	// token it was exchanged for stops working too.
	expect(t, s.call("POST", "/api/central/auth/refresh", "", map[string]string{"refresh_token": rt1}), 401, "UNAUTHENTICATED")
	expect(t, s.call("POST", "/api/central/auth/refresh", "", map[string]string{"refresh_token": rt2}), 401, "UNAUTHENTICATED")

	// Another session (family) is untouched.
	other := s.login("root@example.com", password).str("refresh_token")
	expect(t, s.call("POST", "/api/central/auth/refresh", "", map[string]string{"refresh_token": other}), 200, "")

	t.Run("UnknownToken", func(t *testing.T) {
		expect(t, s.call("POST", "/api/central/auth/refresh", "", map[string]string{"refresh_token": "nope"}), 401, "UNAUTHENTICATED")
	})
	t.Run("Missing", func(t *testing.T) {
		expect(t, s.call("POST", "/api/central/auth/refresh", "", map[string]string{}), 400, "VALIDATION_FAILED")
	})
	t.Run("Expired", func(t *testing.T) {
		rt := s.login("root@example.com", password).str("refresh_token")
		if _, err := s.db.Exec("UPDATE refresh_tokens SET expires_at = ? WHERE used_at IS NULL AND revoked_at IS NULL", time.Now().Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
		expect(t, s.call("POST", "/api/central/auth/refresh", "", map[string]string{"refresh_token": rt}), 401, "TOKEN_EXPIRED")
	})
}

// Concurrent refreshes of one token: exactly one succeeds.
func TestRefreshConcurrent(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.bootstrap()
	rt := s.login("root@example.com", password).str("refresh_token")
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := s.call("POST", "/api/central/auth/refresh", "", map[string]string{"refresh_token": rt})
			if r.status == 200 {
				mu.Lock()
				ok++
				mu.Unlock()
			} else if r.status != 401 {
				t.Errorf("status %d: %s", r.status, r.raw)
			}
		}()
	}
	wg.Wait()
	if ok != 1 {
		t.Fatalf("%d refreshes of one token succeeded, want 1", ok)
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.bootstrap()
	sess := s.login("root@example.com", password)
	rt := sess.str("refresh_token")
	r := s.call("POST", "/api/central/auth/refresh", "", map[string]string{"refresh_token": rt})
	expect(t, r, 200, "")
	rt2 := r.str("refresh_token")

	expect(t, s.call("POST", "/api/central/auth/logout", "", map[string]string{"refresh_token": rt2}), 204, "")
	expect(t, s.call("POST", "/api/central/auth/refresh", "", map[string]string{"refresh_token": rt2}), 401, "UNAUTHENTICATED")
	// Logging out twice, or with an unknown token, is harmless.
	expect(t, s.call("POST", "/api/central/auth/logout", "", map[string]string{"refresh_token": rt2}), 204, "")
	expect(t, s.call("POST", "/api/central/auth/logout", "", map[string]string{"refresh_token": "unknown"}), 204, "")
	expect(t, s.call("POST", "/api/central/auth/logout", "", map[string]string{}), 400, "VALIDATION_FAILED")
}
