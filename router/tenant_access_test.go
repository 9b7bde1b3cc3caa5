package router_test

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.newTenant(t, "keys")
	s.newTenant(t, "other")
	admin := s.tlogin(t, "keys", adminOf("keys"), password).str("access_token")

	r := s.tc(t, "POST", "/api/api-keys", "keys", admin, map[string]any{"name": "ci", "permissions": []string{"users:read"}})
	expect(t, r, 201, "")
	key := r.str("key")
	keyID := r.body["apiKey"].(map[string]any)["id"].(string)
	if len(key) < 40 || key[:5] != "silo_" {
		t.Fatalf("key %q", key)
	}
	t.Run("Usable", func(t *testing.T) {
		expect(t, s.tc(t, "GET", "/api/users", "keys", key, nil), 200, "")
		expect(t, s.tc(t, "GET", "/api/users", "keys", "", nil, "X-API-Key", key), 200, "")
	})
	t.Run("LimitedToItsPermissions", func(t *testing.T) {
		expect(t, s.tc(t, "POST", "/api/users", "keys", key, signup("new@keys.io", password)), 403, "FORBIDDEN")
		expect(t, s.tc(t, "GET", "/api/audit", "keys", key, nil), 403, "FORBIDDEN")
		expect(t, s.tc(t, "GET", mePath, "keys", key, nil), 403, "FORBIDDEN")
	})
	t.Run("BoundToItsTenant", func(t *testing.T) {
		expect(t, s.tc(t, "GET", "/api/users", "other", key, nil), 401, "UNAUTHENTICATED")
	})
	t.Run("NotStoredInClear", func(t *testing.T) {
		list := s.tc(t, "GET", "/api/api-keys", "keys", admin, nil)
		expect(t, list, 200, "")
		if strings.Contains(list.raw, key) {
			t.Fatal("the key is listed")
		}
	})
	t.Run("CannotExceedCreator", func(t *testing.T) {
		member := s.register(t, "keys", "m@keys.io", password)
		_ = member
		mtok := s.tlogin(t, "keys", "m@keys.io", password).str("access_token")
		expect(t, s.tc(t, "POST", "/api/api-keys", "keys", mtok, map[string]any{"name": "x", "permissions": []string{"data:read"}}), 403, "FORBIDDEN")
		expect(t, s.tc(t, "POST", "/api/api-keys", "keys", admin, map[string]any{"name": "x", "permissions": []string{"root"}}), 400, "VALIDATION_FAILED")
		expect(t, s.tc(t, "POST", "/api/api-keys", "keys", admin, map[string]any{"name": "x", "permissions": []string{"data:read"}, "expiresAt": time.Now().Add(-time.Hour)}), 400, "VALIDATION_FAILED")
	})
	t.Run("RevokedAtOnce", func(t *testing.T) {
		expect(t, s.tc(t, "DELETE", "/api/api-keys/"+keyID, "keys", admin, nil), 204, "")
		expect(t, s.tc(t, "GET", "/api/users", "keys", key, nil), 401, "UNAUTHENTICATED")
		expect(t, s.tc(t, "DELETE", "/api/api-keys/01a21284-9322-7bbd-8f49-73c47e0f1394", "keys", admin, nil), 404, "NOT_FOUND")
	})
	t.Run("Expired", func(t *testing.T) {
		r := s.tc(t, "POST", "/api/api-keys", "keys", admin, map[string]any{"name": "short", "permissions": []string{"users:read"},
			"expiresAt": time.Now().Add(time.Hour)})
		expect(t, r, 201, "")
		k := r.str("key")
		expect(t, s.tc(t, "GET", "/api/users", "keys", k, nil), 200, "")
		ten, err := s.prov.Get(context.Background(), "keys")
		if err != nil {
			t.Fatal(err)
		}
		rootExec(t, ten.DatabaseName, "UPDATE {db}.api_keys SET expires_at = ? WHERE id = ?",
			time.Now().Add(-time.Second).UTC(), r.body["apiKey"].(map[string]any)["id"])
		expect(t, s.tc(t, "GET", "/api/users", "keys", k, nil), 401, "UNAUTHENTICATED")
	})
}

