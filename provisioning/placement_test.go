package provisioning_test

import (
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/config"
	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/internal/testsupport/testdb"
	"github.com/silo-dev/silo/provisioning"
)

// addServer registers another name for the test server (placement cares
// about the registry, not about where the servers are).
func (e *env) addServer(t testing.TB, name string, capacity int, labels central.Labels) {
	t.Helper()
	cfg, err := config.ParseDSN(testdb.ServerDSN())
	if err != nil {
		t.Fatal(err)
	}
	rec := &central.Server{Name: name, Status: central.ServerActive, Capacity: capacity, Labels: labels}
	provisioning.SealServer(e.box, rec, cfg)
	if err := e.catalog.AddServer(bg, rec); err != nil {
		t.Fatal(err)
	}
}

func (e *env) setServer(t testing.TB, name string, ch central.ServerChange) {
	t.Helper()
	if _, err := e.catalog.UpdateServer(bg, name, ch); err != nil {
		t.Fatal(err)
	}
}

func (e *env) create(t testing.TB, slug string, server string, labels central.Labels) (*central.Tenant, error) {
	t.Helper()
	return e.prov.Create(bg, provisioning.NewTenant{Slug: slug, Name: slug, Server: server, Labels: labels})
}

func (e *env) tenantsOn(t testing.TB, name string) int {
	t.Helper()
	rec, err := e.catalog.Server(bg, name)
	if err != nil {
		t.Fatal(err)
	}
	if real := e.count("SELECT COUNT(*) FROM tenants WHERE server = ?", name); real != rec.Tenants {
		t.Fatalf("server %s counts %d tenants, the catalog holds %d", name, rec.Tenants, real)
	}
	return rec.Tenants
}

// A new tenant goes to the named server, else to an active server with
// every requested label, else to the active server with the most room; a
// draining or disabled server takes none, and with no room left the
// answer is NO_CAPACITY. The counts follow creations and purges.
func TestPlacement(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.setServer(t, central.DefaultServer, central.ServerChange{Capacity: ptr(2)})
	e.addServer(t, "eu-1", 3, central.Labels{"region": "eu"})
	e.addServer(t, "us-1", 1, central.Labels{"region": "us", "tier": "dedicated"})

	placed := func(slug, server string, labels central.Labels) string {
		t.Helper()
		tn, err := e.create(t, slug, server, labels)
		if err != nil {
			t.Fatalf("create %s: %v", slug, err)
		}
		if got, _ := e.prov.Get(bg, slug); got.Server != tn.Server {
			t.Fatalf("%s: answer says %s, catalog %s", slug, tn.Server, got.Server)
		}
		return tn.Server
	}
	if s := placed("named", central.DefaultServer, nil); s != central.DefaultServer {
		t.Fatalf("named server: placed on %s", s)
	}
	if s := placed("labelled", "", central.Labels{"tier": "dedicated"}); s != "us-1" {
		t.Fatalf("label tier=dedicated: placed on %s", s)
	}
	if _, err := e.create(t, "no-room", "", central.Labels{"region": "us"}); !apperr.Is(err, "NO_CAPACITY") {
		t.Fatalf("label region=us with us-1 full: %v, want NO_CAPACITY", err)
	}
	// Free room: eu-1 3, default 1: eu-1 twice, then either (a tie: by name).
	for i, want := range []string{"eu-1", "eu-1", "default", "eu-1"} {
		if s := placed(fmt.Sprintf("free-%d", i), "", nil); s != want {
			t.Fatalf("free-%d: placed on %s, want %s", i, s, want)
		}
	}
	if _, err := e.create(t, "full", "", nil); !apperr.Is(err, "NO_CAPACITY") || apperr.From(err).Kind != apperr.Unavailable {
		t.Fatalf("every server full: %v, want 503 NO_CAPACITY", err)
	}
	if n := e.count("SELECT COUNT(*) FROM tenants WHERE slug IN ('no-room', 'full')"); n != 0 {
		t.Fatalf("%d tenants recorded for refused creations", n)
	}

	// Draining: its tenants stay, no new one; named, it is a conflict.
	e.setServer(t, "eu-1", central.ServerChange{Capacity: ptr(10), Status: ptr(central.ServerDraining)})
	if _, err := e.create(t, "drained", "eu-1", nil); !apperr.Is(err, "SERVER_NOT_ACTIVE") {
		t.Fatalf("named draining server: %v, want SERVER_NOT_ACTIVE", err)
	}
	e.setServer(t, central.DefaultServer, central.ServerChange{Capacity: ptr(10)})
	if s := placed("after-drain", "", nil); s != central.DefaultServer {
		t.Fatalf("with eu-1 draining: placed on %s", s)
	}
	if _, err := e.create(t, "nowhere", "mars-1", nil); !apperr.Is(err, "VALIDATION_FAILED") {
		t.Fatalf("unknown server: %v, want VALIDATION_FAILED", err)
	}
	for _, bad := range []provisioning.NewTenant{
		{Slug: "bad-server", Name: "x", Server: "Not_A_Name"},
		{Slug: "bad-label", Name: "x", Labels: map[string]string{"Region!": "eu"}},
	} {
		if _, err := e.prov.Create(bg, bad); !apperr.Is(err, "VALIDATION_FAILED") {
			t.Fatalf("%s: %v, want VALIDATION_FAILED", bad.Slug, err)
		}
	}

	if n := e.tenantsOn(t, "eu-1"); n != 3 {
		t.Fatalf("eu-1 holds %d tenants, want 3", n)
	}
	if err := e.prov.Delete(bg, "free-0", true); err != nil {
		t.Fatal(err)
	}
	if n := e.tenantsOn(t, "eu-1"); n != 2 {
		t.Fatalf("eu-1 holds %d tenants after a purge, want 2", n)
	}
	if err := e.catalog.RemoveServer(bg, "eu-1"); !apperr.Is(err, "CONFLICT") {
		t.Fatalf("removing a server with tenants: %v, want CONFLICT", err)
	}
	e.requireClean()
}

