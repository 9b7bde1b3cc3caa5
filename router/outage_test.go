package router_test

import (
	"testing"
	"time"

	"github.com/silo-dev/silo/internal/testsupport/testdb"
)

// The tenant database server goes away mid-test and comes back: tenant
// requests answer 503 DATABASE_UNAVAILABLE during the outage (promptly,
// never 500), and succeed again after it without restarting Silo.
func TestTenantDatabaseOutage(t *testing.T) {
	t.Parallel()
	m := testdb.StartMariaDB(t)
	s := newServer(t, func(o *serverOptions) { o.tenantServer = m.DSN(); o.timeout = 5 * time.Second })
	s.newTenant(t, "outage")
	tok := s.tlogin(t, "outage", adminOf("outage"), password).str("access_token")
	expect(t, s.tc(t, "GET", mePath, "outage", tok, nil), 200, "")

	m.Stop()
	for _, path := range []string{mePath, "/api/auth/config"} {
		start := time.Now()
		expect(t, s.tc(t, "GET", path, "outage", tok, nil), 503, "DATABASE_UNAVAILABLE")
		if took := time.Since(start); took > 6*time.Second {
			t.Fatalf("%s took %v during the outage", path, took)
		}
	}
	r := s.tc(t, "POST", loginPath, "outage", "", creds(adminOf("outage"), password))
	expect(t, r, 503, "DATABASE_UNAVAILABLE")
	// The central plane does not depend on the tenant server.
	expect(t, s.call("GET", "/readyz", "", nil), 200, "")

	m.Start()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := s.tc(t, "GET", mePath, "outage", tok, nil)
		if r.status == 200 {
			break
		}
		if r.status != 503 || time.Now().After(deadline) {
			t.Fatalf("after the server returned: %d %s", r.status, r.raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.tlogin(t, "outage", adminOf("outage"), password)
}
