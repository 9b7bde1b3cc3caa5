// Package testdb gives each test its own uniquely named databases on the
// shared MariaDB server and drops them when the test ends, so tests run in
// parallel and never touch databases they did not create.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"flag"
	"os"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/silo-dev/silo/config"
)

// ServerDSN is the server tests use: $SILO_TEST_DSN, or root on 127.0.0.1:3306.
func ServerDSN() string {
	if v := os.Getenv("SILO_TEST_DSN"); v != "" {
		return v
	}
	return "root@tcp(127.0.0.1:3306)/"
}

// Name returns a fresh random database name with the given suffix, such as
// silo_test_1a2b3c4d5e6f_central.
func Name(suffix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "silo_test_" + hex.EncodeToString(b) + "_" + suffix
}

// Central returns the configuration of a new, not yet created, central
// database that is dropped when tb ends.
func Central(tb testing.TB) *mysql.Config {
	tb.Helper()
	cfg, err := config.ParseDSN(ServerDSN())
	if err != nil {
		tb.Fatalf("testdb: SILO_TEST_DSN: %v", err)
	}
	cfg.DBName = Name("central")
	DropOnCleanup(tb, cfg.DBName)
	return cfg
}

// DropOnCleanup drops database name (if it exists) when tb ends.
func DropOnCleanup(tb testing.TB, name string) {
	tb.Helper()
	if !config.ValidDatabaseName(name) {
		tb.Fatalf("testdb: bad database name %q", name)
	}
	tb.Cleanup(func() { Drop(tb, name) })
}

// Drop drops database name, if it exists.
func Drop(tb testing.TB, name string) {
	tb.Helper()
	if !config.ValidDatabaseName(name) {
		tb.Errorf("testdb: bad database name %q", name)
		return
	}
	db := Server(tb)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+name+"`"); err != nil {
		tb.Errorf("testdb: drop %s: %v", name, err)
	}
}

// probeGroupConcat is group_concat_max_len on the connections tests open
// themselves (Server, Connect): their fingerprints GROUP_CONCAT whole
// tables, which MySQL would cut at its default of 1024 bytes.
const probeGroupConcat = "16777216"

// Server opens a connection to the test server with no database selected.
func Server(tb testing.TB) *sql.DB {
	tb.Helper()
	cfg, err := config.ParseDSN(ServerDSN())
	if err != nil {
		tb.Fatalf("testdb: SILO_TEST_DSN: %v", err)
	}
	cfg.DBName = ""
	cfg.Params["group_concat_max_len"] = probeGroupConcat
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		tb.Fatalf("testdb: %v", err)
	}
	return sql.OpenDB(conn)
}

// Connect opens a pool to the server at dsn (a private server's, say),
// closed when tb ends.
func Connect(tb testing.TB, dsn string) *sql.DB {
	tb.Helper()
	cfg, err := config.ParseDSN(dsn)
	if err != nil {
		tb.Fatalf("testdb: %v", err)
	}
	cfg.Params["group_concat_max_len"] = probeGroupConcat
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		tb.Fatalf("testdb: %v", err)
	}
	db := sql.OpenDB(conn)
	tb.Cleanup(func() { db.Close() })
	return db
}

// Prefix returns a fresh tenant database prefix (t + 8 hex digits + _)
// and, when tb ends, drops every database and DB user whose name starts
// with it. No two tests share a prefix, and none is a prefix of another.
func Prefix(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	prefix := "t" + hex.EncodeToString(b) + "_"
	tb.Cleanup(func() { DropPrefixed(tb, prefix) })
	return prefix
}

// Settings are the SILO_* variables of a test installation: a fresh
// central database (Central) and tenant prefix (Prefix), both dropped when
// tb ends, and settings for the rest.
func Settings(tb testing.TB, settings map[string]string) map[string]string {
	tb.Helper()
	env := map[string]string{"SILO_CENTRAL_DSN": Central(tb).FormatDSN(), "SILO_TENANT_DB_PREFIX": Prefix(tb)}
	for k, v := range settings {
		env[k] = v
	}
	return env
}

// DropPrefixed drops every database and DB user whose name starts with
// prefix.
func DropPrefixed(tb testing.TB, prefix string) {
	tb.Helper()
	db := Server(tb)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	like := Like(prefix)
	var names []string
	rows, err := db.QueryContext(ctx, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE ?", like)
	if err == nil {
		for rows.Next() {
			var n string
			_ = rows.Scan(&n)
			names = append(names, n)
		}
		rows.Close()
	}
	for _, n := range names {
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+n+"`"); err != nil {
			tb.Errorf("testdb: drop %s: %v", n, err)
		}
	}
	var users [][2]string
	rows, err = db.QueryContext(ctx, "SELECT User, Host FROM mysql.user WHERE User LIKE ?", like)
	if err == nil {
		for rows.Next() {
			var u [2]string
			_ = rows.Scan(&u[0], &u[1])
			users = append(users, u)
		}
		rows.Close()
	}
	for _, u := range users {
		if u[1] == "" { // a MariaDB role (the shared connection mode's)
			if _, err := db.ExecContext(ctx, "DROP ROLE IF EXISTS `"+u[0]+"`"); err != nil {
				tb.Errorf("testdb: drop role %s: %v", u[0], err)
			}
			continue
		}
		if _, err := db.ExecContext(ctx, "DROP USER IF EXISTS ?@?", u[0], u[1]); err != nil {
			tb.Errorf("testdb: drop user %s: %v", u[0], err)
		}
	}
}

// Config loads the Silo configuration of Settings(tb, settings).
func Config(tb testing.TB, settings map[string]string) *config.Config {
	tb.Helper()
	return Load(tb, Settings(tb, settings))
}

// Load loads a Silo configuration from the SILO_* variables env.
func Load(tb testing.TB, env map[string]string) *config.Config {
	tb.Helper()
	cfg, err := config.NewLoader(flag.NewFlagSet("silo", flag.ContinueOnError), func(k string) string { return env[k] }).Load()
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}
