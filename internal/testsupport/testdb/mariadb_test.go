package testdb_test

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/silo-dev/silo/internal/testsupport/testdb"
)

func openRoot(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Timeout = 2 * time.Second
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	t.Cleanup(func() { db.Close() })
	return db
}

func TestStartMariaDB(t *testing.T) {
	t.Parallel()
	begin := time.Now()
	m := testdb.StartMariaDB(t)
	t.Logf("private server up on port %d in %v", m.Port(), time.Since(begin).Round(time.Millisecond))
	ctx := context.Background()
	db := openRoot(t, m.DSN())

	var port int
	if err := db.QueryRowContext(ctx, "SELECT @@port").Scan(&port); err != nil {
		t.Fatal(err)
	}
	if port != m.Port() {
		t.Fatalf("@@port = %d, want %d", port, m.Port())
	}
	if _, err := db.ExecContext(ctx, "CREATE DATABASE kept"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE kept.t (id INT PRIMARY KEY) ENGINE=InnoDB"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO kept.t VALUES (42)"); err != nil {
		t.Fatal(err)
	}

	begin = time.Now()
	m.Stop()
	t.Logf("stopped in %v", time.Since(begin).Round(time.Millisecond))
	_, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(m.Port()), time.Second)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial after Stop: %v, want connection refused", err)
	}
	if err := db.PingContext(ctx); err == nil {
		t.Fatal("ping after Stop succeeded")
	}
	m.Stop() // no-op

	begin = time.Now()
	m.Start()
	t.Logf("restarted in %v", time.Since(begin).Round(time.Millisecond))
	m.Start() // no-op
	var id int
	if err := db.QueryRowContext(ctx, "SELECT id FROM kept.t").Scan(&id); err != nil {
		t.Fatal(err)
	}
	if id != 42 {
		t.Fatalf("id = %d after restart, want 42", id)
	}
}

// TestStartPrivate starts a server outside any test's cleanup, as the load
// tool does, and checks that Close stops it and removes its directory.
func TestStartPrivate(t *testing.T) {
	t.Parallel()
	m, err := testdb.StartPrivate()
	if errors.Is(err, testdb.ErrNoMariaDB) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	db := openRoot(t, m.DSN())
	var port int
	if err := db.QueryRowContext(context.Background(), "SELECT @@port").Scan(&port); err != nil {
		m.Close()
		t.Fatal(err)
	}
	if port != m.Port() {
		t.Errorf("@@port = %d, want %d", port, m.Port())
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(m.Port()), time.Second)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial after Close: %v, want connection refused", err)
	}
	if _, err := os.Stat(m.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stat %s after Close: %v, want it removed", m.Dir(), err)
	}
}
