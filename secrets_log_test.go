package silo_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/silo-dev/silo/internal/testsupport/testsilo"
)

// lockedBuffer is a log sink for concurrent writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Silo's log, at debug level, never holds a password, token, key or secret
// it handled, whether the request succeeded or failed.
func TestSecretsNeverLogged(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	e := testsilo.StartLogged(t, nil, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	secrets := map[string]string{
		"JWT secret": e.Settings["SILO_JWT_SECRET"], "master key": e.Settings["SILO_MASTER_KEY"],
		"password": testsilo.Password,
	}
	admin := e.AdminToken()
	secrets["central token"] = admin
	tok := e.CreateTenant("acme") // with a first admin and its password
	secrets["tenant token"] = tok
	r := e.Expect(t, http.StatusOK, "", testsilo.Request{Method: "POST", Path: "/api/auth/login", Tenant: "acme",
		Body: map[string]string{"email": "admin@acme.test", "password": testsilo.Password}})
	refresh := r.JSON["refresh_token"].(string)
	secrets["refresh token"] = refresh
	r = e.Expect(t, http.StatusOK, "", testsilo.Request{Method: "POST", Path: "/api/auth/refresh", Tenant: "acme", Body: map[string]string{"refresh_token": refresh}})
	secrets["rotated refresh token"] = r.JSON["refresh_token"].(string)
	// Reusing the spent refresh token revokes the family (and is logged as such).
	e.Do(t, testsilo.Request{Method: "POST", Path: "/api/auth/refresh", Tenant: "acme", Body: map[string]string{"refresh_token": refresh}})
	key := e.APIKey("acme", tok, "data:read")
	secrets["API key"] = key
	e.Expect(t, http.StatusOK, "", testsilo.Request{Method: "GET", Path: "/api/collections", Tenant: "acme", Header: map[string]string{"X-API-Key": key}})
	inv := e.Expect(t, http.StatusCreated, "", testsilo.Request{Method: "POST", Path: "/api/invitations", Tenant: "acme", Token: tok,
		Body: map[string]string{"email": "new@acme.test", "role": "member"}})
	invite := inv.JSON["token"].(string)
	secrets["invitation token"] = invite
	secrets["invitee password"] = "invitee-password-42"
	e.Expect(t, http.StatusCreated, "", testsilo.Request{Method: "POST", Path: "/api/invitations/accept", Tenant: "acme",
		Body: map[string]string{"token": invite, "password": "invitee-password-42", "firstName": "New", "lastName": "Comer"}})
	// Failures: wrong passwords, a forged token, a revoked key, bad bodies.
	secrets["wrong password"] = "wrong-password-123"
	e.Expect(t, http.StatusUnauthorized, "", testsilo.Request{Method: "POST", Path: "/api/auth/login", Tenant: "acme",
		Body: map[string]string{"email": "admin@acme.test", "password": "wrong-password-123"}})
	e.Expect(t, http.StatusUnauthorized, "", testsilo.Request{Method: "POST", Path: "/api/central/auth/login",
		Body: map[string]string{"email": testsilo.Superadmin, "password": "wrong-password-123"}})
	forged := tok[:len(tok)-4] + "AAAA"
	secrets["forged token"] = forged
	e.Expect(t, http.StatusUnauthorized, "", testsilo.Request{Method: "GET", Path: "/api/auth/me", Tenant: "acme", Token: forged})
	e.Expect(t, http.StatusBadRequest, "", testsilo.Request{Method: "POST", Path: "/api/auth/register", Tenant: "acme",
		Body: `{"email":"x@acme.test","password":"wrong-password-123","firstName":1}`})
	e.Expect(t, http.StatusUnauthorized, "", testsilo.Request{Method: "GET", Path: "/api/auth/me", Tenant: "acme", Header: map[string]string{"X-API-Key": key + "x"}})

	text := logs.String()
	if !strings.Contains(text, "requestId") || strings.Count(text, "\n") < 20 {
		t.Fatalf("the log is too thin to judge (%d lines)", strings.Count(text, "\n"))
	}
	for name, secret := range secrets {
		if secret == "" {
			t.Fatalf("%s is empty", name)
		}
		if strings.Contains(text, secret) {
			t.Errorf("the log holds the %s", name)
		}
	}
	for _, marker := range []string{"$2a$", "Bearer ", "password_hash", "db_password"} {
		if strings.Contains(text, marker) {
			t.Errorf("the log holds %q", marker)
		}
	}
}
