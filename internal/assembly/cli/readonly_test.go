package cli

import (
	"errors"
	"strings"
	"testing"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/config"
)

// readOnlyCommands only read the central database: with a mistyped DSN
// they must say it does not exist, not create and migrate a new one.
var readOnlyCommands = [][]string{
	{"tenant", "list"},
	{"tenant", "get", "acme"},
	{"tenant", "repair", "--check"},
	{"migrate", "tenants", "status"},
	{"migrate", "tenants", "up", "--dry-run"},
	{"migrate", "central", "status"},
	{"migrate", "central", "down"},
}

func TestReadOnlyCommandsCreateNoDatabase(t *testing.T) {
	t.Parallel()
	e := newTenantEnv(t) // its central database does not exist yet
	tables := func() int {
		return e.count(t, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", e.central)
	}
	for _, args := range readOnlyCommands {
		_, _, err := runCmd(t, e.env, args...)
		if !errors.Is(err, central.ErrNoDatabase) || !strings.Contains(err.Error(), e.central+" does not exist") {
			t.Errorf("silo %s on a missing database: err = %v", strings.Join(args, " "), err)
		}
		if e.databaseExists(t, e.central) {
			t.Fatalf("silo %s created the central database", strings.Join(args, " "))
		}
	}

	// A database that exists but holds no Silo schema stays empty.
	if _, err := e.root.Exec("CREATE DATABASE `" + e.central + "`"); err != nil {
		t.Fatal(err)
	}
	for _, args := range readOnlyCommands {
		_, _, err := runCmd(t, e.env, args...)
		if args[1] == "central" {
			if args[2] == "status" && err != nil {
				t.Errorf("migrate central status on an empty database: %v", err)
			}
		} else if !errors.Is(err, central.ErrNoDatabase) || !strings.Contains(err.Error(), "no Silo central schema") {
			t.Errorf("silo %s on an empty database: err = %v", strings.Join(args, " "), err)
		}
		if n := tables(); n != 0 {
			t.Fatalf("silo %s created %d tables", strings.Join(args, " "), n)
		}
	}

	// Behind the latest version: the read-only commands do not migrate it.
	e.silo(t, "migrate", "central", "up")
	e.silo(t, "migrate", "central", "down")
	for _, args := range readOnlyCommands[:5] {
		if _, _, err := runCmd(t, e.env, args...); !errors.Is(err, central.ErrNoDatabase) || !strings.Contains(err.Error(), "migrations pending") {
			t.Errorf("silo %s on a database behind: err = %v", strings.Join(args, " "), err)
		}
	}
	if out := e.silo(t, "migrate", "central", "status"); strings.Count(out, "pending") != 1 {
		t.Fatalf("a read-only command migrated the database:\n%s", out)
	}

	// Commands that write create what they need; then the readers work.
	e.silo(t, "tenant", "create", "--slug", "acme", "--name", "Acme")
	if v := e.tenantJSON(t, "acme"); v["slug"] != "acme" {
		t.Fatalf("get: %v", v)
	}
	if out := e.silo(t, "tenant", "list"); !strings.Contains(out, "acme") {
		t.Fatalf("list: %q", out)
	}
}

// "tenant create" may create the central database (it writes).
func TestWritingCommandCreatesCentralDatabase(t *testing.T) {
	t.Parallel()
	e := newTenantEnv(t)
	e.silo(t, "tenant", "create", "--slug", "acme", "--name", "Acme")
	cfg, _ := config.ParseDSN(e.env["SILO_CENTRAL_DSN"])
	if !e.databaseExists(t, cfg.DBName) {
		t.Fatal("tenant create did not create the central database")
	}
}
