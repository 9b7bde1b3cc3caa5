package tenantdb_test

import (
	"context"
	"database/sql"
	"testing"
	"testing/fstest"

	"github.com/silo-dev/silo/config"
	"github.com/silo-dev/silo/internal/testsupport/testdb"
	"github.com/silo-dev/silo/migrations"
)

// migratorSet is a two-migration set: a table, then a column.
func migratorSet(t *testing.T) migrations.Set {
	t.Helper()
	set, err := migrations.NewSet("mig", fstest.MapFS{
		"00001_t.sql": {Data: []byte("-- +goose Up\nCREATE TABLE t (id INT PRIMARY KEY);\n-- +goose Down\nDROP TABLE t;\n")},
		"00002_c.sql": {Data: []byte("-- +goose Up\nALTER TABLE t ADD COLUMN c INT NULL;\n-- +goose Down\nALTER TABLE t DROP COLUMN c;\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func gooseVersion(t *testing.T, root *sql.DB, database string) int64 {
	t.Helper()
	var v sql.NullInt64
	if err := root.QueryRow("SELECT MAX(version_id) FROM `" + database + "`.goose_mig_version").Scan(&v); err != nil {
		t.Fatalf("version of %s: %v", database, err)
	}
	return v.Int64
}

// One Migrator migrates database after database on one connection, each
// under goose and its lock; a missing database fails without touching the
// previous one; a connection killed under it is replaced by one on the
// database at work.
func TestMigratorMigratesDatabasesInTurn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg, err := config.ParseDSN(testdb.ServerDSN())
	if err != nil {
		t.Fatal(err)
	}
	prefix := testdb.Prefix(t)
	srv := openServer(t, cfg)
	root := openRoot(t, cfg)
	set := migratorSet(t)
	a, b := prefix+"a", prefix+"b"
	for _, d := range []string{a, b} {
		if err := srv.CreateDatabase(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	m, err := srv.NewMigrator()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	if v, err := m.MigrateTo(ctx, a, set, true, 1); err != nil || v != 1 {
		t.Fatalf("a up to 1 = %d, %v", v, err)
	}
	if v, err := m.MigrateTo(ctx, b, set, true, 0); err != nil || v != 2 {
		t.Fatalf("b up = %d, %v", v, err)
	}
	if got := gooseVersion(t, root, a); got != 1 {
		t.Fatalf("a is at %d after b's run, want 1", got)
	}
	if v, err := m.MigrateTo(ctx, prefix+"missing", set, true, 0); err == nil || v != -1 {
		t.Fatalf("missing database = %d, %v; want an error and -1", v, err)
	}
	if got, err := m.Version(ctx, b, set); err != nil || got != 2 {
		t.Fatalf("Version(b) = %d, %v", got, err)
	}
	if n := processesOn(t, root, b); n != 1 {
		t.Fatalf("%d connections on %s, want the Migrator's one", n, b)
	}

	// Kill the connection (it is on b); the next call reconnects.
	var id int64
	if err := root.QueryRow("SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ?", b).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Exec("KILL CONNECTION ?", id); err != nil {
		t.Fatal(err)
	}
	if v, err := m.MigrateTo(ctx, a, set, true, 0); err != nil || v != 2 {
		t.Fatalf("a up after the kill = %d, %v", v, err)
	}
	if got := gooseVersion(t, root, b); got != 2 {
		t.Fatalf("b is at %d", got)
	}
	if n := processesOn(t, root, a); n != 1 {
		t.Fatalf("%d connections on %s after the reconnect, want 1", n, a)
	}
}

func processesOn(t *testing.T, root *sql.DB, database string) int {
	t.Helper()
	var n int
	if err := root.QueryRow("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = ?", database).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
