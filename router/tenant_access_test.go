package router_test

import (
	"strings"
	"testing"
	"time"

	"github.com/silo-dev/silo/internal/testsupport/testsilo"
)

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.Tenant(t, tenantOf("keys"))
	s.Tenant(t, tenantOf("other"))
	admin := s.TenantLogin(t, "keys", adminOf("keys"), password).Str("access_token")

	r := s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: "/api/api-keys", Tenant: "keys", Token: admin, Body: map[string]any{"name": "ci", "permissions": []string{"users:read"}}})
	key := r.Str("key")
	keyID := r.JSON["apiKey"].(map[string]any)["id"].(string)
	if len(key) < 40 || key[:5] != "silo_" {
		t.Fatalf("key %q", key)
	}
	t.Run("Usable", func(t *testing.T) {
		s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: "/api/users", Tenant: "keys", Token: key})
		s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: "/api/users", Tenant: "keys", Header: map[string]string{"X-API-Key": key}})
		// X-API-Key carries keys only: an access token there is refused.
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: "/api/users", Tenant: "keys", Header: map[string]string{"X-API-Key": admin}})
	})
	t.Run("LimitedToItsPermissions", func(t *testing.T) {
		s.Expect(t, 403, "FORBIDDEN", testsilo.Request{Method: "POST", Path: "/api/users", Tenant: "keys", Token: key, Body: signup("new@keys.io", password)})
		s.Expect(t, 403, "FORBIDDEN", testsilo.Request{Method: "GET", Path: "/api/audit", Tenant: "keys", Token: key})
		s.Expect(t, 403, "FORBIDDEN", testsilo.Request{Method: "GET", Path: mePath, Tenant: "keys", Token: key})
	})
	t.Run("BoundToItsTenant", func(t *testing.T) {
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: "/api/users", Tenant: "other", Token: key})
	})
	t.Run("NotStoredInClear", func(t *testing.T) {
		list := s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: "/api/api-keys", Tenant: "keys", Token: admin})
		if strings.Contains(string(list.Raw), key) {
			t.Fatal("the key is listed")
		}
	})
	t.Run("CannotExceedCreator", func(t *testing.T) {
		member := s.SignUp(t, "keys", "m@keys.io", password)
		_ = member
		mtok := s.TenantLogin(t, "keys", "m@keys.io", password).Str("access_token")
		s.Expect(t, 403, "FORBIDDEN", testsilo.Request{Method: "POST", Path: "/api/api-keys", Tenant: "keys", Token: mtok, Body: map[string]any{"name": "x", "permissions": []string{"data:read"}}})
		s.Expect(t, 400, "VALIDATION_FAILED", testsilo.Request{Method: "POST", Path: "/api/api-keys", Tenant: "keys", Token: admin, Body: map[string]any{"name": "x", "permissions": []string{"root"}}})
		s.Expect(t, 400, "VALIDATION_FAILED", testsilo.Request{Method: "POST", Path: "/api/api-keys", Tenant: "keys", Token: admin, Body: map[string]any{"name": "x", "permissions": []string{"data:read"}, "expiresAt": time.Now().Add(-time.Hour)}})
	})
	t.Run("RevokedAtOnce", func(t *testing.T) {
		s.Expect(t, 204, "", testsilo.Request{Method: "DELETE", Path: "/api/api-keys/" + keyID, Tenant: "keys", Token: admin})
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: "/api/users", Tenant: "keys", Token: key})
		s.Expect(t, 404, "NOT_FOUND", testsilo.Request{Method: "DELETE", Path: "/api/api-keys/01a21284-9322-7bbd-8f49-73c47e0f1394", Tenant: "keys", Token: admin})
	})
	t.Run("Expired", func(t *testing.T) {
		r := s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: "/api/api-keys", Tenant: "keys", Token: admin, Body: map[string]any{"name": "short", "permissions": []string{"users:read"},
			"expiresAt": time.Now().Add(time.Hour)}})
		k := r.Str("key")
		s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: "/api/users", Tenant: "keys", Token: k})
		rootExec(t, s.Record(t, "keys").DatabaseName, "UPDATE {db}.api_keys SET expires_at = ? WHERE id = ?",
			time.Now().Add(-time.Second).UTC(), r.JSON["apiKey"].(map[string]any)["id"])
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: "/api/users", Tenant: "keys", Token: k})
	})
}