// Concurrent creations never overfill a server.
func TestPlacementUnderConcurrency(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.setServer(t, central.DefaultServer, central.ServerChange{Capacity: ptr(3)})
	e.addServer(t, "second", 2, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			_, err := e.create(t, fmt.Sprintf("race-%d", i), "", nil)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	ok, full := 0, 0
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case apperr.Is(err, "NO_CAPACITY"):
			full++
		default:
			t.Fatalf("create: %v", err)
		}
	}
	if ok != 5 || full != 3 {
		t.Fatalf("%d created, %d refused; want 5 and 3", ok, full)
	}
	if a, b := e.tenantsOn(t, central.DefaultServer), e.tenantsOn(t, "second"); a != 3 || b != 2 {
		t.Fatalf("servers hold %d and %d tenants, want 3 and 2", a, b)
	}
}

func ptr[T any](v T) *T { return &v }

// Each active server keeps its own spare pool (its size, else the
// default); a tenant claims a spare of the server it is placed on, and a
// draining server gets no new spares.
func TestSparesPerServer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *provisioning.Options) { o.SparePool = 1 })
	e.addServer(t, "second", 10, nil)
	e.addServer(t, "third", 10, nil)
	e.setServer(t, "second", central.ServerChange{SparePool: &sql.NullInt64{Int64: 2, Valid: true}})
	e.setServer(t, "third", central.ServerChange{Status: ptr(central.ServerDraining)})
	built, err := e.prov.RefillSpares(bg)
	if err != nil || built != 3 {
		t.Fatalf("refill built %d: %v, want 3", built, err)
	}
	spares := func(server string) int {
		return e.count("SELECT COUNT(*) FROM spare_databases WHERE server = ? AND status = 'ready'", server)
	}
	if d, s, th := spares(central.DefaultServer), spares("second"), spares("third"); d != 1 || s != 2 || th != 0 {
		t.Fatalf("spares: default %d, second %d, third %d; want 1, 2, 0", d, s, th)
	}
	tn, err := e.create(t, "claims", "second", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tn.DatabaseName, e.prefix+"0") || tn.Server != "second" || spares("second") != 1 {
		t.Fatalf("tenant on %s with database %s; second keeps %d spares", tn.Server, tn.DatabaseName, spares("second"))
	}
	e.requireClean()
}
