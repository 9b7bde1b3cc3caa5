package router_test

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/silo-dev/silo/internal/testsupport/testsilo"
)

func TestImpersonate(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	super := s.AdminToken()
	superID := s.Do(t, testsilo.Request{Method: "GET", Path: "/api/central/auth/me", Token: super}).Obj("user")["id"].(string)
	_, admin := s.AddAdmin(t, super, "plain@example.com", "admin")
	s.Tenant(t, tenantOf("imp"))
	userID := s.TenantLogin(t, "imp", adminOf("imp"), password).Obj("user")["id"].(string)
	path := "/api/central/tenants/imp/impersonate"

	t.Run("AdminForbidden", func(t *testing.T) {
		before := s.rows()
		s.Expect(t, 403, "FORBIDDEN", testsilo.Request{Method: "POST", Path: path, Token: admin, Body: map[string]string{"userId": userID}})
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "POST", Path: path, Body: map[string]string{"userId": userID}})
		if s.rows() != before {
			t.Fatal("refused impersonation changed the database")
		}
	})
	t.Run("BadInput", func(t *testing.T) {
		s.Expect(t, 400, "VALIDATION_FAILED", testsilo.Request{Method: "POST", Path: path, Token: super, Body: map[string]string{"userId": "1' OR '1'='1"}})
		s.Expect(t, 404, "NOT_FOUND", testsilo.Request{Method: "POST", Path: path, Token: super, Body: map[string]string{"userId": "01a21284-9322-7bbd-8f49-73c47e0f1394"}})
		s.Expect(t, 404, "TENANT_NOT_FOUND", testsilo.Request{Method: "POST", Path: "/api/central/tenants/nope/impersonate", Token: super, Body: map[string]string{"userId": userID}})
		before := s.rows()
		for _, body := range []map[string]string{{}, {"userId": "", "email": ""}, {"email": "not an email"},
			{"userId": userID, "email": adminOf("imp")}, {"email": "Admin <" + adminOf("imp") + ">"}} {
			s.Expect(t, 400, "VALIDATION_FAILED", testsilo.Request{Method: "POST", Path: path, Token: super, Body: body})
		}
		s.Expect(t, 404, "NOT_FOUND", testsilo.Request{Method: "POST", Path: path, Token: super, Body: map[string]string{"email": "nobody@imp.test"}})
		if s.rows() != before {
			t.Fatal("refused impersonation changed the database")
		}
	})
	t.Run("ByEmail", func(t *testing.T) {
		r := s.Expect(t, 200, "", testsilo.Request{Method: "POST", Path: path, Token: super,
			Body: map[string]string{"email": " " + strings.ToUpper(adminOf("imp"))}})
		if r.Obj("user")["id"] != userID || r.Obj("user")["email"] != adminOf("imp") {
			t.Fatalf("impersonation by email = %s", r.Raw)
		}
		me := s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: mePath, Tenant: "imp", Token: r.Str("access_token")})
		if me.Obj("user")["id"] != userID || me.JSON["impersonatedBy"] != superID {
			t.Fatalf("me = %s", me.Raw)
		}
	})
	t.Run("Superadmin", func(t *testing.T) {
		r := s.Expect(t, 200, "", testsilo.Request{Method: "POST", Path: path, Token: super, Body: map[string]string{"userId": userID}})
		if r.JSON["expires_in"] != float64(900) || r.Obj("user")["id"] != userID {
			t.Fatalf("impersonation = %s", r.Raw)
		}
		tok := r.Str("access_token")
		claims, err := s.keys.Verify(tok, "silo:tenant:imp")
		if err != nil || claims.Actor == nil || claims.Actor.Subject != superID || claims.TenantID != "imp" {
			t.Fatalf("claims %+v, %v", claims, err)
		}
		me := s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: mePath, Tenant: "imp", Token: tok})
		if me.JSON["impersonatedBy"] != superID {
			t.Fatalf("me = %s", me.Raw)
		}
		// Bound to its tenant: refused on the central plane.
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: "/api/central/auth/me", Token: tok})
		audit := s.Do(t, testsilo.Request{Method: "GET", Path: "/api/central/audit?limit=5", Token: super})
		found := false
		for _, e := range audit.JSON["entries"].([]any) {
			if e.(map[string]any)["action"] == "tenant.impersonate" {
				found = true
			}
		}
		if !found {
			t.Fatalf("no tenant.impersonate audit entry: %s", audit.Raw)
		}
	})
	t.Run("ExpiresAfter15Minutes", func(t *testing.T) {
		r := s.Do(t, testsilo.Request{Method: "POST", Path: path, Token: super, Body: map[string]string{"userId": userID}})
		claims, err := s.keys.Verify(r.Str("access_token"), "silo:tenant:imp")
		if err != nil {
			t.Fatal(err)
		}
		if life := claims.ExpiresAt.Sub(claims.IssuedAt.Time); life != 15*time.Minute {
			t.Fatalf("impersonation token lives %v", life)
		}
		// The same token 16 minutes on (a clock moved by signing it back in time).
		past := time.Now().Add(-16 * time.Minute)
		m := jwt.MapClaims{"iss": "silo", "sub": userID, "aud": []string{"silo:tenant:imp"}, "tid": "imp",
			"email": claims.Email, "act": map[string]string{"sub": superID}, "jti": "x",
			"iat": past.Unix(), "nbf": past.Unix(), "exp": past.Add(15 * time.Minute).Unix()}
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, m)
		tok.Header["kid"] = testKID
		old, err := tok.SignedString(testKey)
		if err != nil {
			t.Fatal(err)
		}
		s.Expect(t, 401, "TOKEN_EXPIRED", testsilo.Request{Method: "GET", Path: mePath, Tenant: "imp", Token: old})
	})
	t.Run("RefusedAtAnotherTenant", func(t *testing.T) {
		s.Tenant(t, tenantOf("imp-other"))
		tok := s.Do(t, testsilo.Request{Method: "POST", Path: path, Token: super, Body: map[string]string{"userId": userID}}).Str("access_token")
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: mePath, Tenant: "imp-other", Token: tok})
	})
	t.Run("AuditedInTheTenantLog", func(t *testing.T) {
		tok := s.Do(t, testsilo.Request{Method: "POST", Path: path, Token: super, Body: map[string]string{"userId": userID}}).Str("access_token")
		s.Expect(t, 200, "", testsilo.Request{Method: "PUT", Path: "/api/settings", Tenant: "imp", Token: tok, Body: map[string]any{"displayName": "Changed by support"}})
		admin := s.TenantLogin(t, "imp", adminOf("imp"), password).Str("access_token")
		log := s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: "/api/audit", Tenant: "imp", Token: admin})
		e := log.JSON["entries"].([]any)[0].(map[string]any)
		actor := e["actor"].(map[string]any)
		if e["action"] != "settings.update" || actor["kind"] != "central_admin" || actor["id"] != superID || e["actingAs"] != userID {
			t.Fatalf("tenant audit entry %v", e)
		}
		started := false
		for _, x := range log.JSON["entries"].([]any) {
			x := x.(map[string]any)
			if x["action"] == "impersonation.start" && x["actor"].(map[string]any)["id"] == superID {
				started = true
			}
		}
		if !started {
			t.Fatalf("the impersonation itself is not in the tenant log: %s", log.Raw)
		}
	})
	t.Run("SuspendedTenant", func(t *testing.T) {
		s.Expect(t, 200, "", testsilo.Request{Method: "POST", Path: "/api/central/tenants/imp/suspend", Token: super})
		s.Expect(t, 409, "CONFLICT", testsilo.Request{Method: "POST", Path: path, Token: super, Body: map[string]string{"userId": userID}})
	})
}

