package tenantdb_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/silo-dev/silo/internal/testsupport/testdb"
	"github.com/silo-dev/silo/tenantdb"
)

// poolGoroutines returns the stacks of the running goroutines that run
// code of package tenantdb (its pool closes and slot timers), by
// goroutine header.
func poolGoroutines() map[string]string { return testdb.Goroutines("silo-dev/silo/tenantdb.") }

// TestPoolCloseWaits checks that Close returns only once the pools it
// closes are closed, their connections' slots are back and no goroutine
// of the manager runs, and that the Release of a lease that outlived Close
// closes its pool before returning. It does not run in parallel: it counts
// every goroutine of the package.
func TestPoolCloseWaits(t *testing.T) {
	cfg := rootConfig(t, testdb.ServerDSN())
	root := openRoot(t, cfg)
	srv := openServer(t, cfg)
	prefix := testdb.Prefix(t)
	tenants := []tenant{newTenant(t, srv, root, prefix, "a"), newTenant(t, srv, root, prefix, "b"), newTenant(t, srv, root, prefix, "c")}
	before := poolGoroutines()

	pm := tenantdb.NewPoolManager(tenantdb.PoolOptions{MaxPools: 2})
	t.Cleanup(pm.Close)
	leases := make([]*tenantdb.Lease, len(tenants))
	for i, tn := range tenants {
		l, err := pm.Acquire(tn.creds)
		if err != nil {
			t.Fatal(err)
		}
		whoami(t, l.DB, tn)
		leases[i] = l
	}
	// a was evicted by c (MaxPools 2) and closes on its release; b closes
	// in Close; c is still leased at Close.
	leases[0].Release()
	leases[1].Release()
	pm.Close()

	for i := range 2 {
		if err := closedDB(leases[i].DB.DB)(); err != nil {
			t.Errorf("tenant %d: Close returned before its pool was closed: %v", i, err)
		}
	}
	if held := tenantdb.HeldSlots(pm); held != 1 {
		t.Errorf("Close returned with %d slots held, want 1 (the leased pool's connection)", held)
	}
	for g, stack := range poolGoroutines() {
		if _, ok := before[g]; !ok {
			t.Errorf("goroutine of the pool manager runs after Close returned:\n%s", stack)
		}
	}

	// The lease that outlived Close: its Release closes the pool.
	whoami(t, leases[2].DB, tenants[2])
	leases[2].Release()
	if err := closedDB(leases[2].DB.DB)(); err != nil {
		t.Errorf("Release after Close returned before the pool was closed: %v", err)
	}
	if s, held := pm.Stats(), tenantdb.HeldSlots(pm); s.OpenConns != 0 || held != 0 {
		t.Errorf("after the last Release: stats %+v, %d slots held, want none", s, held)
	}
	for g, stack := range poolGoroutines() {
		if _, ok := before[g]; !ok {
			t.Errorf("goroutine of the pool manager runs after the last Release:\n%s", stack)
		}
	}
	for i, tn := range tenants {
		eventually(t, 5*time.Second, fmt.Sprintf("server connections of tenant %d", i), noServerConns(t, root, tn.user))
	}
}

