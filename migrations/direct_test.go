package migrations_test

import (
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"testing"
	"testing/fstest"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/silo-dev/silo/migrations"
)

// compiledFS is a set using what goose's SQL files may: a DDL-only
// migration, a NO TRANSACTION one with a StatementBegin/End trigger, and
// one mixing DML and DDL in a transaction.
func compiledFS() fstest.MapFS {
	return fstest.MapFS{
		"00001_items.sql": {Data: []byte("-- +goose Up\nCREATE TABLE items (id INT PRIMARY KEY, n INT NULL);\nCREATE INDEX items_n ON items (n);\n-- +goose Down\nDROP TABLE items;\n")},
		"00002_trigger.sql": {Data: []byte(`-- +goose Up
-- +goose NO TRANSACTION
-- +goose StatementBegin
CREATE TRIGGER items_bi BEFORE INSERT ON items FOR EACH ROW
BEGIN
  IF NEW.n IS NULL THEN SET NEW.n = 7; END IF;
END;
-- +goose StatementEnd
-- +goose Down
DROP TRIGGER items_bi;
`)},
		"00003_seed.sql": {Data: []byte("-- +goose Up\nINSERT INTO items (id) VALUES (1);\nCREATE TABLE notes (id INT PRIMARY KEY);\n-- +goose Down\nDROP TABLE notes;\nDELETE FROM items;\n")},
	}
}

// multiConn is a session on cfg's database that allows several
// statements per query, as Compiled.Up needs.
func multiConn(tb testing.TB, cfg *mysql.Config) *sql.Conn {
	tb.Helper()
	c := cfg.Clone()
	c.MultiStatements = true
	db := open(tb, c)
	tb.Cleanup(func() { db.Close() })
	return conn(tb, db)
}

// requireLockFree fails unless no session holds key's migration lock.
func requireLockFree(tb testing.TB, db *sql.DB, key string) {
	tb.Helper()
	var free int
	if err := db.QueryRow("SELECT IS_FREE_LOCK(?)", migrations.LockName(key)).Scan(&free); err != nil || free != 1 {
		tb.Fatalf("migration lock free = %d, %v", free, err)
	}
}

func compile(tb testing.TB, fsys fs.FS) *migrations.Compiled {
	tb.Helper()
	c, err := migrations.Compile(fsys)
	if err != nil {
		tb.Fatalf("Compile: %v", err)
	}
	return c
}

// setProvider is goose on cfg's database for fsys, version table "goose_t_version".
func setProvider(tb testing.TB, cfg *mysql.Config, fsys fs.FS, key string) *migrations.Provider {
	tb.Helper()
	p, err := migrations.NewProvider(open(tb, cfg), fsys, "goose_t_version", key)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Close() })
	return p
}

// versionRows is the version table's (version_id, is_applied) rows in order.
func versionRows(tb testing.TB, db *sql.DB) []string {
	tb.Helper()
	rows, err := db.Query("SELECT version_id, is_applied FROM goose_t_version ORDER BY id")
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v int64
		var applied bool
		if err := rows.Scan(&v, &applied); err != nil {
			tb.Fatal(err)
		}
		out = append(out, fmt.Sprint(v, applied))
	}
	return out
}

