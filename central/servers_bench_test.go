package central

import (
	"context"
	"fmt"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/internal/testsupport/testdb"
)

// placementCatalog is a migrated central database with servers database
// servers registered, each holding no tenant yet.
func placementCatalog(tb testing.TB, servers int) *Catalog {
	tb.Helper()
	ctx := context.Background()
	cfg := testdb.Central(tb)
	if _, err := NewMigrator(cfg).Up(ctx); err != nil {
		tb.Fatal(err)
	}
	db, err := Open(ctx, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	c := NewCatalog(db, cfg.DBName)
	for i := range servers {
		s := &Server{Name: fmt.Sprintf("s%d", i), Addr: "127.0.0.1:3306", DSN: "root@tcp(127.0.0.1:3306)/", PasswordEnc: []byte{0},
			Status: ServerActive, Capacity: 1 << 30, Labels: Labels{"region": []string{"eu", "us"}[i%2]}}
		if err := c.AddServer(ctx, s); err != nil {
			tb.Fatal(err)
		}
	}
	return c
}

// BenchmarkPlacement is what placement adds to a tenant creation: reading
// the registry and taking a slot on the chosen server, inside the
// creation's transaction (rolled back here, so that every round places
// on the same registry), against the same transaction doing nothing.
func BenchmarkPlacement(b *testing.B) {
	for _, servers := range []int{1, 3, 20} {
		c := placementCatalog(b, servers)
		ctx := context.Background()
		for _, want := range []Placement{{}, {Labels: Labels{"region": "eu"}}} {
			b.Run(fmt.Sprintf("servers=%d/labels=%d", servers, len(want.Labels)), func(b *testing.B) {
				for b.Loop() {
					tx, err := c.db.BeginTxx(ctx, nil)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := place(ctx, tx, want); err != nil {
						b.Fatal(err)
					}
					_ = tx.Rollback()
				}
			})
		}
		b.Run(fmt.Sprintf("servers=%d/empty-transaction", servers), func(b *testing.B) {
			for b.Loop() {
				tx, err := c.db.BeginTxx(ctx, nil)
				if err != nil {
					b.Fatal(err)
				}
				_ = tx.Rollback()
			}
		})
	}
}

// TestPlacementPicksMostRoom checks place on its own: the most free room,
// ties by name, labels, full servers skipped.
func TestPlacementPicksMostRoom(t *testing.T) {
	t.Parallel()
	c := placementCatalog(t, 3)
	ctx := context.Background()
	_, err := c.UpdateServer(ctx, "s0", ServerChange{Capacity: ptrTo(1)})
	if err != nil {
		t.Fatal(err)
	}
	tx := func(want Placement) (string, error) {
		var name string
		err := sqlxTx(ctx, c.db, func(tx *sqlx.Tx) error {
			s, err := place(ctx, tx, want)
			if s != nil {
				name = s.Name
			}
			return err
		})
		return name, err
	}
	if s, err := tx(Placement{Labels: Labels{"region": "us"}}); err != nil || s != "s1" {
		t.Fatalf("region=us: %s %v", s, err)
	}
	if s, err := tx(Placement{Server: "s0"}); err != nil || s != "s0" {
		t.Fatalf("named s0: %s %v", s, err)
	}
	if _, err := tx(Placement{Server: "s0"}); err != ErrNoCapacity {
		t.Fatalf("named s0, full: %v", err)
	}
}

func ptrTo[T any](v T) *T { return &v }

func sqlxTx(ctx context.Context, db *sqlx.DB, fn func(*sqlx.Tx) error) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}
