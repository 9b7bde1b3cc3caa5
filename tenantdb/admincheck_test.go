package tenantdb_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/silo-dev/silo/internal/testsupport/testdb"
	"github.com/silo-dev/silo/tenantdb"
)

// account runs setup as root for the DB user name@'%' (password pw),
// created first and dropped when t ends, and returns its DSN.
func account(t *testing.T, root *sql.DB, name string, setup ...string) *mysql.Config {
	t.Helper()
	t.Cleanup(func() { _, _ = root.Exec("DROP USER IF EXISTS ?@'%'", name) })
	if _, err := root.Exec("CREATE USER ?@'%' IDENTIFIED BY 'pw-Check-1'", name); err != nil {
		t.Fatal(err)
	}
	for _, q := range setup {
		if _, err := root.Exec(q, name); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	cfg, err := mysql.ParseDSN(fmt.Sprintf("%s:pw-Check-1@tcp(127.0.0.1:3306)/", name))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestCheckAdmin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root := testdb.Server(t)
	t.Cleanup(func() { root.Close() })
	prefix := testdb.Prefix(t)
	all := []string{"SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "INDEX", "REFERENCES", "CREATE USER", "GRANT OPTION"}
	rootCfg, err := mysql.ParseDSN(testdb.ServerDSN())
	if err != nil {
		t.Fatal(err)
	}
	role := prefix + "role"
	t.Cleanup(func() { _, _ = root.Exec("DROP ROLE IF EXISTS `" + role + "`") })
	if _, err := root.Exec("CREATE ROLE `" + role + "`"); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Exec("GRANT ALL PRIVILEGES ON *.* TO `" + role + "` WITH GRANT OPTION"); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		cfg     *mysql.Config
		missing []string
	}{
		{"root", rootCfg, nil},
		{"every privilege", account(t, root, prefix+"full",
			"GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, REFERENCES, CREATE USER ON *.* TO ?@'%' WITH GRANT OPTION"), nil},
		{"all privileges without grant option", account(t, root, prefix+"nogrant", "GRANT ALL PRIVILEGES ON *.* TO ?@'%'"), []string{"GRANT OPTION"}},
		{"select only", account(t, root, prefix+"ro", "GRANT SELECT ON *.* TO ?@'%'"), all[1:]},
		{"nothing", account(t, root, prefix+"none"), all},
		{"everything on one database only", account(t, root, prefix+"onedb", "GRANT ALL PRIVILEGES ON `"+prefix+"x`.* TO ?@'%' WITH GRANT OPTION"), all},
		{"a default role", account(t, root, prefix+"roled", "GRANT `"+role+"` TO ?@'%'", "SET DEFAULT ROLE `"+role+"` FOR ?@'%'"), nil},
		{"a role not active", account(t, root, prefix+"roleoff", "GRANT `"+role+"` TO ?@'%'"), all},
	}
	for _, c := range cases {
		version, missing, err := tenantdb.CheckAdmin(ctx, c.cfg)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !strings.Contains(version, "MariaDB") && !strings.HasPrefix(version, "8.") {
			t.Errorf("%s: version %q", c.name, version)
		}
		if strings.Contains(version, "MariaDB") && !slices.Equal(missing, c.missing) {
			t.Errorf("%s: missing %q, want %q", c.name, missing, c.missing)
		}
	}

	bad := rootCfg.Clone()
	bad.Addr = "127.0.0.1:1"
	if _, _, err := tenantdb.CheckAdmin(ctx, bad); err == nil {
		t.Error("an unreachable server is not an error")
	}
	wrong := account(t, root, prefix+"wrong")
	wrong.Passwd = "not-the-password-42"
	if _, _, err := tenantdb.CheckAdmin(ctx, wrong); err == nil || strings.Contains(err.Error(), wrong.Passwd) || !strings.Contains(err.Error(), "Access denied") {
		t.Errorf("wrong password: %v", err)
	}
}
