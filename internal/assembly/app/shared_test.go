package app_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/internal/assembly/app"
	"github.com/silo-dev/silo/internal/testsupport/testdb"
	"github.com/silo-dev/silo/tenantdb"
)

// With SILO_TENANT_CONN_MODE=shared a Silo creates its shared login at
// start, provisions tenants with their roles and serves every tenant
// request (logins write, /me reads) over the shared connections: no
// per-tenant pool opens, and the connections are reused across tenants.
func TestSharedModeServes(t *testing.T) {
	t.Parallel()
	cfg := testdb.Config(t, map[string]string{
		"SILO_BCRYPT_COST": "4", "SILO_SPARE_POOL_SIZE": "0", "SILO_TENANT_CONN_MODE": "shared",
		"SILO_TENANT_CONNS_MAX": "3",
		"SILO_LOGIN_IP_LIMIT":   "100000", "SILO_LOGIN_EMAIL_LIMIT": "100000",
		"SILO_JWT_SECRET": jwtSecret, "SILO_MASTER_KEY": masterKey,
	})
	a, err := app.Open(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	tokens := tenantsWithTokens(t, a, 4)
	for round := range 3 {
		for i, tok := range tokens {
			slug := []string{"bench-0", "bench-1", "bench-2", "bench-3"}[i]
			req := httptest.NewRequest("GET", "/api/auth/me", nil)
			req.Header.Set("x-tenant-id", slug)
			req.Header.Set("Authorization", "Bearer "+tok)
			rec := httptest.NewRecorder()
			a.Handler.ServeHTTP(rec, req)
			if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"slug":"`+slug+`"`) {
				t.Fatalf("round %d me %s: %d %s", round, slug, rec.Code, rec.Body)
			}
		}
	}
	if st := a.Pools.Stats(); st.Pools != 0 || st.Evictions != 0 {
		t.Fatalf("per-tenant pools in the shared mode: %+v", st)
	}
	st, ok := a.Pools.SharedStats(central.DefaultServer)
	if !ok {
		t.Fatal("shared mode configured, no shared connections")
	}
	if st.Opens == 0 || st.Opens > 3 || st.OpenConns > 3 {
		t.Fatalf("shared connections %+v: want at most the cap (3) ever opened", st)
	}
	granted, err := a.TenantServer().SharedRoles(context.Background(), tenantdb.SharedLoginName(cfg.TenantDBPrefix))
	if err != nil || len(granted) != 4 {
		t.Fatalf("roles granted to the shared login: %v %v, want the 4 tenants'", granted, err)
	}
}
