package router_test

import (
	"testing"
	"time"

	"github.com/silo-dev/silo/internal/testsupport/testdb"
	"github.com/silo-dev/silo/internal/testsupport/testsilo"
)

// The tenant database server goes away mid-test and comes back: tenant
// requests answer 503 DATABASE_UNAVAILABLE during the outage (promptly,
// never 500), and succeed again after it without restarting Silo.
func TestTenantDatabaseOutage(t *testing.T) {
	t.Parallel()
	m := testdb.StartMariaDB(t)
	// The tenant is provisioned through an instance with the usual request
	// timeout (on a loaded machine provisioning may take longer than 5 s).
	setup := newServer(t, func(o *serverOptions) { o.tenantServer = m.DSN() })
	setup.Tenant(t, tenantOf("outage"))
	s := setup.instance(t, func(o *serverOptions) { o.timeout = 5 * time.Second })
	tok := s.TenantLogin(t, "outage", adminOf("outage"), password).Str("access_token")
	s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: mePath, Tenant: "outage", Token: tok})

	m.Stop()
	for _, path := range []string{mePath, "/api/auth/config"} {
		start := time.Now()
		s.Expect(t, 503, "DATABASE_UNAVAILABLE", testsilo.Request{Method: "GET", Path: path, Tenant: "outage", Token: tok})
		if took := time.Since(start); took > 6*time.Second {
			t.Fatalf("%s took %v during the outage", path, took)
		}
	}
	s.Expect(t, 503, "DATABASE_UNAVAILABLE", testsilo.Request{Method: "POST", Path: loginPath, Tenant: "outage", Body: creds(adminOf("outage"), password)})
	// The central plane does not depend on the tenant server.
	s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: "/readyz"})

	m.Start()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := s.Do(t, testsilo.Request{Method: "GET", Path: mePath, Tenant: "outage", Token: tok})
		if r.Status == 200 {
			break
		}
		if r.Status != 503 || time.Now().After(deadline) {
			t.Fatalf("after the server returned: %d %s", r.Status, r.Raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.TenantLogin(t, "outage", adminOf("outage"), password)
}
