package provisioning_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/migrations"
	"github.com/silo-dev/silo/provisioning"
)

func withSpares(n int) func(*provisioning.Options) {
	return func(o *provisioning.Options) { o.SparePool = n }
}

func TestSparePool(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withSpares(3))
	built, err := e.prov.RefillSpares(bg)
	if err != nil || built != 3 {
		t.Fatalf("RefillSpares = %d, %v; want 3", built, err)
	}
	if built, _ := e.prov.RefillSpares(bg); built != 0 {
		t.Fatalf("a full pool built %d more", built)
	}
	spares, _ := e.catalog.Spares(bg)
	latest := migrations.Latest(migrations.Tenant())
	for _, s := range spares {
		if s.Status != "ready" || s.SchemaVersion != latest || !strings.HasPrefix(s.DatabaseName, e.prefix+"0") {
			t.Fatalf("spare %+v", s)
		}
	}
	e.requireClean()

	t.Run("SparesAreNotTenants", func(t *testing.T) {
		ts, _, err := e.prov.List(bg, central.TenantFilter{Limit: 100})
		if err != nil || len(ts) != 0 {
			t.Fatalf("tenants = %v, %v", ts, err)
		}
	})

	ten, err := e.prov.Create(bg, provisioning.NewTenant{Slug: "quick", Name: "Q",
		Admin: &provisioning.NewAdmin{Email: "a@quick.io", Password: "correct horse battery", FirstName: "A", LastName: "B"}})
	if err != nil {
		t.Fatal(err)
	}
	if ten.Status != central.StatusActive || ten.DatabaseName != spares[0].DatabaseName || ten.SchemaVersion != latest {
		t.Fatalf("tenant did not claim the oldest spare: %+v", ten)
	}
	left, _ := e.catalog.Spares(bg)
	if len(left) != 2 {
		t.Fatalf("%d spares left, want 2", len(left))
	}
	conn, err := e.tenantConn(ten, ten.DatabaseName)
	if err != nil {
		t.Fatal(err)
	}
	var admins int
	_ = conn.Get(&admins, "SELECT COUNT(*) FROM user_roles WHERE role_name = 'tenant_admin'")
	conn.Close()
	if admins != 1 {
		t.Fatalf("claimed spare has %d tenant admins, want 1", admins)
	}
	if built, _ := e.prov.RefillSpares(bg); built != 1 {
		t.Fatalf("refill after a claim built %d, want 1", built)
	}
	e.requireClean()

	t.Run("PurgeClaimedSpare", func(t *testing.T) {
		if err := e.prov.Delete(bg, "quick", true); err != nil {
			t.Fatal(err)
		}
		if e.databaseExists(ten.DatabaseName) || e.userExists(ten.DBUser) {
			t.Fatal("purge left the claimed spare's objects behind")
		}
		e.requireClean()
	})
}

// Concurrent creates claim distinct spares, then fall back to direct
// provisioning when the pool runs dry.
func TestSparePoolConcurrentClaims(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withSpares(3))
	if _, err := e.prov.RefillSpares(bg); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.prov.Create(bg, provisioning.NewTenant{Slug: fmt.Sprintf("claim-%d", i), Name: "C"})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
	}
	fromSpare := e.count("SELECT COUNT(*) FROM tenants WHERE database_name LIKE ?", strings.ReplaceAll(e.prefix, "_", `\_`)+"0%")
	distinct := e.count("SELECT COUNT(DISTINCT database_name) FROM tenants")
	if fromSpare != 3 || distinct != 8 {
		t.Fatalf("%d tenants from spares (want 3), %d distinct databases (want 8)", fromSpare, distinct)
	}
	e.requireClean()
}

// A spare half-built by a process that died is dropped and rebuilt.
func TestSparePoolDropsHalfBuilt(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withSpares(1))
	stale := &central.Spare{DatabaseName: e.prefix + "0deadbeef", DatabaseHost: e.server.Addr(), DBUser: e.prefix + "udeadbeef"}
	stale.DBPasswordEnc = e.box.Seal([]byte("pw-pw-pw-pw"), []byte(stale.DBUser))
	if err := e.catalog.AddSpare(bg, stale); err != nil {
		t.Fatal(err)
	}
	if err := e.server.CreateDatabase(bg, stale.DatabaseName); err != nil {
		t.Fatal(err)
	}
	if built, err := e.prov.RefillSpares(bg); err != nil || built != 1 {
		t.Fatalf("RefillSpares = %d, %v", built, err)
	}
	if e.databaseExists(stale.DatabaseName) {
		t.Fatal("the half-built spare was not dropped")
	}
	spares, _ := e.catalog.Spares(bg)
	if len(spares) != 1 || spares[0].DatabaseName == stale.DatabaseName || spares[0].Status != "ready" {
		t.Fatalf("spares = %+v", spares)
	}
	e.requireClean()
}