// TestImpersonationEndsWithTheImpersonator: an impersonation token is
// refused from the next request on once its central admin is deleted,
// deactivated or no longer a superadmin, though the token itself is still
// valid for minutes.
func TestImpersonationEndsWithTheImpersonator(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	root := s.AdminToken()
	s.Tenant(t, tenantOf("imp-end"))
	userID := s.TenantLogin(t, "imp-end", adminOf("imp-end"), password).Obj("user")["id"].(string)
	for _, c := range []struct {
		name   string
		method string
		body   any
	}{
		{"Deleted", "DELETE", nil},
		{"Deactivated", "PATCH", map[string]any{"isActive": false}},
		{"Demoted", "PATCH", map[string]any{"role": "admin"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			id, super := s.AddAdmin(t, root, strings.ToLower(c.name)+"@example.com", "superadmin")
			r := s.Expect(t, 200, "", testsilo.Request{Method: "POST", Path: "/api/central/tenants/imp-end/impersonate", Token: super, Body: map[string]string{"userId": userID}})
			tok := r.Str("access_token")
			s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: mePath, Tenant: "imp-end", Token: tok})
			s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: "/api/users", Tenant: "imp-end", Token: tok})
			want := 200
			if c.method == "DELETE" {
				want = 204
			}
			s.Expect(t, want, "", testsilo.Request{Method: c.method, Path: "/api/central/admins/" + id, Token: root, Body: c.body})
			s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: mePath, Tenant: "imp-end", Token: tok})
			s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: "/api/users", Tenant: "imp-end", Token: tok})
			before := string(s.Do(t, testsilo.Request{Method: "GET", Path: "/api/settings", Tenant: "imp-end", Token: s.TenantLogin(t, "imp-end", adminOf("imp-end"), password).Str("access_token")}).Raw)
			s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "PUT", Path: "/api/settings", Tenant: "imp-end", Token: tok, Body: map[string]any{"displayName": "Stale support"}})
			after := string(s.Do(t, testsilo.Request{Method: "GET", Path: "/api/settings", Tenant: "imp-end", Token: s.TenantLogin(t, "imp-end", adminOf("imp-end"), password).Str("access_token")}).Raw)
			if before != after {
				t.Fatalf("a refused impersonation changed the settings: %s -> %s", before, after)
			}
		})
	}
	t.Run("UserTokensUnaffected", func(t *testing.T) {
		s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: mePath, Tenant: "imp-end", Token: s.TenantLogin(t, "imp-end", adminOf("imp-end"), password).Str("access_token")})
	})
}
