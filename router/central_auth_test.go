package router_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/silo-dev/silo/internal/testsupport/testsilo"
)

func TestRegisterBootstrap(t *testing.T) {
	t.Parallel()
	s := newServer(t)

	t.Run("FirstAdminMustBeSuperadmin", func(t *testing.T) {
		s.Expect(t, 400, "VALIDATION_FAILED", testsilo.Request{Method: "POST", Path: "/api/central/auth/register", Body: newAdmin("first@example.com", "admin")})
	})
	t.Run("FirstAdminDefaultsToSuperadmin", func(t *testing.T) {
		r := s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: "/api/central/auth/register", Body: newAdmin("Root@Example.com", "")})
		u := r.Obj("user")
		if u["role"] != "superadmin" || u["email"] != "root@example.com" || u["isCentralAdmin"] != true || u["isActive"] != true {
			t.Fatalf("user = %v", u)
		}
		if strings.Contains(string(r.Raw), "password") || strings.Contains(string(r.Raw), "$2a$") {
			t.Fatalf("response leaks the password hash: %s", r.Raw)
		}
	})
	super := s.CentralLogin(t, "root@example.com", password).Str("access_token")
	_, adminTok := s.AddAdmin(t, super, "plain@example.com", "admin")

	t.Run("ClosedWithoutToken", func(t *testing.T) {
		before := s.rows()
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "POST", Path: "/api/central/auth/register", Body: newAdmin("intruder@example.com", "superadmin")})
		if s.rows() != before {
			t.Fatal("refused registration changed the database")
		}
	})
	t.Run("ForbiddenForAdmin", func(t *testing.T) {
		s.Expect(t, 403, "FORBIDDEN", testsilo.Request{Method: "POST", Path: "/api/central/auth/register", Token: adminTok, Body: newAdmin("intruder@example.com", "admin")})
	})
	t.Run("BadTokenIs401", func(t *testing.T) {
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "POST", Path: "/api/central/auth/register", Token: "garbage", Body: newAdmin("intruder@example.com", "admin")})
	})
	t.Run("SuperadminMayRegister", func(t *testing.T) {
		r := s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: "/api/central/auth/register", Token: super, Body: newAdmin("second@example.com", "")})
		if r.Obj("user")["role"] != "admin" {
			t.Fatalf("role defaults to %v, want admin", r.Obj("user")["role"])
		}
	})
	t.Run("DuplicateEmailAnyCase", func(t *testing.T) {
		for _, email := range []string{"second@example.com", "SECOND@example.com", " Second@Example.COM "} {
			r := s.Expect(t, 409, "USER_EXISTS", testsilo.Request{Method: "POST", Path: "/api/central/auth/register", Token: super, Body: newAdmin(email, "admin")})
			if r.JSON["error"].(map[string]any)["message"] != "User already exists" {
				t.Fatalf("message = %v", r.Raw)
			}
		}
	})
	t.Run("EveryBadFieldReported", func(t *testing.T) {
		before := s.rows()
		r := s.Expect(t, 400, "VALIDATION_FAILED", testsilo.Request{Method: "POST", Path: "/api/central/auth/register", Token: super, Body: adminInput{Email: "nope", Password: "short", Role: "root"}})
		details, _ := r.JSON["error"].(map[string]any)["details"].([]any)
		fields := map[string]bool{}
		for _, d := range details {
			fields[d.(map[string]any)["field"].(string)] = true
		}
		for _, f := range []string{"email", "password", "firstName", "lastName", "role"} {
			if !fields[f] {
				t.Errorf("no detail for %s in %s", f, r.Raw)
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
				s.Expect(t, 400, "VALIDATION_FAILED", testsilo.Request{Method: "POST", Path: "/api/central/auth/register", Token: super, Body: in})
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
			r := s.Do(t, testsilo.Request{Method: "POST", Path: "/api/central/auth/register", Body: newAdmin("racer"+string(rune('a'+i))+"@example.com", "superadmin")})
			codes[i] = r.Status
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
	super := s.AdminToken()

	t.Run("Success", func(t *testing.T) {
		r := s.CentralLogin(t, "ROOT@example.com", password)
		if r.Str("token_type") != "Bearer" || r.JSON["expires_in"] != float64(900) || r.Str("refresh_token") == "" {
			t.Fatalf("session = %s", r.Raw)
		}
		if r.Obj("user")["email"] != "root@example.com" || r.Obj("user")["isCentralAdmin"] != true {
			t.Fatalf("user = %v", r.Obj("user"))
		}
	})
	wrong := s.Do(t, testsilo.Request{Method: "POST", Path: "/api/central/auth/login", Body: map[string]string{"email": "root@example.com", "password": "wrong password!"}})
	unknown := s.Do(t, testsilo.Request{Method: "POST", Path: "/api/central/auth/login", Body: map[string]string{"email": "nobody@example.com", "password": "wrong password!"}})
	t.Run("WrongPassword", func(t *testing.T) { wrong.Require(t, 401, "INVALID_CREDENTIALS") })
	t.Run("UnknownEmailLooksTheSame", func(t *testing.T) {
		unknown.Require(t, 401, "INVALID_CREDENTIALS")
		we, ue := wrong.JSON["error"].(map[string]any), unknown.JSON["error"].(map[string]any)
		if we["message"] != ue["message"] {
			t.Fatalf("messages differ: %q vs %q", we["message"], ue["message"])
		}
	})
	t.Run("MissingFields", func(t *testing.T) {
		s.Expect(t, 400, "VALIDATION_FAILED", testsilo.Request{Method: "POST", Path: "/api/central/auth/login", Body: map[string]string{}})
	})
	t.Run("PasswordOver72Bytes", func(t *testing.T) {
		s.Expect(t, 400, "VALIDATION_FAILED", testsilo.Request{Method: "POST", Path: "/api/central/auth/login", Body: map[string]string{"email": "root@example.com", "password": password + strings.Repeat("x", 72)}})
	})
	t.Run("InactiveAdmin", func(t *testing.T) {
		id, tok := s.AddAdmin(t, super, "leaver@example.com", "admin")
		s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: "/api/central/auth/me", Token: tok})
		s.Expect(t, 200, "", testsilo.Request{Method: "PATCH", Path: "/api/central/admins/" + id, Token: super, Body: map[string]any{"isActive": false}})
		// The live token stops working at once, and login is refused as
		// for a wrong password (TestInactiveLoginIsNoOracle).
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: "/api/central/auth/me", Token: tok})
		s.Expect(t, 401, "INVALID_CREDENTIALS", testsilo.Request{Method: "POST", Path: "/api/central/auth/login", Body: map[string]string{"email": "leaver@example.com", "password": password}})
		// Reactivated: login works again.
		s.Expect(t, 200, "", testsilo.Request{Method: "PATCH", Path: "/api/central/admins/" + id, Token: super, Body: map[string]any{"isActive": true}})
		s.CentralLogin(t, "leaver@example.com", password)
	})
}

