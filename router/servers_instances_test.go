package router_test

import (
	"testing"
	"time"

	"github.com/silo-dev/silo/internal/testsupport/testdb"
	"github.com/silo-dev/silo/internal/testsupport/testsilo"
)

// within polls try until it answers status (and code, if any) or d has
// passed since from, and returns how long it took.
func within(t *testing.T, d time.Duration, from time.Time, status int, code string, try func() *testsilo.Response) time.Duration {
	t.Helper()
	for {
		r := try()
		if r.Status == status && (code == "" || r.Code() == code) {
			return time.Since(from)
		}
		if time.Since(from) > d {
			t.Fatalf("not %d %s within %v: %d %s", status, code, d, r.Status, r.Raw)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Silo keeps no state outside the central database: with two instances
// on one central database, a database server registered through A's API
// (B lists it and places a tenant on it), a tenant A creates on it and A's
// suspension of that tenant all reach B within a second.
func TestInstancesShareServersAndTenants(t *testing.T) {
	t.Parallel()
	alpha := testdb.StartMariaDB(t)
	a := newServer(t, func(o *serverOptions) { o.background = true })
	b := a.instance(t, func(o *serverOptions) { o.background = true })
	super := a.AdminToken()
	b.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: tenantsPath, Token: super})

	a.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: "/api/central/servers", Token: super,
		Body: map[string]any{"name": "alpha", "dsn": alpha.DSN(), "capacity": 10}})
	added := time.Now()
	// B lists it within a second.
	within(t, time.Second, added, 200, "", func() *testsilo.Response {
		return b.Do(t, testsilo.Request{Method: "GET", Path: "/api/central/servers/alpha", Token: super})
	})
	// B places a tenant on it (its provisioning reads the registry).
	n := tenantOf("shared-x")
	n.Server = "alpha"
	within(t, time.Second, added, 201, "", func() *testsilo.Response {
		r, err := b.Send(testsilo.Request{Method: "POST", Path: tenantsPath, Token: super, Body: n.Body()})
		if err != nil {
			t.Fatal(err)
		}
		return r
	})
	tok := b.TenantLogin(t, "shared-x", adminOf("shared-x"), password).Str("access_token")

	// A tenant A creates on alpha is served by B within a second.
	serverTenant(t, a, "made-on-a", "alpha")
	created := time.Now()
	tokA := a.TenantLogin(t, "made-on-a", adminOf("made-on-a"), password).Str("access_token")
	took := within(t, time.Second, created, 200, "", func() *testsilo.Response {
		return b.Do(t, testsilo.Request{Method: "GET", Path: dataPath, Tenant: "made-on-a", Token: tokA})
	})
	t.Logf("tenant created on A served by B after %v", took)

	// A suspends it; B refuses within a second.
	a.Expect(t, 200, "", testsilo.Request{Method: "POST", Path: tenantsPath + "/shared-x/suspend", Token: super})
	suspended := time.Now()
	took = within(t, time.Second, suspended, 403, "TENANT_SUSPENDED", func() *testsilo.Response {
		return b.Do(t, testsilo.Request{Method: "GET", Path: dataPath, Tenant: "shared-x", Token: tok})
	})
	t.Logf("suspension on A applied by B after %v", took)
}
