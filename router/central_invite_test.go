package router_test

import (
	"strings"
	"testing"

	"github.com/silo-dev/silo/internal/testsupport/testsilo"
)

// inviteAudit returns the newest central tenant.invite entry about email.
func (s *server) inviteAudit(t *testing.T, super, email string) map[string]any {
	t.Helper()
	r := s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: "/api/central/audit?limit=100", Token: super})
	for _, e := range r.JSON["entries"].([]any) {
		e := e.(map[string]any)
		if d, _ := e["detail"].(string); e["action"] == "tenant.invite" && strings.HasPrefix(d, email+" as ") {
			return e
		}
	}
	t.Fatalf("no tenant.invite audit entry for %s: %s", email, r.Raw)
	return nil
}

// requireInviteAudit fails unless the central audit log names the actor,
// the tenant, the invited email and role, with the outcome.
func (s *server) requireInviteAudit(t *testing.T, super, actorID, slug, email, role, outcome string) {
	t.Helper()
	e := s.inviteAudit(t, super, email)
	actor := e["actor"].(map[string]any)
	target := e["target"].(map[string]any)
	if actor["kind"] != "admin" || actor["id"] != actorID || actor["email"] == "" || target["type"] != "tenant" || target["id"] != slug ||
		e["outcome"] != outcome || !strings.HasPrefix(e["detail"].(string), email+" as "+role) {
		t.Fatalf("audit entry %v, want %s inviting %s as %s into %s (%s)", e, actorID, email, role, slug, outcome)
	}
}

// TestCentralInvitationFirstAdminOnly: a plain central admin may invite into
// a tenant only while it has no active tenant_admin (how such a tenant gets
// its first one); once it has one, only a superadmin may, so that a plain
// admin cannot make itself tenant_admin of any tenant. Both are audited.
func TestCentralInvitationFirstAdminOnly(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	root := s.AdminToken()
	rootID := s.Do(t, testsilo.Request{Method: "GET", Path: "/api/central/auth/me", Token: root}).Obj("user")["id"].(string)
	adminID, admin := s.AddAdmin(t, root, "plain@example.com", "admin")
	s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: tenantsPath, Token: admin, Body: map[string]any{"slug": "headless", "name": "Headless"}}).Obj("tenant")
	tn := s.Tenant(t, tenantOf("headed"))
	invitations := func(t *testing.T, slug string) int {
		t.Helper()
		return s.count(t, "SELECT COUNT(*) FROM `"+s.Record(t, slug).DatabaseName+"`.invitations")
	}
	invite := func(tok, slug, email, role string) *testsilo.Response {
		return s.Do(t, testsilo.Request{Method: "POST", Path: tenantsPath + "/" + slug + "/invitations", Token: tok, Body: map[string]string{"email": email, "role": role}})
	}

	accept := func(slug, token, first string) *testsilo.Response {
		return s.Do(t, testsilo.Request{Method: "POST", Path: "/api/invitations/accept", Tenant: slug, Body: map[string]any{
			"token": token, "password": password, "firstName": first, "lastName": "Admin"}})
	}
	var spare string // a second first-admin invitation, made before the tenant had one
	t.Run("AdminInvitesTheFirstTenantAdmin", func(t *testing.T) {
		r := invite(admin, "headless", "first@headless.example", "tenant_admin")
		r.Require(t, 201, "")
		s.requireInviteAudit(t, root, adminID, "headless", "first@headless.example", "tenant_admin", "success")
		second := invite(admin, "headless", "plain@example.com", "tenant_admin")
		second.Require(t, 201, "")
		spare = second.Str("token")
		accept("headless", r.Str("token"), "First").Require(t, 201, "")
	})
	t.Run("AdminsEarlierInvitationRefusedOnceThereIsOne", func(t *testing.T) {
		// The plain admin's second invitation, to itself, was made while the
		// tenant had no tenant_admin; accepting it now would make it one.
		before := s.count(t, "SELECT COUNT(*) FROM `"+s.Record(t, "headless").DatabaseName+"`.users")
		accept("headless", spare, "Plain").Require(t, 403, "FORBIDDEN")
		if n := s.count(t, "SELECT COUNT(*) FROM `"+s.Record(t, "headless").DatabaseName+"`.users"); n != before {
			t.Fatalf("a refused acceptance created a user (%d -> %d)", before, n)
		}
	})
	t.Run("AdminRefusedOnceThereIsOne", func(t *testing.T) {
		for _, slug := range []string{"headless", "headed"} {
			for _, role := range []string{"tenant_admin", "member"} {
				email := "me-" + role + "@" + slug + ".example"
				before := invitations(t, slug)
				invite(admin, slug, email, role).Require(t, 403, "FORBIDDEN")
				if n := invitations(t, slug); n != before {
					t.Fatalf("a refused invitation was stored (%d -> %d)", before, n)
				}
				s.requireInviteAudit(t, root, adminID, slug, email, role, "failure")
			}
		}
	})
	t.Run("SuperadminMayAlways", func(t *testing.T) {
		r := invite(root, "headed", "second@headed.example", "tenant_admin")
		r.Require(t, 201, "")
		s.requireInviteAudit(t, root, rootID, "headed", "second@headed.example", "tenant_admin", "success")
	})
	t.Run("InactiveTenantAdminDoesNotCount", func(t *testing.T) {
		id := s.TenantLogin(t, "headed", adminOf("headed"), password).Obj("user")["id"].(string)
		rootExec(t, tn.DatabaseName, "DELETE FROM {db}.user_roles WHERE role_name = 'tenant_admin' AND user_id <> ?", id)
		rootExec(t, tn.DatabaseName, "UPDATE {db}.users SET is_active = 0 WHERE id = ?", id)
		invite(admin, "headed", "rescue@headed.example", "tenant_admin").Require(t, 201, "")
		s.requireInviteAudit(t, root, adminID, "headed", "rescue@headed.example", "tenant_admin", "success")
	})
}

// Invitations made inside the tenant, by a user or an API key, are accepted
// while the tenant has a tenant_admin: the acceptance-time first-admin rule
// is for central admins' invitations only.
func TestTenantMadeInvitationsAcceptedWithAnAdmin(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	f := newAdminFixture(t, s, "inviting")
	_, key := f.keyBy(t, f.admin, "users:write", "data:read", "data:write")
	for _, tok := range []string{f.admin, key} {
		email := f.name("invitee") + "@inviting.example"
		r := f.s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: invitationsPath, Tenant: f.slug, Token: tok, Body: map[string]string{"email": email, "role": "member"}})
		f.s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: "/api/invitations/accept", Tenant: f.slug, Body: map[string]any{
			"token": r.Str("token"), "password": password, "firstName": "In", "lastName": "Vitee"}})
	}
}
