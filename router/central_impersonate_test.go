package router_test

import (
	"testing"
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
	t.Run("SuspendedTenant", func(t *testing.T) {
		expect(t, s.call("POST", "/api/central/tenants/imp/suspend", super, nil), 200, "")
		expect(t, s.call("POST", path, super, map[string]string{"userId": userID}), 409, "CONFLICT")
	})
}
