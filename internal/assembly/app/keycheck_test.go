package app_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/config"
	"github.com/silo-dev/silo/internal/assembly/app"
	"github.com/silo-dev/silo/internal/testsupport/testdb"
	"github.com/silo-dev/silo/provisioning"
)

// keyEnv is one installation (central database and tenant prefix) whose
// processes may start with different master keys.
type keyEnv struct {
	dsn, prefix, central string
	root                 *sql.DB
}

func (e *keyEnv) cfg(t *testing.T, masterKey string) *config.Config {
	t.Helper()
	return testdb.Load(t, map[string]string{
		"SILO_CENTRAL_DSN": e.dsn, "SILO_TENANT_DB_PREFIX": e.prefix, "SILO_BCRYPT_COST": "4",
		"SILO_SPARE_POOL_SIZE": "0", "SILO_JWT_SECRET": jwtSecret, "SILO_MASTER_KEY": masterKey,
	})
}

// snapshot is everything of the central database a start could change:
// its tables, schema version, key check, tenants (with their sealed DB
// passwords), spares and audit log.
func (e *keyEnv) snapshot(t *testing.T) string {
	t.Helper()
	var tables string
	q := "SELECT GROUP_CONCAT(TABLE_NAME ORDER BY TABLE_NAME) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?"
	if err := e.root.QueryRow(q, e.central).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	out := []string{tables}
	queries := []string{
		"SELECT MAX(version_id) FROM `%s`.goose_db_version",
		"SELECT COUNT(*) FROM `%s`.spare_databases",
		"SELECT COUNT(*) FROM `%s`.audit_log",
		"SELECT IFNULL(GROUP_CONCAT(CONCAT_WS('|', slug, status, step, HEX(db_password_enc), updated_at)), '') FROM `%s`.tenants",
	}
	if strings.Contains(","+tables+",", ",master_key_check,") {
		queries = append(queries, "SELECT IFNULL(GROUP_CONCAT(HEX(sealed)), 'no check') FROM `%s`.master_key_check")
	}
	for _, q := range queries {
		var v string
		if err := e.root.QueryRow(fmt.Sprintf(q, e.central)).Scan(&v); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		out = append(out, v)
	}
	return strings.Join(out, "\n")
}

// hasCheck reports whether a key check is stored.
func (e *keyEnv) hasCheck(t *testing.T) bool {
	t.Helper()
	var n int
	if err := e.root.QueryRow("SELECT COUNT(*) FROM `" + e.central + "`.master_key_check").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// A process started with another master key than the installation's (a
// lost variable, development secrets generated anew in another folder)
// must not start: it would seal new tenants' DB passwords, and resume
// stuck provisionings, under a key the others cannot open.
func TestOpenRefusesAnotherMasterKey(t *testing.T) {
	t.Parallel()
	dsn := testdb.Central(t)
	e := &keyEnv{dsn: dsn.FormatDSN(), prefix: testdb.Prefix(t), central: dsn.DBName, root: testdb.Server(t)}
	t.Cleanup(func() { e.root.Close() })
	right, wrong := masterKey, otherMasterKey
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)

	a, err := app.Open(ctx, e.cfg(t, right), log)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Provisioner.Create(ctx, provisioning.NewTenant{Slug: "acme", Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	a.Close()
	if !e.hasCheck(t) {
		t.Fatal("the first start stored no key check")
	}
	before := e.snapshot(t)

	refused := func(what string, open func(context.Context, *config.Config, *slog.Logger, ...app.Extensions) (*app.App, error), want string) {
		t.Helper()
		a, err := open(ctx, e.cfg(t, wrong), log)
		if err == nil {
			a.Close()
		}
		if !errors.Is(err, central.ErrWrongMasterKey) || !strings.Contains(err.Error(), "nothing was changed") {
			t.Fatalf("%s: err = %v, want ErrWrongMasterKey", what, err)
		}
		if after := e.snapshot(t); after != want {
			t.Fatalf("%s changed the central database:\nbefore\n%s\nafter\n%s", what, want, after)
		}
	}
	refused("Open", app.Open, before)
	refused("OpenExisting", app.OpenExisting, before)

	// An installation from before the check, a migration behind: the
	// tenant's sealed DB password tells the keys apart, and a wrong key
	// neither migrates the database nor stores a check.
	if _, err := e.root.Exec("DELETE FROM `" + e.central + "`.master_key_check"); err != nil {
		t.Fatal(err)
	}
	if _, err := central.NewMigrator(dsn).Down(ctx); err != nil {
		t.Fatal(err)
	}
	old := e.snapshot(t)
	refused("Open of an older installation", app.Open, old)
	a, err = app.Open(ctx, e.cfg(t, right), log)
	if err != nil {
		t.Fatalf("the right key on an older installation: %v", err)
	}
	a.Close()
	if !e.hasCheck(t) {
		t.Fatal("the right key stored no check")
	}
	refused("Open after the check was stored", app.Open, e.snapshot(t))
}
