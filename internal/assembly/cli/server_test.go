package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/silo-dev/silo/internal/assembly/app"
)

// dbAdmin creates the DB user name@'%' with privs ON *.* as root (WITH
// GRANT OPTION when grant), dropped when t ends, and returns its DSN.
func (e *tenantEnv) dbAdmin(t *testing.T, name, password, privs string, grant bool) string {
	t.Helper()
	t.Cleanup(func() { _, _ = e.root.Exec("DROP USER IF EXISTS ?@'%'", name) })
	if _, err := e.root.Exec("CREATE USER ?@'%' IDENTIFIED BY ?", name, password); err != nil {
		t.Fatal(err)
	}
	q := "GRANT " + privs + " ON *.* TO ?@'%'"
	if grant {
		q += " WITH GRANT OPTION"
	}
	if _, err := e.root.Exec(q, name); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s:%s@tcp(127.0.0.1:3306)/", name, password)
}

// siloInput runs one silo command with input on stdin (a terminal when
// terminal is set).
func (e *tenantEnv) siloInput(t *testing.T, input string, terminal bool, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	con := console{in: strings.NewReader(input), terminal: terminal}
	err := runConsole(context.Background(), app.Extensions{}, args, getenvFrom(e.env), con, &out, &errOut)
	return out.String(), errOut.String(), err
}

// failsWith runs a silo command that must fail with an error containing
// each of want, and whose output and error never show secret.
func (e *tenantEnv) failsWith(t *testing.T, secret string, args []string, want ...string) {
	t.Helper()
	out, errOut, err := runCmd(t, e.env, args...)
	if err == nil {
		t.Fatalf("silo %s succeeded:\n%s", strings.Join(args, " "), out)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("silo %s: %v; want %q", strings.Join(args, " "), err, w)
		}
	}
	if secret != "" && strings.Contains(err.Error()+out+errOut, secret) {
		t.Errorf("silo %s shows the password: %v\n%s\n%s", strings.Join(args, " "), err, out, errOut)
	}
}

