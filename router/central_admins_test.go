package router_test

import (
	"fmt"
	"testing"
)

func TestAdminManagement(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	super := s.bootstrap()
	rootID := s.call("GET", "/api/central/auth/me", super, nil).user()["id"].(string)
	adminID, adminTok := s.addAdmin(super, "plain@example.com", "admin")

	t.Run("AdminCallingSuperadminRoutes", func(t *testing.T) {
		before := s.rows()
		expect(t, s.call("GET", "/api/central/admins", adminTok, nil), 403, "FORBIDDEN")
		expect(t, s.call("PATCH", "/api/central/admins/"+adminID, adminTok, map[string]any{"role": "superadmin"}), 403, "FORBIDDEN")
		expect(t, s.call("DELETE", "/api/central/admins/"+rootID, adminTok, nil), 403, "FORBIDDEN")
		if s.rows() != before {
			t.Fatal("forbidden calls changed the database")
		}
	})
	t.Run("NoToken", func(t *testing.T) {
		expect(t, s.call("GET", "/api/central/admins", "", nil), 401, "UNAUTHENTICATED")
	})
	t.Run("ListPaginated", func(t *testing.T) {
		for i := 0; i < 3; i++ {
			s.call("POST", "/api/central/auth/register", super, newAdmin(fmt.Sprintf("page%d@example.com", i), "admin"))
		}
		seen := map[string]bool{}
		cursor := ""
		pages := 0
		for {
			path := "/api/central/admins?limit=2"
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			r := s.call("GET", path, super, nil)
			expect(t, r, 200, "")
			for _, a := range r.body["admins"].([]any) {
				id := a.(map[string]any)["id"].(string)
				if seen[id] {
					t.Fatalf("admin %s listed twice", id)
				}
				seen[id] = true
				if _, leaked := a.(map[string]any)["passwordHash"]; leaked {
					t.Fatal("password hash listed")
				}
			}
			pages++
			next, _ := r.body["nextCursor"].(string)
			if next == "" {
				break
			}
			cursor = next
		}
		if len(seen) != 5 || pages != 3 {
			t.Fatalf("saw %d admins in %d pages, want 5 in 3", len(seen), pages)
		}
		expect(t, s.call("GET", "/api/central/admins?limit=0", super, nil), 400, "VALIDATION_FAILED")
		expect(t, s.call("GET", "/api/central/admins?limit=abc", super, nil), 400, "VALIDATION_FAILED")
		expect(t, s.call("GET", "/api/central/admins?cursor=1'%20OR%201=1", super, nil), 400, "VALIDATION_FAILED")
	})
	t.Run("PromoteAndDemote", func(t *testing.T) {
		r := s.call("PATCH", "/api/central/admins/"+adminID, super, map[string]any{"role": "superadmin", "firstName": "Grace"})
		expect(t, r, 200, "")
		if r.user()["role"] != "superadmin" || r.user()["firstName"] != "Grace" {
			t.Fatalf("patched = %s", r.raw)
		}
		// The role is read from the database: the old token now has superadmin rights.
		expect(t, s.call("GET", "/api/central/admins", adminTok, nil), 200, "")
		expect(t, s.call("PATCH", "/api/central/admins/"+adminID, super, map[string]any{"role": "admin"}), 200, "")
		expect(t, s.call("GET", "/api/central/admins", adminTok, nil), 403, "FORBIDDEN")
	})
	t.Run("BadPatch", func(t *testing.T) {
		before := s.rows()
		expect(t, s.call("PATCH", "/api/central/admins/"+adminID, super, map[string]any{"role": "owner"}), 400, "VALIDATION_FAILED")
		expect(t, s.call("PATCH", "/api/central/admins/"+adminID, super, map[string]any{"isActive": "no"}), 400, "VALIDATION_FAILED")
		expect(t, s.call("PATCH", "/api/central/admins/"+adminID, super, map[string]any{"firstName": ""}), 400, "VALIDATION_FAILED")
		expect(t, s.call("PATCH", "/api/central/admins/"+adminID, super, map[string]any{"email": "x@y.zz"}), 400, "VALIDATION_FAILED")
		expect(t, s.call("PATCH", "/api/central/admins/not-a-uuid", super, map[string]any{"role": "admin"}), 404, "NOT_FOUND")
		expect(t, s.call("PATCH", "/api/central/admins/01a21284-9322-7bbd-8f49-73c47e0f1394", super, map[string]any{"role": "admin"}), 404, "NOT_FOUND")
		if s.rows() != before {
			t.Fatal("bad patches changed the database")
		}
	})
	t.Run("LastSuperadmin", func(t *testing.T) {
		before := s.rows()
		expect(t, s.call("PATCH", "/api/central/admins/"+rootID, super, map[string]any{"role": "admin"}), 409, "CONFLICT")
		expect(t, s.call("PATCH", "/api/central/admins/"+rootID, super, map[string]any{"isActive": false}), 409, "CONFLICT")
		expect(t, s.call("DELETE", "/api/central/admins/"+rootID, super, nil), 409, "CONFLICT")
		if s.rows() != before {
			t.Fatal("refused changes to the last superadmin changed the database")
		}
		// With a second active superadmin, the first may step down.
		secondID, second := s.addAdmin(super, "deputy@example.com", "superadmin")
		expect(t, s.call("PATCH", "/api/central/admins/"+rootID, second, map[string]any{"role": "admin"}), 200, "")
		expect(t, s.call("DELETE", "/api/central/admins/"+secondID, second, nil), 409, "CONFLICT")
		expect(t, s.call("PATCH", "/api/central/admins/"+rootID, second, map[string]any{"role": "superadmin"}), 200, "")
	})
	t.Run("Delete", func(t *testing.T) {
		id, tok := s.addAdmin(super, "gone@example.com", "admin")
		rt := s.login("gone@example.com", password).str("refresh_token")
		expect(t, s.call("DELETE", "/api/central/admins/"+id, super, nil), 204, "")
		expect(t, s.call("GET", "/api/central/auth/me", tok, nil), 401, "UNAUTHENTICATED")
		expect(t, s.call("POST", "/api/central/auth/refresh", "", map[string]string{"refresh_token": rt}), 401, "UNAUTHENTICATED")
		expect(t, s.call("DELETE", "/api/central/admins/"+id, super, nil), 404, "NOT_FOUND")
		expect(t, s.call("GET", "/api/central/admins/"+id, super, nil), 404, "NOT_FOUND")
	})
	t.Run("DeactivateRevokesRefresh", func(t *testing.T) {
		id, _ := s.addAdmin(super, "paused@example.com", "admin")
		rt := s.login("paused@example.com", password).str("refresh_token")
		expect(t, s.call("PATCH", "/api/central/admins/"+id, super, map[string]any{"isActive": false}), 200, "")
		expect(t, s.call("PATCH", "/api/central/admins/"+id, super, map[string]any{"isActive": true}), 200, "")
		// Reactivation does not revive the sessions that deactivation ended.
		expect(t, s.call("POST", "/api/central/auth/refresh", "", map[string]string{"refresh_token": rt}), 401, "UNAUTHENTICATED")
	})
}