func TestInvitations(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	super := s.AdminToken()
	s.Tenant(t, tenantOf("inv"))
	admin := s.TenantLogin(t, "inv", adminOf("inv"), password).Str("access_token")
	invite := func(email, role string) (id, token string) {
		t.Helper()
		r := s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: "/api/invitations", Tenant: "inv", Token: admin, Body: map[string]string{"email": email, "role": role}})
		return r.JSON["invitation"].(map[string]any)["id"].(string), r.Str("token")
	}
	accept := func(token string, bearer string) *testsilo.Response {
		body := map[string]any{"token": token}
		if bearer == "" {
			body["password"], body["firstName"], body["lastName"] = password, "In", "Vitee"
		}
		return s.Do(t, testsilo.Request{Method: "POST", Path: "/api/invitations/accept", Tenant: "inv", Token: bearer, Body: body})
	}

	t.Run("NewAccount", func(t *testing.T) {
		_, tok := invite("new@inv.io", "tenant_admin")
		r := accept(tok, "")
		r.Require(t, 201, "")
		if r.Obj("user")["email"] != "new@inv.io" {
			t.Fatalf("user %s", r.Raw)
		}
		me := s.Do(t, testsilo.Request{Method: "GET", Path: mePath, Tenant: "inv", Token: s.TenantLogin(t, "inv", "new@inv.io", password).Str("access_token")})
		if roles, _ := me.Obj("user")["roles"].([]any); len(roles) != 1 || roles[0] != "tenant_admin" {
			t.Fatalf("roles %s", me.Raw)
		}
		accept(tok, "").Require(t, 409, "INVITATION_USED")
	})
	t.Run("ExistingAccount", func(t *testing.T) {
		s.SignUp(t, "inv", "old@inv.io", password)
		oldTok := s.TenantLogin(t, "inv", "old@inv.io", password).Str("access_token")
		_, tok := invite("old@inv.io", "tenant_admin")
		accept(tok, admin).Require(t, 403, "FORBIDDEN") // someone else's token
		accept(tok, oldTok).Require(t, 200, "")
		me := s.Do(t, testsilo.Request{Method: "GET", Path: mePath, Tenant: "inv", Token: oldTok})
		if roles, _ := me.Obj("user")["roles"].([]any); len(roles) != 2 {
			t.Fatalf("roles %s", me.Raw)
		}
	})
	t.Run("Revoked", func(t *testing.T) {
		id, tok := invite("rev@inv.io", "member")
		s.Expect(t, 204, "", testsilo.Request{Method: "DELETE", Path: "/api/invitations/" + id, Tenant: "inv", Token: admin})
		accept(tok, "").Require(t, 409, "INVITATION_REVOKED")
	})
	t.Run("Expired", func(t *testing.T) {
		id, tok := invite("exp@inv.io", "member")
		rootExec(t, s.Record(t, "inv").DatabaseName, "UPDATE {db}.invitations SET expires_at = ? WHERE id = ?", time.Now().Add(-time.Minute).UTC(), id)
		accept(tok, "").Require(t, 409, "INVITATION_EXPIRED")
	})
	t.Run("Invalid", func(t *testing.T) {
		accept("silo_inv_nope", "").Require(t, 400, "INVITATION_INVALID")
		s.Expect(t, 400, "VALIDATION_FAILED", testsilo.Request{Method: "POST", Path: "/api/invitations", Tenant: "inv", Token: admin, Body: map[string]string{"email": "x@inv.io", "role": "nope"}})
	})
	t.Run("RoleDeletedMeanwhile", func(t *testing.T) {
		s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: "/api/roles", Tenant: "inv", Token: admin,
			Body: map[string]any{"name": "temp", "permissions": []string{"data:read"}}})
		_, tok := invite("gone@inv.io", "temp")
		s.Expect(t, 204, "", testsilo.Request{Method: "DELETE", Path: "/api/roles/temp", Tenant: "inv", Token: admin})
		accept(tok, "").Require(t, 409, "INVITATION_ROLE_GONE")
		s.Expect(t, 401, "", testsilo.Request{Method: "POST", Path: "/api/auth/login", Tenant: "inv",
			Body: map[string]string{"email": "gone@inv.io", "password": password}}) // no account was made
	})
	t.Run("FirstAdminThroughCentral", func(t *testing.T) {
		r := s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: "/api/central/tenants/inv/invitations", Token: super, Body: map[string]string{"email": "first@inv.io", "role": "tenant_admin"}})
		accept(r.Str("token"), "").Require(t, 201, "")
		s.TenantLogin(t, "inv", "first@inv.io", password)
	})
	t.Run("PublicSignupIsMember", func(t *testing.T) {
		s.Expect(t, 400, "VALIDATION_FAILED", testsilo.Request{Method: "POST", Path: registerPath, Tenant: "inv", Body: map[string]any{"email": "p@inv.io", "password": password, "firstName": "P", "lastName": "Q", "role": "tenant_admin"}})
	})
}

// A user manager (users:write) manages members but cannot demote or remove
// a tenant_admin.
func TestUserManagerCannotUnseatAdmins(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.Tenant(t, tenantOf("seat"))
	admin := s.TenantLogin(t, "seat", adminOf("seat"), password).Str("access_token")
	adminID := s.Do(t, testsilo.Request{Method: "GET", Path: mePath, Tenant: "seat", Token: admin}).Obj("user")["id"].(string)
	s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: "/api/roles", Tenant: "seat", Token: admin, Body: map[string]any{"name": "manager", "permissions": []string{"users:read", "users:write"}}})
	s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: "/api/users", Tenant: "seat", Token: admin, Body: map[string]any{"email": "mgr@seat.io", "password": password, "firstName": "M", "lastName": "G", "roles": []string{"manager"}}})
	second := s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: "/api/users", Tenant: "seat", Token: admin, Body: map[string]any{"email": "adm2@seat.io", "password": password, "firstName": "A", "lastName": "D", "roles": []string{"tenant_admin"}}})
	member := s.SignUp(t, "seat", "mem@seat.io", password)
	mgr := s.TenantLogin(t, "seat", "mgr@seat.io", password).Str("access_token")

	s.Expect(t, 403, "FORBIDDEN", testsilo.Request{Method: "DELETE", Path: "/api/users/" + adminID, Tenant: "seat", Token: mgr})
	s.Expect(t, 403, "FORBIDDEN", testsilo.Request{Method: "PUT", Path: "/api/users/" + second.Obj("user")["id"].(string) + "/roles", Tenant: "seat", Token: mgr, Body: map[string]any{"roles": []string{}}})
	s.Expect(t, 204, "", testsilo.Request{Method: "DELETE", Path: "/api/users/" + member, Tenant: "seat", Token: mgr})
	// A tenant_admin may remove another one (not the last).
	s.Expect(t, 204, "", testsilo.Request{Method: "DELETE", Path: "/api/users/" + second.Obj("user")["id"].(string), Tenant: "seat", Token: admin})
}