func TestServerCommands(t *testing.T) {
	t.Parallel()
	e := newTenantEnv(t)
	e.env["SILO_LOG_LEVEL"] = "debug"
	e.silo(t, "tenant", "create", "--slug", "acme", "--name", "Acme")
	const pw = "Cli-Admin-pw-77"
	full := e.dbAdmin(t, e.prefix+"adm", pw, "SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, REFERENCES, CREATE USER", true)
	readOnly := e.dbAdmin(t, e.prefix+"ro", pw, "SELECT", false)
	dsnFile := filepath.Join(t.TempDir(), "dsn")
	if err := os.WriteFile(dsnFile, []byte(full+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	out := e.silo(t, "server", "add", "second", "--dsn-file", dsnFile, "--capacity", "3", "--label", "region=eu", "--label", "tier=dedicated",
		"--conns-max", "5", "--spare-pool", "1", "--json")
	v := decodeObject(t, out)
	if v["name"] != "second" || v["host"] != "127.0.0.1:3306" || v["capacity"] != 3.0 || v["connsMax"] != 5.0 || v["sparePool"] != 1.0 ||
		v["status"] != "active" || v["labels"].(map[string]any)["tier"] != "dedicated" || strings.Contains(out, pw) || strings.Contains(out, `"dsn"`) {
		t.Fatalf("add: %s", out)
	}
	stdout, stderr, err := e.siloInput(t, full+"\n", false, "server", "add", "third", "--dsn", "-", "--json")
	if err != nil || decodeObject(t, stdout)["name"] != "third" || strings.Contains(stdout+stderr, pw) {
		t.Fatalf("add --dsn -: %v\n%s\n%s", err, stdout, stderr)
	}

	table := e.silo(t, "server", "list")
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "NAME") || !strings.HasPrefix(lines[1], "default") ||
		!strings.Contains(lines[2], "region=eu,tier=dedicated") || strings.Contains(table, pw) {
		t.Fatalf("list:\n%s", table)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(e.silo(t, "server", "list", "--json")), &list); err != nil || len(list) != 3 || list[0]["tenants"] != 1.0 {
		t.Fatalf("list --json: %v %v", err, list)
	}
	if got := decodeObject(t, e.silo(t, "server", "drain", "second", "--json")); got["status"] != "draining" {
		t.Fatalf("drain: %v", got)
	}
	if got := decodeObject(t, e.silo(t, "server", "get", "second", "--json")); got["status"] != "draining" || got["capacity"] != 3.0 {
		t.Fatalf("get: %v", got)
	}
	got := decodeObject(t, e.silo(t, "server", "set", "second", "--status", "active", "--capacity", "7", "--label", "region=us",
		"--spare-pool", "default", "--conns-max", "0", "--json"))
	if got["status"] != "active" || got["capacity"] != 7.0 || got["sparePool"] != nil || got["connsMax"] != 0.0 || len(got["labels"].(map[string]any)) != 1 {
		t.Fatalf("set: %v", got)
	}
	if got := decodeObject(t, e.silo(t, "server", "set", "second", "--no-labels", "--json")); len(got["labels"].(map[string]any)) != 0 || got["capacity"] != 7.0 {
		t.Fatalf("set --no-labels: %v", got)
	}
	if got := decodeObject(t, e.silo(t, "server", "set", "second", "--dsn-file", dsnFile, "--json")); got["checkedAt"] == nil {
		t.Fatalf("set --dsn-file: %v", got)
	}
	if got := decodeObject(t, e.silo(t, "server", "check", "second", "--json")); got["lastError"] != nil || got["version"] == "" {
		t.Fatalf("check: %v", got)
	}
	// A check records what the account lost, and that it has it again.
	if _, err := e.root.Exec("REVOKE CREATE USER ON *.* FROM ?@'%'", e.prefix+"adm"); err != nil {
		t.Fatal(err)
	}
	e.failsWith(t, pw, []string{"server", "check", "second"}, "the account lacks: CREATE USER")
	if got := decodeObject(t, e.silo(t, "server", "get", "second", "--json")); got["lastError"] != "the account lacks: CREATE USER" {
		t.Fatalf("after a failed check: %v", got)
	}
	if _, err := e.root.Exec("GRANT CREATE USER ON *.* TO ?@'%'", e.prefix+"adm"); err != nil {
		t.Fatal(err)
	}
	if got := decodeObject(t, e.silo(t, "server", "check", "second", "--json")); got["lastError"] != nil {
		t.Fatalf("check after the grant: %v", got)
	}

	e.failsWith(t, "", []string{"server", "get", "nope"}, "not found")
	e.failsWith(t, "", []string{"server", "set", "nope", "--capacity", "2"}, "not found")
	e.failsWith(t, "", []string{"server", "remove", "nope", "--yes"}, "not found")
	e.failsWith(t, pw, []string{"server", "add", "second", "--dsn", full}, "already exists")
	e.failsWith(t, pw, []string{"server", "add", "Bad_Name", "--dsn", full}, "name must be")
	e.failsWith(t, pw, []string{"server", "add", "fourth", "--dsn", full, "--capacity", "0"}, "capacity")
	e.failsWith(t, pw, []string{"server", "add", "fourth", "--dsn", full, "--label", "nokey"}, "key=value")
	e.failsWith(t, pw, []string{"server", "add", "fourth", "--dsn", readOnly}, "lacks the INSERT privilege", "lacks the CREATE USER privilege", "lacks the GRANT OPTION privilege")
	e.failsWith(t, pw, []string{"server", "add", "fourth", "--dsn", "u:" + pw + "@tcp(127.0.0.1:1)/"}, "could not connect to 127.0.0.1:1")
	e.failsWith(t, pw, []string{"server", "add", "fourth", "--dsn", "u:" + pw + "@tcp(127.0.0.1:3306"}, "dsn is not a valid DSN")
	e.failsWith(t, pw, []string{"server", "add", "fourth", "--dsn", full, "--dsn-file", dsnFile}, "not both")
	e.failsWith(t, "", []string{"server", "add", "fourth", "--dsn-file", filepath.Join(t.TempDir(), "missing")}, "read the DSN")
	e.failsWith(t, "", []string{"server", "set", "second", "--status", "paused"}, "status must be active, draining or disabled")
	e.failsWith(t, pw, []string{"server", "set", "second", "--dsn", readOnly}, "lacks the INSERT privilege")
	e.failsWith(t, "", []string{"server", "get"}, "usage")
	e.failsWith(t, "", []string{"server", "frobnicate", "x"}, "usage")
	e.failsWith(t, "", []string{"server", "remove", "default", "--yes"}, "still holds tenants")
	if n := e.count(t, "SELECT COUNT(*) FROM `"+e.central+"`.db_servers"); n != 3 {
		t.Fatalf("%d servers after the refused commands", n)
	}

	// remove asks on a terminal, refuses without one unless --yes.
	e.failsWith(t, "", []string{"server", "remove", "second"}, "refusing to run without confirmation")
	if _, _, err := e.siloInput(t, "third\n", true, "server", "remove", "second"); err == nil || !strings.Contains(err.Error(), "not confirmed") {
		t.Fatalf("wrong answer: %v", err)
	}
	if out, _, err := e.siloInput(t, "second\n", true, "server", "remove", "second"); err != nil || !strings.Contains(out, "removed") {
		t.Fatalf("remove: %v %s", err, out)
	}
	e.silo(t, "server", "remove", "third", "--yes")
	if n := e.count(t, "SELECT COUNT(*) FROM `"+e.central+"`.db_servers"); n != 1 {
		t.Fatalf("%d servers left, want default alone", n)
	}
	if n := e.count(t, "SELECT COUNT(*) FROM `"+e.central+"`.audit_log WHERE action LIKE 'server.%' AND actor_kind = 'cli' AND actor_id = 'operator'"); n < 6 {
		t.Fatalf("%d server changes audited as the operator", n)
	}
}
