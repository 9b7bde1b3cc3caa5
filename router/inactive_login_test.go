package router_test

import "testing"

// sameRefusal fails unless a and b are the same answer: status, code,
// message and every header but the request id (whose value differs).
func sameRefusal(t *testing.T, a, b response) {
	t.Helper()
	ae, _ := a.body["error"].(map[string]any)
	be, _ := b.body["error"].(map[string]any)
	if a.status != b.status || ae == nil || be == nil || len(ae) != len(be) {
		t.Fatalf("answers differ:\n%d %s\n%d %s", a.status, a.raw, b.status, b.raw)
	}
	for k, v := range ae {
		if k != "requestId" && be[k] != v {
			t.Fatalf("answers differ in %s:\n%s\n%s", k, a.raw, b.raw)
		}
	}
	for k := range a.header {
		if k != "X-Request-Id" && k != "Date" && a.header.Get(k) != b.header.Get(k) {
			t.Fatalf("header %s differs: %q vs %q", k, a.header.Get(k), b.header.Get(k))
		}
	}
}

// TestInactiveLoginIsNoOracle: a deactivated account's login answers 401
// INVALID_CREDENTIALS with the right password exactly as with a wrong one,
// on both planes, and its refresh token is refused as an unknown one is.
func TestInactiveLoginIsNoOracle(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	root := s.bootstrap()

	t.Run("Central", func(t *testing.T) {
		id, _ := s.addAdmin(root, "dormant@example.com", "admin")
		refresh := s.login("dormant@example.com", password).str("refresh_token")
		expect(t, s.call("PATCH", "/api/central/admins/"+id, root, map[string]any{"isActive": false}), 200, "")
		right := s.call("POST", "/api/central/auth/login", "", creds("dormant@example.com", password))
		wrong := s.call("POST", "/api/central/auth/login", "", creds("dormant@example.com", "wrong password 1"))
		unknown := s.call("POST", "/api/central/auth/login", "", creds("nobody@example.com", password))
		expect(t, right, 401, "INVALID_CREDENTIALS")
		sameRefusal(t, right, wrong)
		sameRefusal(t, right, unknown)
		r := s.call("POST", "/api/central/auth/refresh", "", map[string]string{"refresh_token": refresh})
		expect(t, r, 401, "UNAUTHENTICATED")
		sameRefusal(t, r, s.call("POST", "/api/central/auth/refresh", "", map[string]string{"refresh_token": "no-such-token"}))
	})
	t.Run("Tenant", func(t *testing.T) {
		tn := s.newTenant(t, "dormant")
		member := s.call("POST", "/api/central/tenants/dormant/invitations", root, map[string]string{"email": "sleeper@dormant.example", "role": "member"})
		expect(t, member, 201, "")
		acc := s.tc(t, "POST", "/api/invitations/accept", "dormant", "", map[string]any{
			"token": member.str("token"), "password": password, "firstName": "Rip", "lastName": "Winkle"})
		expect(t, acc, 201, "")
		sleeper := acc.user()["id"].(string)
		refresh := s.tlogin(t, "dormant", "sleeper@dormant.example", password).str("refresh_token")
		rootExec(t, tn.DatabaseName, "UPDATE {db}.users SET is_active = 0 WHERE id = ?", sleeper)
		right := s.tc(t, "POST", loginPath, "dormant", "", creds("sleeper@dormant.example", password))
		wrong := s.tc(t, "POST", loginPath, "dormant", "", creds("sleeper@dormant.example", "wrong password 1"))
		unknown := s.tc(t, "POST", loginPath, "dormant", "", creds("nobody@dormant.example", password))
		expect(t, right, 401, "INVALID_CREDENTIALS")
		sameRefusal(t, right, wrong)
		sameRefusal(t, right, unknown)
		r := s.tc(t, "POST", refreshPath, "dormant", "", map[string]string{"refresh_token": refresh})
		expect(t, r, 401, "UNAUTHENTICATED")
		sameRefusal(t, r, s.tc(t, "POST", refreshPath, "dormant", "", map[string]string{"refresh_token": "no-such-token"}))
	})
}