func TestLoginRateLimit(t *testing.T) {
	t.Parallel()
	t.Run("PerEmail", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, func(o *serverOptions) { o.perEmail = 3 })
		s.AdminToken() // one login: successes use no budget
		for i := 0; i < 3; i++ {
			s.Expect(t, 401, "INVALID_CREDENTIALS", testsilo.Request{Method: "POST", Path: "/api/central/auth/login", Body: map[string]string{"email": "root@example.com", "password": "wrong password!"}})
		}
		last := s.Expect(t, 429, "RATE_LIMITED", testsilo.Request{Method: "POST", Path: "/api/central/auth/login", Body: map[string]string{"email": "root@example.com", "password": "wrong password!"}})
		if ra := last.Header.Get("Retry-After"); ra == "" || ra == "0" {
			t.Fatalf("Retry-After = %q", ra)
		}
		// Even the right password is refused while limited.
		s.Expect(t, 429, "RATE_LIMITED", testsilo.Request{Method: "POST", Path: "/api/central/auth/login", Body: map[string]string{"email": "root@example.com", "password": password}})
		// Another email is not limited by this one's bucket.
		s.Expect(t, 401, "INVALID_CREDENTIALS", testsilo.Request{Method: "POST", Path: "/api/central/auth/login", Body: map[string]string{"email": "other@example.com", "password": "wrong password!"}})
	})
	t.Run("PerIP", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, func(o *serverOptions) { o.perIP = 5 })
		statuses := map[int]int{}
		for i := 0; i < 8; i++ {
			r := s.Do(t, testsilo.Request{Method: "POST", Path: "/api/central/auth/login", Body: map[string]string{"email": "user" + string(rune('a'+i)) + "@example.com", "password": "wrong password!"}})
			statuses[r.Status]++
		}
		if statuses[401] != 5 || statuses[429] != 3 {
			t.Fatalf("statuses = %v, want 5×401 then 3×429", statuses)
		}
	})
}

