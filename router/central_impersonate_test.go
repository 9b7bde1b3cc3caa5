package router_test

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestImpersonate(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	super := s.bootstrap()
	superID := s.call("GET", "/api/central/auth/me", super, nil).user()["id"].(string)
	_, admin := s.addAdmin(super, "plain@example.com", "admin")
	s.newTenant(t, "imp")
	userID := s.tlogin(t, "imp", adminOf("imp"), password).user()["id"].(string)
	path := "/api/central/tenants/imp/impersonate"

	t.Run("AdminForbidden", func(t *testing.T) {
		before := s.rows()
		expect(t, s.call("POST", path, admin, map[string]string{"userId": userID}), 403, "FORBIDDEN")
		expect(t, s.call("POST", path, "", map[string]string{"userId": userID}), 401, "UNAUTHENTICATED")
		if s.rows() != before {
			t.Fatal("refused impersonation changed the database")
		}
	})
	t.Run("BadInput", func(t *testing.T) {
		expect(t, s.call("POST", path, super, map[string]string{"userId": "1' OR '1'='1"}), 400, "VALIDATION_FAILED")
		expect(t, s.call("POST", path, super, map[string]string{"userId": "01a21284-9322-7bbd-8f49-73c47e0f1394"}), 404, "NOT_FOUND")
		expect(t, s.call("POST", "/api/central/tenants/nope/impersonate", super, map[string]string{"userId": userID}), 404, "TENANT_NOT_FOUND")
	})
	t.Run("Superadmin", func(t *testing.T) {
		r := s.call("POST", path, super, map[string]string{"userId": userID})
		expect(t, r, 200, "")
		if r.body["expires_in"] != float64(900) || r.user()["id"] != userID {
			t.Fatalf("impersonation = %s", r.raw)
		}
		tok := r.str("access_token")
		claims, err := s.keys.Verify(tok, "silo:tenant:imp")
		if err != nil || claims.Actor == nil || claims.Actor.Subject != superID || claims.TenantID != "imp" {
			t.Fatalf("claims %+v, %v", claims, err)
		}
		me := s.tc(t, "GET", mePath, "imp", tok, nil)
		expect(t, me, 200, "")
		if me.body["impersonatedBy"] != superID {
			t.Fatalf("me = %s", me.raw)
		}
		// Bound to its tenant: refused on the central plane.
		expect(t, s.call("GET", "/api/central/auth/me", tok, nil), 401, "UNAUTHENTICATED")
		audit := s.call("GET", "/api/central/audit?limit=5", super, nil)
		found := false
		for _, e := range audit.body["entries"].([]any) {
			if e.(map[string]any)["action"] == "tenant.impersonate" {
				found = true
			}
		}
		if !found {
			t.Fatalf("no tenant.impersonate audit entry: %s", audit.raw)
		}
	})
	t.Run("ExpiresAfter15Minutes", func(t *testing.T) {
		r := s.call("POST", path, super, map[string]string{"userId": userID})
		claims, err := s.keys.Verify(r.str("access_token"), "silo:tenant:imp")
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
		old, err := tok.SignedString([]byte(testSecret))
		if err != nil {
			t.Fatal(err)
		}
		expect(t, s.tc(t, "GET", mePath, "imp", old, nil), 401, "TOKEN_EXPIRED")
	})
	t.Run("RefusedAtAnotherTenant", func(t *testing.T) {
		s.newTenant(t, "imp-other")
		tok := s.call("POST", path, super, map[string]string{"userId": userID}).str("access_token")
		expect(t, s.tc(t, "GET", mePath, "imp-other", tok, nil), 401, "UNAUTHENTICATED")
	})
	t.Run("AuditedInTheTenantLog", func(t *testing.T) {
		tok := s.call("POST", path, super, map[string]string{"userId": userID}).str("access_token")
		expect(t, s.tc(t, "PUT", "/api/settings", "imp", tok, map[string]any{"displayName": "Changed by support"}), 200, "")
		admin := s.tlogin(t, "imp", adminOf("imp"), password).str("access_token")
		log := s.tc(t, "GET", "/api/audit", "imp", admin, nil)
		expect(t, log, 200, "")
		e := log.body["entries"].([]any)[0].(map[string]any)
		actor := e["actor"].(map[string]any)
		if e["action"] != "settings.update" || actor["kind"] != "central_admin" || actor["id"] != superID || e["actingAs"] != userID {
			t.Fatalf("tenant audit entry %v", e)
		}
		started := false
		for _, x := range log.body["entries"].([]any) {
			x := x.(map[string]any)
			if x["action"] == "impersonation.start" && x["actor"].(map[string]any)["id"] == superID {
				started = true
			}
		}
		if !started {
			t.Fatalf("the impersonation itself is not in the tenant log: %s", log.raw)
		}
	})
	t.Run("SuspendedTenant", func(t *testing.T) {
		expect(t, s.call("POST", "/api/central/tenants/imp/suspend", super, nil), 200, "")
		expect(t, s.call("POST", path, super, map[string]string{"userId": userID}), 409, "CONFLICT")
	})
}

// TestImpersonationEndsWithTheImpersonator: an impersonation token is
// refused from the next request on once its central admin is deleted,
// deactivated or no longer a superadmin, though the token itself is still
// valid for minutes.
func TestImpersonationEndsWithTheImpersonator(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	root := s.bootstrap()
	s.newTenant(t, "imp-end")
	userID := s.tlogin(t, "imp-end", adminOf("imp-end"), password).user()["id"].(string)
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
			id, super := s.addAdmin(root, strings.ToLower(c.name)+"@example.com", "superadmin")
			r := s.call("POST", "/api/central/tenants/imp-end/impersonate", super, map[string]string{"userId": userID})
			expect(t, r, 200, "")
			tok := r.str("access_token")
			expect(t, s.tc(t, "GET", mePath, "imp-end", tok, nil), 200, "")
			expect(t, s.tc(t, "GET", "/api/users", "imp-end", tok, nil), 200, "")
			want := 200
			if c.method == "DELETE" {
				want = 204
			}
			expect(t, s.call(c.method, "/api/central/admins/"+id, root, c.body), want, "")
			expect(t, s.tc(t, "GET", mePath, "imp-end", tok, nil), 401, "UNAUTHENTICATED")
			expect(t, s.tc(t, "GET", "/api/users", "imp-end", tok, nil), 401, "UNAUTHENTICATED")
			before := s.tc(t, "GET", "/api/settings", "imp-end", s.tlogin(t, "imp-end", adminOf("imp-end"), password).str("access_token"), nil).raw
			expect(t, s.tc(t, "PUT", "/api/settings", "imp-end", tok, map[string]any{"displayName": "Stale support"}), 401, "UNAUTHENTICATED")
			after := s.tc(t, "GET", "/api/settings", "imp-end", s.tlogin(t, "imp-end", adminOf("imp-end"), password).str("access_token"), nil).raw
			if before != after {
				t.Fatalf("a refused impersonation changed the settings: %s -> %s", before, after)
			}
		})
	}
	t.Run("UserTokensUnaffected", func(t *testing.T) {
		expect(t, s.tc(t, "GET", mePath, "imp-end", s.tlogin(t, "imp-end", adminOf("imp-end"), password).str("access_token"), nil), 200, "")
	})
}