// A compiled set leaves a new database to goose, then writes what goose
// writes: goose, reading the database after it, finds nothing pending, the
// same rows a goose run leaves, and rolls it back.
func TestCompiledUpInteroperatesWithGoose(t *testing.T) {
	t.Parallel()
	ctx := ctxTimeout(t, 50*time.Second)
	fsys := compiledFS()
	c := compile(t, fsys)
	db, cfg := openDB(t)
	key := uniqueKey(t)
	cn := multiConn(t, cfg)

	if _, err := c.Up(ctx, cn, cfg.DBName, "goose_t_version", key, 0); !errors.Is(err, migrations.ErrUseGoose) {
		t.Fatalf("Up on a new database = %v, want ErrUseGoose", err)
	}
	if got := tables(t, db, cfg.DBName); len(got) != 0 {
		t.Fatalf("Up left tables %v on a database it left to goose", got)
	}
	requireLockFree(t, db, key)
	p := setProvider(t, cfg, fsys, key)
	if _, err := p.UpTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Up(ctx, cn, cfg.DBName, "goose_t_version", key, 2); err != nil || v != 2 {
		t.Fatalf("Up to 2 = %d, %v", v, err)
	}
	if v, err := c.Up(ctx, cn, cfg.DBName, "goose_t_version", key, 0); err != nil || v != 3 {
		t.Fatalf("Up = %d, %v", v, err)
	}
	requireLockFree(t, db, key) // released with the last version row
	if v, err := c.Up(ctx, cn, cfg.DBName, "goose_t_version", key, 0); err != nil || v != 3 {
		t.Fatalf("Up again = %d, %v", v, err)
	}
	if pending, err := p.HasPending(ctx); err != nil || pending {
		t.Fatalf("goose HasPending = %v, %v", pending, err)
	}
	requireVersion(t, p, 3)
	var n int
	if err := db.QueryRow("SELECT n FROM items WHERE id = 1").Scan(&n); err != nil || n != 7 {
		t.Fatalf("the seeded row through the trigger: n = %d, %v", n, err)
	}

	db2, cfg2 := openDB(t)
	if _, err := setProvider(t, cfg2, fsys, uniqueKey(t)).Up(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := versionRows(t, db), versionRows(t, db2); !reflect.DeepEqual(got, want) {
		t.Fatalf("version rows %v, goose writes %v", got, want)
	}
	if _, err := p.DownTo(ctx, 1); err != nil {
		t.Fatalf("goose DownTo after the compiled run: %v", err)
	}
	if v, err := c.Up(ctx, cn, cfg.DBName, "goose_t_version", key, 0); err != nil || v != 3 {
		t.Fatalf("Up after goose's rollback = %d, %v", v, err)
	}
}

// A compiled run waits for goose's lock on the database.
func TestCompiledUpHoldsGooseLock(t *testing.T) {
	t.Parallel()
	ctx := ctxTimeout(t, 50*time.Second)
	fsys := compiledFS()
	db, cfg := openDB(t)
	key := uniqueKey(t)
	if _, err := setProvider(t, cfg, fsys, key).UpTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	holder := conn(t, db)
	if err := migrations.NewSessionLocker(key, time.Second).SessionLock(ctx, holder); err != nil {
		t.Fatal(err)
	}
	c, cn := compile(t, fsys), multiConn(t, cfg)
	done := make(chan error, 1)
	go func() {
		_, err := c.Up(ctx, cn, cfg.DBName, "goose_t_version", key, 0)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Up ran while goose's lock was held: %v", err)
	case <-time.After(500 * time.Millisecond):
	}
	if got := versionRows(t, db); len(got) != 2 {
		t.Fatalf("rows while locked: %v", got)
	}
	if err := migrations.NewSessionLocker(key, time.Second).SessionUnlock(ctx, holder); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := versionRows(t, db); len(got) != 4 {
		t.Fatalf("rows after the lock: %v", got)
	}
}

// A failing migration in a transaction records nothing and undoes its
// rows; the version before it is returned. A gap in the applied versions
// is left to goose (which reports it).
func TestCompiledUpFailureAndGap(t *testing.T) {
	t.Parallel()
	ctx := ctxTimeout(t, 50*time.Second)
	fsys := compiledFS()
	fsys["00004_bad.sql"] = &fstest.MapFile{Data: []byte("-- +goose Up\nINSERT INTO items (id) VALUES (2);\nINSERT INTO no_such_table VALUES (1);\n-- +goose Down\n")}
	db, cfg := openDB(t)
	key := uniqueKey(t)
	if _, err := setProvider(t, cfg, fsys, key).UpTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	cn := multiConn(t, cfg)
	v, err := compile(t, fsys).Up(ctx, cn, cfg.DBName, "goose_t_version", key, 0)
	if err == nil || v != 3 {
		t.Fatalf("Up with a failing migration = %d, %v; want 3 and its error", v, err)
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM items").Scan(&n); err != nil || n != 1 {
		t.Fatalf("items = %d, %v: the failed migration's row stayed", n, err)
	}
	if got := versionRows(t, db); len(got) != 4 {
		t.Fatalf("rows: %v", got)
	}
	requireLockFree(t, db, key)

	if _, err := db.Exec("DELETE FROM goose_t_version WHERE version_id = 2"); err != nil {
		t.Fatal(err)
	}
	if _, err := compile(t, fsys).Up(ctx, cn, cfg.DBName, "goose_t_version", key, 0); !errors.Is(err, migrations.ErrUseGoose) {
		t.Fatalf("Up over a gap = %v, want ErrUseGoose", err)
	}
}