func TestMe(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	super := s.AdminToken()
	r := s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: "/api/central/auth/me", Token: super})
	if r.Obj("user")["email"] != "root@example.com" || r.Obj("user")["role"] != "superadmin" {
		t.Fatalf("me = %s", r.Raw)
	}
	s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: "/api/central/auth/me"})
	r = s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: "/api/central/auth/me", Header: map[string]string{"Authorization": "Basic cm9vdDpyb290"}})
}

func TestTamperedTokens(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	super := s.AdminToken()
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
	good := sign(jwt.SigningMethodHS256, testKey, testKID, nil)
	s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: "/api/central/auth/me", Token: good})

	parts := strings.Split(super, ".")
	cases := map[string]struct {
		tok  string
		code string
	}{
		"AlgNone":       {sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, testKID, nil), "UNAUTHENTICATED"},
		"HS512":         {sign(jwt.SigningMethodHS512, testKey, testKID, nil), "UNAUTHENTICATED"},
		"WrongKey":      {sign(jwt.SigningMethodHS256, []byte("another-secret-another-secret-0123456"), testKID, nil), "UNAUTHENTICATED"},
		"UnknownKid":    {sign(jwt.SigningMethodHS256, testKey, "other", nil), "UNAUTHENTICATED"},
		"NoKid":         {sign(jwt.SigningMethodHS256, testKey, "", nil), "UNAUTHENTICATED"},
		"WrongAudience": {sign(jwt.SigningMethodHS256, testKey, testKID, func(m jwt.MapClaims) { m["aud"] = "silo:tenant:acme" }), "UNAUTHENTICATED"},
		"WrongIssuer":   {sign(jwt.SigningMethodHS256, testKey, testKID, func(m jwt.MapClaims) { m["iss"] = "evil" }), "UNAUTHENTICATED"},
		"NotCentral":    {sign(jwt.SigningMethodHS256, testKey, testKID, func(m jwt.MapClaims) { delete(m, "isCentralAdmin") }), "UNAUTHENTICATED"},
		"NoExpiry":      {sign(jwt.SigningMethodHS256, testKey, testKID, func(m jwt.MapClaims) { delete(m, "exp") }), "UNAUTHENTICATED"},
		"UnknownUser":   {sign(jwt.SigningMethodHS256, testKey, testKID, func(m jwt.MapClaims) { m["sub"] = "01a21284-9322-7bbd-8f49-73c47e0f1394" }), "UNAUTHENTICATED"},
		"Expired": {sign(jwt.SigningMethodHS256, testKey, testKID, func(m jwt.MapClaims) {
			m["iat"], m["nbf"], m["exp"] = time.Now().Add(-time.Hour).Unix(), time.Now().Add(-time.Hour).Unix(), time.Now().Add(-30*time.Minute).Unix()
		}), "TOKEN_EXPIRED"},
		"Garbage":          {"not-a-jwt", "UNAUTHENTICATED"},
		"TamperedPayload":  {parts[0] + "." + strings.TrimRight(parts[1], "A") + "A." + parts[2], "UNAUTHENTICATED"},
		"StrippedSig":      {parts[0] + "." + parts[1] + ".", "UNAUTHENTICATED"},
		"RefreshAsAccess":  {s.CentralLogin(t, "root@example.com", password).Str("refresh_token"), "UNAUTHENTICATED"},
		"HugeGarbageToken": {strings.Repeat("a", 8000), "UNAUTHENTICATED"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s.Expect(t, 401, tc.code, testsilo.Request{Method: "GET", Path: "/api/central/auth/me", Token: tc.tok})
		})
	}
}

