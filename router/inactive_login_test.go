package router_test

import (
	"testing"

	"github.com/silo-dev/silo/internal/testsupport/testsilo"
)

// sameRefusal fails unless a and b are the same answer: status, code,
// message and every header but the request id (whose value differs).
func sameRefusal(t *testing.T, a, b *testsilo.Response) {
	t.Helper()
	ae, _ := a.JSON["error"].(map[string]any)
	be, _ := b.JSON["error"].(map[string]any)
	if a.Status != b.Status || ae == nil || be == nil || len(ae) != len(be) {
		t.Fatalf("answers differ:\n%d %s\n%d %s", a.Status, a.Raw, b.Status, b.Raw)
	}
	for k, v := range ae {
		if k != "requestId" && be[k] != v {
			t.Fatalf("answers differ in %s:\n%s\n%s", k, a.Raw, b.Raw)
		}
	}
	for k := range a.Header {
		if k != "X-Request-Id" && k != "Date" && a.Header.Get(k) != b.Header.Get(k) {
			t.Fatalf("header %s differs: %q vs %q", k, a.Header.Get(k), b.Header.Get(k))
		}
	}
}

// TestInactiveLoginIsNoOracle: a deactivated account's login answers 401
// INVALID_CREDENTIALS with the right password exactly as with a wrong one,
// on both planes, and its refresh token is refused as an unknown one is.
func TestInactiveLoginIsNoOracle(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	root := s.AdminToken()

	t.Run("Central", func(t *testing.T) {
		id, _ := s.AddAdmin(t, root, "dormant@example.com", "admin")
		refresh := s.CentralLogin(t, "dormant@example.com", password).Str("refresh_token")
		s.Expect(t, 200, "", testsilo.Request{Method: "PATCH", Path: "/api/central/admins/" + id, Token: root, Body: map[string]any{"isActive": false}})
		right := s.Do(t, testsilo.Request{Method: "POST", Path: "/api/central/auth/login", Body: creds("dormant@example.com", password)})
		wrong := s.Do(t, testsilo.Request{Method: "POST", Path: "/api/central/auth/login", Body: creds("dormant@example.com", "wrong password 1")})
		unknown := s.Do(t, testsilo.Request{Method: "POST", Path: "/api/central/auth/login", Body: creds("nobody@example.com", password)})
		right.Require(t, 401, "INVALID_CREDENTIALS")
		sameRefusal(t, right, wrong)
		sameRefusal(t, right, unknown)
		r := s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "POST", Path: "/api/central/auth/refresh", Body: map[string]string{"refresh_token": refresh}})
		sameRefusal(t, r, s.Do(t, testsilo.Request{Method: "POST", Path: "/api/central/auth/refresh", Body: map[string]string{"refresh_token": "no-such-token"}}))
	})
	t.Run("Tenant", func(t *testing.T) {
		tn := s.Tenant(t, tenantOf("dormant"))
		member := s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: "/api/central/tenants/dormant/invitations", Token: root, Body: map[string]string{"email": "sleeper@dormant.example", "role": "member"}})
		acc := s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: "/api/invitations/accept", Tenant: "dormant", Body: map[string]any{
			"token": member.Str("token"), "password": password, "firstName": "Rip", "lastName": "Winkle"}})
		sleeper := acc.Obj("user")["id"].(string)
		refresh := s.TenantLogin(t, "dormant", "sleeper@dormant.example", password).Str("refresh_token")
		rootExec(t, tn.DatabaseName, "UPDATE {db}.users SET is_active = 0 WHERE id = ?", sleeper)
		right := s.Do(t, testsilo.Request{Method: "POST", Path: loginPath, Tenant: "dormant", Body: creds("sleeper@dormant.example", password)})
		wrong := s.Do(t, testsilo.Request{Method: "POST", Path: loginPath, Tenant: "dormant", Body: creds("sleeper@dormant.example", "wrong password 1")})
		unknown := s.Do(t, testsilo.Request{Method: "POST", Path: loginPath, Tenant: "dormant", Body: creds("nobody@dormant.example", password)})
		right.Require(t, 401, "INVALID_CREDENTIALS")
		sameRefusal(t, right, wrong)
		sameRefusal(t, right, unknown)
		r := s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "POST", Path: refreshPath, Tenant: "dormant", Body: map[string]string{"refresh_token": refresh}})
		sameRefusal(t, r, s.Do(t, testsilo.Request{Method: "POST", Path: refreshPath, Tenant: "dormant", Body: map[string]string{"refresh_token": "no-such-token"}}))
	})
}
