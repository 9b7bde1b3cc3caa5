package router_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/silo-dev/silo/internal/testsupport/testdb"
	"github.com/silo-dev/silo/internal/testsupport/testsilo"
)

// serverTenant creates slug on the database server named server and logs
// its admin in.
func serverTenant(t *testing.T, s *server, slug, server string) string {
	t.Helper()
	n := tenantOf(slug)
	n.Server = server
	r := s.Client.CreateTenant(t, s.AdminToken(), n)
	if got := r.Obj("tenant")["server"]; got != server {
		t.Fatalf("tenant %s placed on %v, want %s", slug, got, server)
	}
	return s.TenantLogin(t, slug, adminOf(slug), password).Str("access_token")
}

// Tenants live on several database servers; when one server stops, only
// its tenants answer 503 (promptly), the others and the central plane
// keep answering 2xx, and its tenants come back with it.
func TestServerOutageHitsOnlyItsTenants(t *testing.T) {
	t.Parallel()
	alpha, beta := testdb.StartMariaDB(t), testdb.StartMariaDB(t)
	s := newServer(t, func(o *serverOptions) { o.timeout = 5 * time.Second; o.background = true })
	s.AddServer(t, "alpha", alpha.DSN(), 100)
	s.AddServer(t, "beta", beta.DSN(), 100)
	tokens := map[string]string{
		"on-default": serverTenant(t, s, "on-default", "default"),
		"on-alpha":   serverTenant(t, s, "on-alpha", "alpha"),
		"on-beta":    serverTenant(t, s, "on-beta", "beta"),
	}
	for slug, tok := range tokens {
		s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: dataPath, Tenant: slug, Token: tok})
	}
	// Each tenant's database is on its own server, and only there.
	for _, m := range []struct {
		dsn, db, not string
	}{{alpha.DSN(), s.prefix + "on_alpha", s.prefix + "on_beta"}, {beta.DSN(), s.prefix + "on_beta", s.prefix + "on_alpha"}} {
		root := testdb.Connect(t, m.dsn)
		if !testdb.DatabaseExists(t, root, m.db) || testdb.DatabaseExists(t, root, m.not) {
			t.Fatalf("server %s: %s should be there and %s not", m.dsn, m.db, m.not)
		}
	}

	beta.Stop()
	start := time.Now()
	s.Expect(t, 503, "DATABASE_UNAVAILABLE", testsilo.Request{Method: "GET", Path: dataPath, Tenant: "on-beta", Token: tokens["on-beta"]})
	if took := time.Since(start); took > 6*time.Second {
		t.Fatalf("on-beta took %v during its server's outage", took)
	}
	for range 20 {
		for _, slug := range []string{"on-default", "on-alpha"} {
			s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: dataPath, Tenant: slug, Token: tokens[slug]})
		}
	}
	s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: "/api/central/tenants", Token: s.AdminToken()})
	// New tenants are still provisioned on the servers that answer.
	serverTenant(t, s, "later", "alpha")

	// A disabled server's tenants are turned away without touching it.
	s.Expect(t, 200, "", testsilo.Request{Method: "PATCH", Path: "/api/central/servers/alpha", Token: s.AdminToken(), Body: map[string]any{"status": "disabled"}})
	s.Expect(t, 503, "DATABASE_UNAVAILABLE", testsilo.Request{Method: "GET", Path: dataPath, Tenant: "on-alpha", Token: tokens["on-alpha"]})
	s.Expect(t, 200, "", testsilo.Request{Method: "PATCH", Path: "/api/central/servers/alpha", Token: s.AdminToken(), Body: map[string]any{"status": "active"}})
	s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: dataPath, Tenant: "on-alpha", Token: tokens["on-alpha"]})

	beta.Start()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := s.Do(t, testsilo.Request{Method: "GET", Path: dataPath, Tenant: "on-beta", Token: tokens["on-beta"]})
		if r.Status == http.StatusOK {
			break
		}
		if r.Status != 503 || time.Now().After(deadline) {
			t.Fatalf("after beta returned: %d %s", r.Status, r.Raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// dataPath reads the tenant's database on every request (the caller
// itself may come from the cache).
const dataPath = "/api/collections"

// In the shared connection mode each server gets its own shared login,
// and a tenant on a second server is served through it.
func TestSharedModeOnASecondServer(t *testing.T) {
	t.Parallel()
	priv := testdb.StartMariaDB(t)
	e := testsilo.Start(t, map[string]string{"SILO_TENANT_CONN_MODE": "shared"})
	e.AddServer(t, "priv", priv.DSN(), 10)
	for _, server := range []string{"default", "priv"} {
		slug := "shared-" + server
		n := testsilo.TenantOf(slug)
		n.Server = server
		if got := e.Client.CreateTenant(t, e.AdminToken(), n).Obj("tenant")["server"]; got != server {
			t.Fatalf("%s placed on %v", slug, got)
		}
		tok := e.Login(slug, n.AdminEmail)
		e.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: dataPath, Tenant: slug, Token: tok})
	}
	root := testdb.Connect(t, priv.DSN())
	var logins int
	if err := root.QueryRow("SELECT COUNT(*) FROM mysql.user WHERE User LIKE '%shared'").Scan(&logins); err != nil || logins != 1 {
		t.Fatalf("shared logins on the second server: %d %v, want 1", logins, err)
	}
}