func TestRefreshRotation(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.AdminToken()
	first := s.CentralLogin(t, "root@example.com", password)
	rt1 := first.Str("refresh_token")

	r := s.Expect(t, 200, "", testsilo.Request{Method: "POST", Path: "/api/central/auth/refresh", Body: map[string]string{"refresh_token": rt1}})
	rt2 := r.Str("refresh_token")
	if rt2 == "" || rt2 == rt1 || r.Str("access_token") == "" || r.Obj("user")["email"] != "root@example.com" {
		t.Fatalf("refresh = %s", r.Raw)
	}
	s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: "/api/central/auth/me", Token: r.Str("access_token")})

	// Reusing the spent token is refused and revokes the family, so the
	// token it was exchanged for stops working too.
	s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "POST", Path: "/api/central/auth/refresh", Body: map[string]string{"refresh_token": rt1}})
	s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "POST", Path: "/api/central/auth/refresh", Body: map[string]string{"refresh_token": rt2}})

	// Another session (family) is untouched.
	other := s.CentralLogin(t, "root@example.com", password).Str("refresh_token")
	s.Expect(t, 200, "", testsilo.Request{Method: "POST", Path: "/api/central/auth/refresh", Body: map[string]string{"refresh_token": other}})

	t.Run("UnknownToken", func(t *testing.T) {
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "POST", Path: "/api/central/auth/refresh", Body: map[string]string{"refresh_token": "nope"}})
	})
	t.Run("Missing", func(t *testing.T) {
		s.Expect(t, 400, "VALIDATION_FAILED", testsilo.Request{Method: "POST", Path: "/api/central/auth/refresh", Body: map[string]string{}})
	})
	t.Run("Expired", func(t *testing.T) {
		rt := s.CentralLogin(t, "root@example.com", password).Str("refresh_token")
		if _, err := s.db.Exec("UPDATE refresh_tokens SET expires_at = ? WHERE used_at IS NULL AND revoked_at IS NULL", time.Now().Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
		s.Expect(t, 401, "TOKEN_EXPIRED", testsilo.Request{Method: "POST", Path: "/api/central/auth/refresh", Body: map[string]string{"refresh_token": rt}})
	})
}

// Concurrent refreshes of one token: exactly one succeeds.
func TestRefreshConcurrent(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.AdminToken()
	rt := s.CentralLogin(t, "root@example.com", password).Str("refresh_token")
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := s.Do(t, testsilo.Request{Method: "POST", Path: "/api/central/auth/refresh", Body: map[string]string{"refresh_token": rt}})
			if r.Status == 200 {
				mu.Lock()
				ok++
				mu.Unlock()
			} else if r.Status != 401 {
				t.Errorf("status %d: %s", r.Status, r.Raw)
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
	s.AdminToken()
	sess := s.CentralLogin(t, "root@example.com", password)
	rt := sess.Str("refresh_token")
	r := s.Expect(t, 200, "", testsilo.Request{Method: "POST", Path: "/api/central/auth/refresh", Body: map[string]string{"refresh_token": rt}})
	rt2 := r.Str("refresh_token")

	s.Expect(t, 204, "", testsilo.Request{Method: "POST", Path: "/api/central/auth/logout", Body: map[string]string{"refresh_token": rt2}})
	s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "POST", Path: "/api/central/auth/refresh", Body: map[string]string{"refresh_token": rt2}})
	// Logging out twice, or with an unknown token, is harmless.
	s.Expect(t, 204, "", testsilo.Request{Method: "POST", Path: "/api/central/auth/logout", Body: map[string]string{"refresh_token": rt2}})
	s.Expect(t, 204, "", testsilo.Request{Method: "POST", Path: "/api/central/auth/logout", Body: map[string]string{"refresh_token": "unknown"}})
	s.Expect(t, 400, "VALIDATION_FAILED", testsilo.Request{Method: "POST", Path: "/api/central/auth/logout", Body: map[string]string{}})
}