// TestPoolWaiterWokenByRelease holds the only connection slot in one
// tenant's transaction while another tenant's query waits for a slot. The
// wait is signalled: while it lasts nothing is evicted (idle pools without
// connections would free no slot), and the busy tenant's Release evicts
// its now idle pool, whose closed connection hands its slot to the waiter.
// A waiter that polled would evict the idle pools while it waits.
func TestPoolWaiterWokenByRelease(t *testing.T) {
	t.Parallel()
	cfg := rootConfig(t, testdb.ServerDSN())
	root := openRoot(t, cfg)
	srv := openServer(t, cfg)
	prefix := testdb.Prefix(t)
	busy, waiter := newTenant(t, srv, root, prefix, "busy"), newTenant(t, srv, root, prefix, "wait")
	idle := []tenant{newTenant(t, srv, root, prefix, "i0"), newTenant(t, srv, root, prefix, "i1"), newTenant(t, srv, root, prefix, "i2")}

	pm := tenantdb.NewPoolManager(tenantdb.PoolOptions{MaxConns: 1, AcquireTimeout: time.Minute})
	t.Cleanup(pm.Close)
	// Pools without a connection, least recently used.
	for _, tn := range idle {
		l, err := pm.Acquire(tn.creds)
		if err != nil {
			t.Fatal(err)
		}
		l.Release()
	}
	lb, err := pm.Acquire(busy.creds)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := lb.DB.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("UPDATE kv SET v = v WHERE id = 1"); err != nil {
		t.Fatal(err)
	}

	lw, err := pm.Acquire(waiter.creds)
	if err != nil {
		t.Fatal(err)
	}
	defer lw.Release()
	done := make(chan error, 1)
	go func() {
		var v string
		done <- lw.DB.QueryRow("SELECT v FROM kv WHERE id = 1").Scan(&v)
	}()
	eventually(t, 10*time.Second, "query waiting for a slot", func() error {
		if s := pm.Stats(); s.Waits != 1 {
			return fmt.Errorf("stats %+v", s)
		}
		return nil
	})
	select {
	case err := <-done:
		t.Fatalf("query ran while the only slot was held: %v", err)
	default:
	}
	if s := pm.Stats(); s.Evictions != 0 || s.Pools != 5 {
		t.Fatalf("while waiting: stats %+v, want 5 pools and no eviction", s)
	}

	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	lb.Release()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("waiting query: %v", err)
		}
	case <-time.After(30 * time.Second): // far below AcquireTimeout
		t.Fatal("waiting query not woken by the release")
	}
	whoami(t, lw.DB, waiter)
	if s := pm.Stats(); s.Evictions != 1 || s.Pools != 4 || s.Waits != 1 {
		t.Fatalf("after the release: stats %+v, want the busy pool evicted, 4 pools, 1 wait", s)
	}
	// The idle pools are still pooled; the busy one opens anew.
	for _, tn := range append(idle, busy) {
		l, err := pm.Acquire(tn.creds)
		if err != nil {
			t.Fatal(err)
		}
		l.Release()
	}
	for _, tn := range idle {
		if n := tn.opens.Load(); n != 1 {
			t.Errorf("idle tenant %s: Open called %d times, want 1", tn.database, n)
		}
	}
	if n := busy.opens.Load(); n != 2 {
		t.Errorf("busy tenant: Open called %d times, want 2 (its idle pool was evicted for the waiter)", n)
	}
}

// TestPoolWaitGivesUp checks that a connection waits for a slot at most
// AcquireTimeout (DATABASE_UNAVAILABLE) or while its context lives.
func TestPoolWaitGivesUp(t *testing.T) {
	t.Parallel()
	cfg := rootConfig(t, testdb.ServerDSN())
	root := openRoot(t, cfg)
	srv := openServer(t, cfg)
	prefix := testdb.Prefix(t)
	busy, waiter := newTenant(t, srv, root, prefix, "busy"), newTenant(t, srv, root, prefix, "wait")

	pm := tenantdb.NewPoolManager(tenantdb.PoolOptions{MaxConns: 1, AcquireTimeout: 200 * time.Millisecond})
	t.Cleanup(pm.Close)
	lb, err := pm.Acquire(busy.creds)
	if err != nil {
		t.Fatal(err)
	}
	defer lb.Release()
	tx, err := lb.DB.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()

	lw, err := pm.Acquire(waiter.creds)
	if err != nil {
		t.Fatal(err)
	}
	defer lw.Release()
	var v string
	err = lw.DB.QueryRow("SELECT v FROM kv WHERE id = 1").Scan(&v)
	if !errors.Is(err, tenantdb.ErrNoConnection) || !tenantdb.IsUnavailable(err) {
		t.Fatalf("query with no slot free = %v, want ErrNoConnection", err)
	}
	// A context ending first ends the wait with its own error.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := lw.DB.QueryRowContext(ctx, "SELECT v FROM kv WHERE id = 1").Scan(&v); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("query whose context ends first = %v, want context.DeadlineExceeded", err)
	}
	if s := pm.Stats(); s.Waits != 2 || s.OpenConns != 1 {
		t.Fatalf("stats %+v, want 2 waits and 1 open connection", s)
	}
}