func TestInvitations(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	super := s.bootstrap()
	s.newTenant(t, "inv")
	admin := s.tlogin(t, "inv", adminOf("inv"), password).str("access_token")
	invite := func(email, role string) (id, token string) {
		t.Helper()
		r := s.tc(t, "POST", "/api/invitations", "inv", admin, map[string]string{"email": email, "role": role})
		expect(t, r, 201, "")
		return r.body["invitation"].(map[string]any)["id"].(string), r.str("token")
	}
	accept := func(token string, bearer string) response {
		body := map[string]any{"token": token}
		if bearer == "" {
			body["password"], body["firstName"], body["lastName"] = password, "In", "Vitee"
		}
		return s.tc(t, "POST", "/api/invitations/accept", "inv", bearer, body)
	}

	t.Run("NewAccount", func(t *testing.T) {
		_, tok := invite("new@inv.io", "tenant_admin")
		r := accept(tok, "")
		expect(t, r, 201, "")
		if r.user()["email"] != "new@inv.io" {
			t.Fatalf("user %s", r.raw)
		}
		me := s.tc(t, "GET", mePath, "inv", s.tlogin(t, "inv", "new@inv.io", password).str("access_token"), nil)
		if roles, _ := me.user()["roles"].([]any); len(roles) != 1 || roles[0] != "tenant_admin" {
			t.Fatalf("roles %s", me.raw)
		}
		expect(t, accept(tok, ""), 409, "INVITATION_USED")
	})
	t.Run("ExistingAccount", func(t *testing.T) {
		s.register(t, "inv", "old@inv.io", password)
		oldTok := s.tlogin(t, "inv", "old@inv.io", password).str("access_token")
		_, tok := invite("old@inv.io", "tenant_admin")
		expect(t, accept(tok, admin), 403, "FORBIDDEN") // someone else's token
		expect(t, accept(tok, oldTok), 200, "")
		me := s.tc(t, "GET", mePath, "inv", oldTok, nil)
		if roles, _ := me.user()["roles"].([]any); len(roles) != 2 {
			t.Fatalf("roles %s", me.raw)
		}
	})
	t.Run("Revoked", func(t *testing.T) {
		id, tok := invite("rev@inv.io", "member")
		expect(t, s.tc(t, "DELETE", "/api/invitations/"+id, "inv", admin, nil), 204, "")
		expect(t, accept(tok, ""), 409, "INVITATION_REVOKED")
	})
	t.Run("Expired", func(t *testing.T) {
		id, tok := invite("exp@inv.io", "member")
		ten, err := s.prov.Get(context.Background(), "inv")
		if err != nil {
			t.Fatal(err)
		}
		rootExec(t, ten.DatabaseName, "UPDATE {db}.invitations SET expires_at = ? WHERE id = ?", time.Now().Add(-time.Minute).UTC(), id)
		expect(t, accept(tok, ""), 409, "INVITATION_EXPIRED")
	})
	t.Run("Invalid", func(t *testing.T) {
		expect(t, accept("silo_inv_nope", ""), 400, "INVITATION_INVALID")
		expect(t, s.tc(t, "POST", "/api/invitations", "inv", admin, map[string]string{"email": "x@inv.io", "role": "nope"}), 400, "VALIDATION_FAILED")
	})
	t.Run("FirstAdminThroughCentral", func(t *testing.T) {
		r := s.call("POST", "/api/central/tenants/inv/invitations", super, map[string]string{"email": "first@inv.io", "role": "tenant_admin"})
		expect(t, r, 201, "")
		expect(t, accept(r.str("token"), ""), 201, "")
		s.tlogin(t, "inv", "first@inv.io", password)
	})
	t.Run("PublicSignupIsMember", func(t *testing.T) {
		r := s.tc(t, "POST", registerPath, "inv", "", map[string]any{"email": "p@inv.io", "password": password, "firstName": "P", "lastName": "Q", "role": "tenant_admin"})
		expect(t, r, 400, "VALIDATION_FAILED")
	})
}

// A user manager (users:write) manages members but cannot demote or remove
// a tenant_admin.
func TestUserManagerCannotUnseatAdmins(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.newTenant(t, "seat")
	admin := s.tlogin(t, "seat", adminOf("seat"), password).str("access_token")
	adminID := s.tc(t, "GET", mePath, "seat", admin, nil).user()["id"].(string)
	expect(t, s.tc(t, "POST", "/api/roles", "seat", admin, map[string]any{"name": "manager", "permissions": []string{"users:read", "users:write"}}), 201, "")
	r := s.tc(t, "POST", "/api/users", "seat", admin, map[string]any{"email": "mgr@seat.io", "password": password, "firstName": "M", "lastName": "G", "roles": []string{"manager"}})
	expect(t, r, 201, "")
	second := s.tc(t, "POST", "/api/users", "seat", admin, map[string]any{"email": "adm2@seat.io", "password": password, "firstName": "A", "lastName": "D", "roles": []string{"tenant_admin"}})
	expect(t, second, 201, "")
	member := s.register(t, "seat", "mem@seat.io", password)
	mgr := s.tlogin(t, "seat", "mgr@seat.io", password).str("access_token")

	expect(t, s.tc(t, "DELETE", "/api/users/"+adminID, "seat", mgr, nil), 403, "FORBIDDEN")
	expect(t, s.tc(t, "PUT", "/api/users/"+second.user()["id"].(string)+"/roles", "seat", mgr, map[string]any{"roles": []string{}}), 403, "FORBIDDEN")
	expect(t, s.tc(t, "DELETE", "/api/users/"+member, "seat", mgr, nil), 204, "")
	// A tenant_admin may remove another one (not the last).
	expect(t, s.tc(t, "DELETE", "/api/users/"+second.user()["id"].(string), "seat", admin, nil), 204, "")
}
