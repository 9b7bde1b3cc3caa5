package mysqllock_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/silo-dev/silo/internal/lib/mysqllock"
	"github.com/silo-dev/silo/internal/testsupport/testdb"
)

// conn returns a connection of its own to the test server, closed when t
// ends (which also releases its locks).
func conn(t *testing.T, db *sql.DB) *sql.Conn {
	t.Helper()
	c, err := db.Conn(context.Background())
	if err != nil {
		t.Fatalf("conn: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestGetRelease(t *testing.T) {
	db := testdb.Server(t)
	defer db.Close()
	db.SetMaxIdleConns(0) // a closed *sql.Conn ends its session
	ctx := context.Background()
	name := mysqllock.Name("silo:test:", testdb.Prefix(t), 20)
	a, b := conn(t, db), conn(t, db)

	if ok, err := mysqllock.Get(ctx, a, name, 0); err != nil || !ok {
		t.Fatalf("A Get = %v, %v; want true", ok, err)
	}
	if ok, err := mysqllock.Get(ctx, b, name, 0); err != nil || ok {
		t.Fatalf("B Get while A holds it = %v, %v; want false", ok, err)
	}
	if held, err := mysqllock.Release(ctx, b, name); err != nil || held {
		t.Errorf("B Release of A's lock = %v, %v; want false", held, err)
	}
	if held, err := mysqllock.Release(ctx, a, name); err != nil || !held {
		t.Fatalf("A Release = %v, %v; want true", held, err)
	}
	if ok, err := mysqllock.Get(ctx, b, name, time.Second); err != nil || !ok {
		t.Fatalf("B Get after A released = %v, %v; want true", ok, err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if ok, err := mysqllock.Get(ctx, a, name, time.Second); err != nil || !ok {
		t.Fatalf("A Get after B's session ended = %v, %v; want true", ok, err)
	}
}

// TestNameStable pins the names of the migration and central locks: a
// runner of an older release must meet a newer one on the same lock.
func TestNameStable(t *testing.T) {
	for _, c := range []struct {
		prefix, key string
		n           int
		want        string
	}{
		{"silo:migrate:", "central:127.0.0.1:3306/silo", 20, "silo:migrate:d195b1fea55f90de8951cc030676a919850af5de"},
		{"silo:", "silo_central/tenant:acme", 24, "silo:39dff8ac08ebe6f7960b2f70879259aa2f91ef386a8bc119"},
	} {
		got := mysqllock.Name(c.prefix, c.key, c.n)
		if got != c.want {
			t.Errorf("Name(%q, %q, %d) = %q, want %q", c.prefix, c.key, c.n, got, c.want)
		}
		if len(got) > 64 {
			t.Errorf("Name(%q, %q, %d) has %d characters, MySQL allows 64", c.prefix, c.key, c.n, len(got))
		}
	}
}
