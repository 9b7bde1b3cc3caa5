package router_test

import (
	"fmt"
	"testing"

	"github.com/silo-dev/silo/internal/testsupport/testsilo"
)

func TestAdminManagement(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	super := s.AdminToken()
	rootID := s.Do(t, testsilo.Request{Method: "GET", Path: "/api/central/auth/me", Token: super}).Obj("user")["id"].(string)
	adminID, adminTok := s.AddAdmin(t, super, "plain@example.com", "admin")

	t.Run("AdminCallingSuperadminRoutes", func(t *testing.T) {
		before := s.rows()
		s.Expect(t, 403, "FORBIDDEN", testsilo.Request{Method: "GET", Path: "/api/central/admins", Token: adminTok})
		s.Expect(t, 403, "FORBIDDEN", testsilo.Request{Method: "PATCH", Path: "/api/central/admins/" + adminID, Token: adminTok, Body: map[string]any{"role": "superadmin"}})
		s.Expect(t, 403, "FORBIDDEN", testsilo.Request{Method: "DELETE", Path: "/api/central/admins/" + rootID, Token: adminTok})
		if s.rows() != before {
			t.Fatal("forbidden calls changed the database")
		}
	})
	t.Run("NoToken", func(t *testing.T) {
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: "/api/central/admins"})
	})
	t.Run("ListPaginated", func(t *testing.T) {
		for i := 0; i < 3; i++ {
			s.Do(t, testsilo.Request{Method: "POST", Path: "/api/central/auth/register", Token: super, Body: newAdmin(fmt.Sprintf("page%d@example.com", i), "admin")})
		}
		seen := map[string]bool{}
		cursor := ""
		pages := 0
		for {
			path := "/api/central/admins?limit=2"
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			r := s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: path, Token: super})
			for _, a := range r.JSON["admins"].([]any) {
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
			next, _ := r.JSON["nextCursor"].(string)
			if next == "" {
				break
			}
			cursor = next
		}
		if len(seen) != 5 || pages != 3 {
			t.Fatalf("saw %d admins in %d pages, want 5 in 3", len(seen), pages)
		}
		s.Expect(t, 400, "VALIDATION_FAILED", testsilo.Request{Method: "GET", Path: "/api/central/admins?limit=0", Token: super})
		s.Expect(t, 400, "VALIDATION_FAILED", testsilo.Request{Method: "GET", Path: "/api/central/admins?limit=abc", Token: super})
		s.Expect(t, 400, "VALIDATION_FAILED", testsilo.Request{Method: "GET", Path: "/api/central/admins?cursor=1'%20OR%201=1", Token: super})
	})
	t.Run("PromoteAndDemote", func(t *testing.T) {
		r := s.Expect(t, 200, "", testsilo.Request{Method: "PATCH", Path: "/api/central/admins/" + adminID, Token: super, Body: map[string]any{"role": "superadmin", "firstName": "Grace"}})
		if r.Obj("user")["role"] != "superadmin" || r.Obj("user")["firstName"] != "Grace" {
			t.Fatalf("patched = %s", r.Raw)
		}
		// The role is read from the database: the old token now has superadmin rights.
		s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: "/api/central/admins", Token: adminTok})
		s.Expect(t, 200, "", testsilo.Request{Method: "PATCH", Path: "/api/central/admins/" + adminID, Token: super, Body: map[string]any{"role": "admin"}})
		s.Expect(t, 403, "FORBIDDEN", testsilo.Request{Method: "GET", Path: "/api/central/admins", Token: adminTok})
	})
	t.Run("BadPatch", func(t *testing.T) {
		before := s.rows()
		s.Expect(t, 400, "VALIDATION_FAILED", testsilo.Request{Method: "PATCH", Path: "/api/central/admins/" + adminID, Token: super, Body: map[string]any{"role": "owner"}})
		s.Expect(t, 400, "VALIDATION_FAILED", testsilo.Request{Method: "PATCH", Path: "/api/central/admins/" + adminID, Token: super, Body: map[string]any{"isActive": "no"}})
		s.Expect(t, 400, "VALIDATION_FAILED", testsilo.Request{Method: "PATCH", Path: "/api/central/admins/" + adminID, Token: super, Body: map[string]any{"firstName": ""}})
		s.Expect(t, 400, "VALIDATION_FAILED", testsilo.Request{Method: "PATCH", Path: "/api/central/admins/" + adminID, Token: super, Body: map[string]any{"email": "x@y.zz"}})
		s.Expect(t, 404, "NOT_FOUND", testsilo.Request{Method: "PATCH", Path: "/api/central/admins/not-a-uuid", Token: super, Body: map[string]any{"role": "admin"}})
		s.Expect(t, 404, "NOT_FOUND", testsilo.Request{Method: "PATCH", Path: "/api/central/admins/01a21284-9322-7bbd-8f49-73c47e0f1394", Token: super, Body: map[string]any{"role": "admin"}})
		if s.rows() != before {
			t.Fatal("bad patches changed the database")
		}
	})
	t.Run("LastSuperadmin", func(t *testing.T) {
		before := s.rows()
		s.Expect(t, 409, "CONFLICT", testsilo.Request{Method: "PATCH", Path: "/api/central/admins/" + rootID, Token: super, Body: map[string]any{"role": "admin"}})
		s.Expect(t, 409, "CONFLICT", testsilo.Request{Method: "PATCH", Path: "/api/central/admins/" + rootID, Token: super, Body: map[string]any{"isActive": false}})
		s.Expect(t, 409, "CONFLICT", testsilo.Request{Method: "DELETE", Path: "/api/central/admins/" + rootID, Token: super})
		if s.rows() != before {
			t.Fatal("refused changes to the last superadmin changed the database")
		}
		// With a second active superadmin, the first may step down.
		secondID, second := s.AddAdmin(t, super, "deputy@example.com", "superadmin")
		s.Expect(t, 200, "", testsilo.Request{Method: "PATCH", Path: "/api/central/admins/" + rootID, Token: second, Body: map[string]any{"role": "admin"}})
		s.Expect(t, 409, "CONFLICT", testsilo.Request{Method: "DELETE", Path: "/api/central/admins/" + secondID, Token: second})
		s.Expect(t, 200, "", testsilo.Request{Method: "PATCH", Path: "/api/central/admins/" + rootID, Token: second, Body: map[string]any{"role": "superadmin"}})
	})
	t.Run("Delete", func(t *testing.T) {
		id, tok := s.AddAdmin(t, super, "gone@example.com", "admin")
		rt := s.CentralLogin(t, "gone@example.com", password).Str("refresh_token")
		s.Expect(t, 204, "", testsilo.Request{Method: "DELETE", Path: "/api/central/admins/" + id, Token: super})
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: "/api/central/auth/me", Token: tok})
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "POST", Path: "/api/central/auth/refresh", Body: map[string]string{"refresh_token": rt}})
		s.Expect(t, 404, "NOT_FOUND", testsilo.Request{Method: "DELETE", Path: "/api/central/admins/" + id, Token: super})
		s.Expect(t, 404, "NOT_FOUND", testsilo.Request{Method: "GET", Path: "/api/central/admins/" + id, Token: super})
	})
	t.Run("DeactivateRevokesRefresh", func(t *testing.T) {
		id, _ := s.AddAdmin(t, super, "paused@example.com", "admin")
		rt := s.CentralLogin(t, "paused@example.com", password).Str("refresh_token")
		s.Expect(t, 200, "", testsilo.Request{Method: "PATCH", Path: "/api/central/admins/" + id, Token: super, Body: map[string]any{"isActive": false}})
		s.Expect(t, 200, "", testsilo.Request{Method: "PATCH", Path: "/api/central/admins/" + id, Token: super, Body: map[string]any{"isActive": true}})
		// Reactivation does not revive the sessions that deactivation ended.
		s.Expect(t, 401, "UNAUTHENTICATED", testsilo.Request{Method: "POST", Path: "/api/central/auth/refresh", Body: map[string]string{"refresh_token": rt}})
	})
}
