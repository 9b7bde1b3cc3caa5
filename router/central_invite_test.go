package router_test

import (
	"strings"
	"testing"
)

// inviteAudit returns the newest central tenant.invite entry about email.
func (s *server) inviteAudit(t *testing.T, super, email string) map[string]any {
	t.Helper()
	r := s.call("GET", "/api/central/audit?limit=100", super, nil)
	expect(t, r, 200, "")
	for _, e := range r.body["entries"].([]any) {
		e := e.(map[string]any)
		if d, _ := e["detail"].(string); e["action"] == "tenant.invite" && strings.HasPrefix(d, email+" as ") {
			return e
		}
	}
	t.Fatalf("no tenant.invite audit entry for %s: %s", email, r.raw)
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
	root := s.bootstrap()
	rootID := s.call("GET", "/api/central/auth/me", root, nil).user()["id"].(string)
	adminID, admin := s.addAdmin(root, "plain@example.com", "admin")
	s.createTenant(t, admin, map[string]any{"slug": "headless", "name": "Headless"})
	tn := s.newTenant(t, "headed")
	invitations := func(t *testing.T, slug string) int {
		t.Helper()
		return s.count(t, "SELECT COUNT(*) FROM `"+mustTenantDB(t, s, slug)+"`.invitations")
	}
	invite := func(tok, slug, email, role string) response {
		return s.call("POST", tenantsPath+"/"+slug+"/invitations", tok, map[string]string{"email": email, "role": role})
	}

	accept := func(slug, token, first string) response {
		return s.tc(t, "POST", "/api/invitations/accept", slug, "", map[string]any{
			"token": token, "password": password, "firstName": first, "lastName": "Admin"})
	}
	var spare string // a second first-admin invitation, made before the tenant had one
	t.Run("AdminInvitesTheFirstTenantAdmin", func(t *testing.T) {
		r := invite(admin, "headless", "first@headless.example", "tenant_admin")
		expect(t, r, 201, "")
		s.requireInviteAudit(t, root, adminID, "headless", "first@headless.example", "tenant_admin", "success")
		second := invite(admin, "headless", "plain@example.com", "tenant_admin")
		expect(t, second, 201, "")
		spare = second.str("token")
		expect(t, accept("headless", r.str("token"), "First"), 201, "")
	})
	t.Run("AdminsEarlierInvitationRefusedOnceThereIsOne", func(t *testing.T) {
		// The plain admin's second invitation, to itself, was made while the
		// tenant had no tenant_admin; accepting it now would make it one.
		before := s.count(t, "SELECT COUNT(*) FROM `"+mustTenantDB(t, s, "headless")+"`.users")
		expect(t, accept("headless", spare, "Plain"), 403, "FORBIDDEN")
		if n := s.count(t, "SELECT COUNT(*) FROM `"+mustTenantDB(t, s, "headless")+"`.users"); n != before {
			t.Fatalf("a refused acceptance created a user (%d -> %d)", before, n)
		}
	})
	t.Run("AdminRefusedOnceThereIsOne", func(t *testing.T) {
		for _, slug := range []string{"headless", "headed"} {
			for _, role := range []string{"tenant_admin", "member"} {
				email := "me-" + role + "@" + slug + ".example"
				before := invitations(t, slug)
				expect(t, invite(admin, slug, email, role), 403, "FORBIDDEN")
				if n := invitations(t, slug); n != before {
					t.Fatalf("a refused invitation was stored (%d -> %d)", before, n)
				}
				s.requireInviteAudit(t, root, adminID, slug, email, role, "failure")
			}
		}
	})
	t.Run("SuperadminMayAlways", func(t *testing.T) {
		r := invite(root, "headed", "second@headed.example", "tenant_admin")
		expect(t, r, 201, "")
		s.requireInviteAudit(t, root, rootID, "headed", "second@headed.example", "tenant_admin", "success")
	})
	t.Run("InactiveTenantAdminDoesNotCount", func(t *testing.T) {
		id := s.tlogin(t, "headed", adminOf("headed"), password).user()["id"].(string)
		rootExec(t, tn.DatabaseName, "DELETE FROM {db}.user_roles WHERE role_name = 'tenant_admin' AND user_id <> ?", id)
		rootExec(t, tn.DatabaseName, "UPDATE {db}.users SET is_active = 0 WHERE id = ?", id)
		expect(t, invite(admin, "headed", "rescue@headed.example", "tenant_admin"), 201, "")
		s.requireInviteAudit(t, root, adminID, "headed", "rescue@headed.example", "tenant_admin", "success")
	})
}

// mustTenantDB is the database name of the tenant slug.
func mustTenantDB(t *testing.T, s *server, slug string) string {
	t.Helper()
	tn, err := s.prov.Get(t.Context(), slug)
	if err != nil {
		t.Fatal(err)
	}
	return tn.DatabaseName
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
		r := f.do(t, "POST", invitationsPath, tok, map[string]string{"email": email, "role": "member"})
		expect(t, r, 201, "")
		expect(t, f.do(t, "POST", "/api/invitations/accept", "", map[string]any{
			"token": r.str("token"), "password": password, "firstName": "In", "lastName": "Vitee"}), 201, "")
	}
}
