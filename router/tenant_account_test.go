package router_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/silo-dev/silo/internal/testsupport/testsilo"
)

// metricValue reads one sample of s's /metrics (0 when absent).
func (s *server) metricValue(t testing.TB, sample string) float64 {
	t.Helper()
	r := s.Do(t, testsilo.Request{Method: "GET", Path: "/metrics"})
	if r.Status != 200 {
		t.Fatalf("metrics: %d", r.Status)
	}
	for _, line := range strings.Split(string(r.Raw), "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("bad line %q", line)
			}
			return f
		}
	}
	return 0
}

// A tenant whose DB account the server refuses (dropped, another password,
// locked, grants gone) answers 503 TENANT_UNAVAILABLE, counted by reason in
// /metrics, not 500; POST .../provision on the active tenant redoes the
// account, and the next request works.
func TestBrokenTenantAccountIsUnavailableUntilProvisioned(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	super := s.AdminToken()
	s.Tenant(t, tenantOf("fragile"))
	s.TenantLogin(t, "fragile", adminOf("fragile"), password)
	user, _, _ := s.secrets(t, "fragile")
	for _, c := range []struct {
		name, breakIt, reason string
	}{
		{"dropped", "DROP USER ?@'%'", "access_denied"},
		{"other password", "ALTER USER ?@'%' IDENTIFIED BY 'not-the-catalog-password'", "access_denied"},
		{"locked", "ALTER USER ?@'%' ACCOUNT LOCK", "account_locked"},
		{"grants gone", "REVOKE ALL PRIVILEGES, GRANT OPTION FROM ?@'%'", "database_denied"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := s.db.Exec(c.breakIt, user); err != nil {
				t.Fatal(err)
			}
			// A fresh instance has no pooled connection opened before the
			// breakage (which the server would keep serving).
			m := s.instance(t)
			sample := `silo_tenant_unavailable_total{reason="` + c.reason + `"}`
			before := m.metricValue(t, sample)
			m.Expect(t, 503, "TENANT_UNAVAILABLE", testsilo.Request{Method: "POST", Path: loginPath, Tenant: "fragile", Body: creds(adminOf("fragile"), password)})
			m.Expect(t, 503, "TENANT_UNAVAILABLE", testsilo.Request{Method: "POST", Path: loginPath, Tenant: "fragile", Body: creds(adminOf("fragile"), password)})
			if got := m.metricValue(t, sample); got != before+2 {
				t.Fatalf("%s = %v, want %v", sample, got, before+2)
			}
			r := m.Expect(t, 200, "", testsilo.Request{Method: "POST", Path: tenantsPath + "/fragile/provision", Token: super})
			if st := r.JSON["tenant"].(map[string]any)["status"]; st != "active" {
				t.Fatalf("after provision the tenant is %v", st)
			}
			m.TenantLogin(t, "fragile", adminOf("fragile"), password)
			s.requireClean(t)
		})
	}
}
