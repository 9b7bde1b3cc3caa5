package cli

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/silo-dev/silo/config"
	"github.com/silo-dev/silo/internal/testsupport/testdb"
	"github.com/silo-dev/silo/migrations"
)

// tenantEnv is testEnv plus what the tenant tests check as root: the
// server connection, the central database's name and the tenant prefix.
type tenantEnv struct {
	env     map[string]string
	root    *sql.DB
	central string
	prefix  string
}

func newTenantEnv(t *testing.T) *tenantEnv {
	t.Helper()
	env := testEnv(t)
	env["USER"] = "operator"
	cfg, err := config.ParseDSN(env["SILO_CENTRAL_DSN"])
	if err != nil {
		t.Fatal(err)
	}
	root := testdb.Server(t)
	t.Cleanup(func() { root.Close() })
	return &tenantEnv{env: env, root: root, central: cfg.DBName, prefix: env["SILO_TENANT_DB_PREFIX"]}
}

// with returns a copy of the environment with extra variables.
func (e *tenantEnv) with(kv ...string) map[string]string {
	out := make(map[string]string, len(e.env)+len(kv)/2)
	for k, v := range e.env {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// silo runs one silo command and fails the test if it fails.
func (e *tenantEnv) silo(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := runCmd(t, e.env, args...)
	if err != nil {
		t.Fatalf("silo %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// tenantJSON is "silo tenant get SLUG --json", decoded.
func (e *tenantEnv) tenantJSON(t *testing.T, slug string) map[string]any {
	t.Helper()
	return decodeObject(t, e.silo(t, "tenant", "get", slug, "--json"))
}

func decodeObject(t *testing.T, out string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, out)
	}
	return v
}

// catalogRow reads a tenant's catalog row as root.
func (e *tenantEnv) catalogRow(t *testing.T, slug string) (status, step, dbUser string, lastError sql.NullString) {
	t.Helper()
	err := e.root.QueryRow("SELECT status, step, db_user, last_error FROM `"+e.central+"`.tenants WHERE slug = ?", slug).
		Scan(&status, &step, &dbUser, &lastError)
	if err != nil {
		t.Fatalf("catalog row of %s: %v", slug, err)
	}
	return status, step, dbUser, lastError
}

func (e *tenantEnv) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := e.root.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func (e *tenantEnv) databaseExists(t *testing.T, name string) bool {
	t.Helper()
	return testdb.DatabaseExists(t, e.root, name)
}

func (e *tenantEnv) userExists(t *testing.T, name string) bool {
	t.Helper()
	return testdb.UserExists(t, e.root, name)
}

// prefixed counts the databases and DB users whose names start with the
// test's tenant prefix.
func (e *tenantEnv) prefixed(t *testing.T) (dbs, users int) {
	t.Helper()
	return len(testdb.Databases(t, e.root, e.prefix)), len(testdb.Users(t, e.root, e.prefix))
}

var identifier = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)

// userLocked reports whether the DB user's account is locked.
func (e *tenantEnv) userLocked(t *testing.T, user string) bool {
	t.Helper()
	if !identifier.MatchString(user) {
		t.Fatalf("bad user name %q", user)
	}
	var stmt string
	if err := e.root.QueryRow("SHOW CREATE USER `" + user + "`@`%`").Scan(&stmt); err != nil {
		t.Fatalf("show create user %s: %v", user, err)
	}
	return strings.Contains(stmt, "ACCOUNT LOCK")
}

// dropUser drops a tenant's DB user as root, as an operator's mistake would.
func (e *tenantEnv) dropUser(t *testing.T, user string) {
	t.Helper()
	if !strings.HasPrefix(user, e.prefix) {
		t.Fatalf("refusing to drop %q: not the test's", user)
	}
	if _, err := e.root.Exec("DROP USER ?@'%'", user); err != nil {
		t.Fatal(err)
	}
}

// setStep rewrites a tenant's catalog row as a crashed or failed
// provisioning would have left it.
// A failed one gets lastError.
func (e *tenantEnv) setStep(t *testing.T, slug, status, step, lastError string) {
	t.Helper()
	res, err := e.root.Exec("UPDATE `"+e.central+"`.tenants SET status = ?, step = ?, last_error = ? WHERE slug = ?",
		status, step, sql.NullString{String: lastError, Valid: status == "failed"}, slug)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("no catalog row for %s", slug)
	}
}

// tableRows splits table output into its header fields and its rows.
func tableRows(t *testing.T, out string) (header []string, rows []string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) == 0 || lines[0] == "" {
		t.Fatalf("no table:\n%s", out)
	}
	return strings.Fields(lines[0]), lines[1:]
}

var tableHeader = []string{"SLUG", "NAME", "STATUS", "SERVER", "DATABASE", "SCHEMA", "DOMAINS", "CREATED"}

// checkRow fails unless a table row shows the tenant with status.
func checkRow(t *testing.T, row, slug, name, status, database string) {
	t.Helper()
	if !strings.HasPrefix(row, slug+" ") {
		t.Fatalf("row does not start with %q: %q", slug, row)
	}
	for _, want := range []string{"  " + name + "  ", "  " + status + "  ", "  " + database + "  "} {
		if !strings.Contains(row, want) {
			t.Fatalf("row %q lacks %q", row, strings.TrimSpace(want))
		}
	}
}

func slugsOf(t *testing.T, out string) []string {
	t.Helper()
	var views []map[string]any
	if err := json.Unmarshal([]byte(out), &views); err != nil {
		t.Fatalf("output is not a JSON array: %v\n%s", err, out)
	}
	slugs := []string{}
	for _, v := range views {
		slugs = append(slugs, v["slug"].(string))
	}
	return slugs
}

// noPasswordField fails if any key of v (at any depth) names a password.
func noPasswordField(t *testing.T, v any) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if strings.Contains(strings.ToLower(k), "password") {
				t.Fatalf("JSON has a password field %q", k)
			}
			noPasswordField(t, x)
		}
	case []any:
		for _, x := range v {
			noPasswordField(t, x)
		}
	}
}

func TestTenantCommands(t *testing.T) {
	t.Parallel()
	e := newTenantEnv(t)
	acmeDB := e.prefix + "acme"

	// Create, as a table.
	out := e.silo(t, "tenant", "create", "--slug", "acme", "--name", "Acme Inc", "--domain", "acme.io", "--domain", "www.acme.io")
	header, rows := tableRows(t, out)
	if !slices.Equal(header, tableHeader) || len(rows) != 1 {
		t.Fatalf("create printed:\n%s", out)
	}
	checkRow(t, rows[0], "acme", "Acme Inc", "active", acmeDB)
	if !strings.Contains(rows[0], "  default  ") || !strings.Contains(rows[0], "  acme.io,www.acme.io  ") ||
		!strings.Contains(rows[0], fmt.Sprintf("  %d  ", migrations.Latest(migrations.Tenant()))) {
		t.Fatalf("row lacks the domains or the schema version: %q", rows[0])
	}
	if !e.databaseExists(t, acmeDB) {
		t.Fatalf("database %s was not created", acmeDB)
	}
	_, _, acmeUser, _ := e.catalogRow(t, "acme")
	if !strings.HasPrefix(acmeUser, e.prefix) || !e.userExists(t, acmeUser) {
		t.Fatalf("DB user %q was not created with the prefix %s", acmeUser, e.prefix)
	}

	// Create, as JSON, with a first tenant_admin.
	const adminPassword = "Corr3ct-horse-battery"
	env := e.with("ADMIN_PASSWORD", adminPassword)
	out, errOut, err := runCmd(t, env, "tenant", "create", "--json", "--slug", "beta-co", "--name", "Beta", "--domain", "Beta.Example.org",
		"--admin-email", "Boss@Acme.io", "--admin-first-name", "B", "--admin-last-name", "O")
	if err != nil {
		t.Fatalf("create with an admin: %v\n%s", err, errOut)
	}
	if strings.Contains(out, adminPassword) || strings.Contains(errOut, adminPassword) {
		t.Fatal("the admin's password was printed")
	}
	var raw any
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("create --json: %v\n%s", err, out)
	}
	noPasswordField(t, raw)
	beta := decodeObject(t, out)
	betaDB := e.prefix + "beta_co"
	if beta["slug"] != "beta-co" || beta["name"] != "Beta" || beta["status"] != "active" || beta["databaseName"] != betaDB ||
		fmt.Sprint(beta["domains"]) != "[beta.example.org]" || beta["schemaVersion"] != float64(migrations.Latest(migrations.Tenant())) {
		t.Fatalf("create --json printed %v", beta)
	}
	if _, ok := beta["lastError"]; ok {
		t.Fatalf("an active tenant shows lastError: %v", beta)
	}
	t.Run("FirstAdmin", func(t *testing.T) {
		var email, first, last, hash, role string
		err := e.root.QueryRow("SELECT u.email, u.first_name, u.last_name, u.password_hash, r.role_name FROM `"+betaDB+"`.users u JOIN `"+betaDB+"`.user_roles r ON r.user_id = u.id").
			Scan(&email, &first, &last, &hash, &role)
		if err != nil {
			t.Fatalf("first admin: %v", err)
		}
		if email != "boss@acme.io" || first != "B" || last != "O" || role != "tenant_admin" {
			t.Fatalf("first admin = %s %s %s %s", email, first, last, role)
		}
		if bcrypt.CompareHashAndPassword([]byte(hash), []byte(adminPassword)) != nil {
			t.Fatal("the admin's password hash does not match ADMIN_PASSWORD")
		}
		if n := e.count(t, "SELECT COUNT(*) FROM `"+betaDB+"`.users"); n != 1 {
			t.Fatalf("%d users in the tenant database", n)
		}
		if n := e.count(t, "SELECT COUNT(*) FROM `"+e.central+"`.tenants WHERE pending_admin IS NOT NULL"); n != 0 {
			t.Fatal("the pending admin (and its hash) stayed in the catalog")
		}
	})
	t.Run("DuplicateSlug", func(t *testing.T) {
		_, _, err := runCmd(t, e.env, "tenant", "create", "--slug", "acme", "--name", "Again")
		if err == nil || err.Error() != "A tenant with this slug already exists" {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("Get", func(t *testing.T) {
		out := e.silo(t, "tenant", "get", "acme")
		header, rows := tableRows(t, out)
		if !slices.Equal(header, tableHeader) || len(rows) != 1 {
			t.Fatalf("get printed:\n%s", out)
		}
		checkRow(t, rows[0], "acme", "Acme Inc", "active", acmeDB)
		// Flags after the positional argument.
		v := e.tenantJSON(t, "acme")
		if v["slug"] != "acme" || v["status"] != "active" || v["databaseName"] != acmeDB || fmt.Sprint(v["domains"]) != "[acme.io www.acme.io]" {
			t.Fatalf("get --json = %v", v)
		}
		// And before it.
		if v := decodeObject(t, e.silo(t, "tenant", "get", "--json", "acme")); v["slug"] != "acme" {
			t.Fatalf("get --json before the slug = %v", v)
		}
		noPasswordField(t, v)
		for _, slug := range []string{"nope", "Not-A-Slug!"} {
			_, _, err := runCmd(t, e.env, "tenant", "get", slug)
			if err == nil || err.Error() != "Tenant not found" {
				t.Fatalf("get %s: err = %v", slug, err)
			}
		}
	})

	t.Run("List", func(t *testing.T) {
		out := e.silo(t, "tenant", "list")
		header, rows := tableRows(t, out)
		if !slices.Equal(header, tableHeader) || len(rows) != 2 {
			t.Fatalf("list printed:\n%s", out)
		}
		checkRow(t, rows[0], "acme", "Acme Inc", "active", acmeDB)
		checkRow(t, rows[1], "beta-co", "Beta", "active", betaDB)
		if got := slugsOf(t, e.silo(t, "tenant", "list", "--json")); !slices.Equal(got, []string{"acme", "beta-co"}) {
			t.Fatalf("list --json = %v", got)
		}
		if got := slugsOf(t, e.silo(t, "tenant", "list", "--json", "--status", "failed")); len(got) != 0 {
			t.Fatalf("list --status failed = %v", got)
		}
		header, rows = tableRows(t, e.silo(t, "tenant", "list", "--q", "ET"))
		if !slices.Equal(header, tableHeader) || len(rows) != 1 {
			t.Fatalf("list --q ET printed %v %q", header, rows)
		}
		checkRow(t, rows[0], "beta-co", "Beta", "active", betaDB)
		if _, _, err := runCmd(t, e.env, "tenant", "list", "--status", "gone"); err == nil || !strings.Contains(err.Error(), "status must be") {
			t.Fatalf("list --status gone: err = %v", err)
		}
	})
	t.Run("ListJSONOfOneIsAnArray", func(t *testing.T) {
		out := e.silo(t, "tenant", "list", "--json", "--q", "acme")
		if strings.HasPrefix(strings.TrimSpace(out), "{") {
			t.Fatalf("list --json with one match printed an object, not an array:\n%s", out)
		}
		if got := slugsOf(t, out); !slices.Equal(got, []string{"acme"}) {
			t.Fatalf("list --json --q acme = %v", got)
		}
	})

	t.Run("SuspendResume", func(t *testing.T) {
		_, rows := tableRows(t, e.silo(t, "tenant", "suspend", "acme"))
		checkRow(t, rows[0], "acme", "Acme Inc", "suspended", acmeDB)
		if v := e.tenantJSON(t, "acme"); v["status"] != "suspended" {
			t.Fatalf("after suspend: %v", v["status"])
		}
		_, _, err := runCmd(t, e.env, "tenant", "suspend", "acme")
		if err == nil || err.Error() != "Not possible while the tenant is suspended" {
			t.Fatalf("second suspend: err = %v", err)
		}
		_, rows = tableRows(t, e.silo(t, "tenant", "list", "--status", "active"))
		if len(rows) != 1 {
			t.Fatalf("list --status active: %q", rows)
		}
		checkRow(t, rows[0], "beta-co", "Beta", "active", betaDB)
		header, rows := tableRows(t, e.silo(t, "tenant", "list", "--status", "suspended"))
		if !slices.Equal(header, tableHeader) || len(rows) != 1 {
			t.Fatalf("list --status suspended: %q", rows)
		}
		checkRow(t, rows[0], "acme", "Acme Inc", "suspended", acmeDB)

		v := decodeObject(t, e.silo(t, "tenant", "resume", "acme", "--json"))
		if v["status"] != "active" {
			t.Fatalf("resume --json = %v", v)
		}
		_, _, err = runCmd(t, e.env, "tenant", "resume", "acme")
		if err == nil || err.Error() != "Not possible while the tenant is active" {
			t.Fatalf("second resume: err = %v", err)
		}
		for _, cmd := range []string{"suspend", "resume", "delete"} {
			if _, _, err := runCmd(t, e.env, "tenant", cmd, "nope"); err == nil || err.Error() != "Tenant not found" {
				t.Fatalf("%s of an unknown tenant: err = %v", cmd, err)
			}
		}
	})

	t.Run("DeleteThenPurge", func(t *testing.T) {
		out := e.silo(t, "tenant", "delete", "acme")
		if out != "tenant acme deleted (database kept, DB user locked)\n" {
			t.Fatalf("delete printed %q", out)
		}
		if v := e.tenantJSON(t, "acme"); v["status"] != "deleted" {
			t.Fatalf("after delete: %v", v)
		}
		if !e.databaseExists(t, acmeDB) || !e.userExists(t, acmeUser) {
			t.Fatal("delete dropped the database or the DB user")
		}
		if !e.userLocked(t, acmeUser) {
			t.Fatal("delete did not lock the DB user")
		}
		if _, _, err := runCmd(t, e.env, "tenant", "resume", "acme"); err == nil || err.Error() != "Not possible while the tenant is deleted" {
			t.Fatalf("resume of a deleted tenant: err = %v", err)
		}

		out = e.silo(t, "tenant", "delete", "acme", "--purge", "--yes", "--json")
		var msg map[string]string
		if err := json.Unmarshal([]byte(out), &msg); err != nil || msg["slug"] != "acme" || msg["result"] != "purged (database and DB user dropped)" {
			t.Fatalf("delete --purge --json printed %q (%v)", out, err)
		}
		if e.databaseExists(t, acmeDB) || e.userExists(t, acmeUser) {
			t.Fatal("purge left the database or the DB user")
		}
		if _, _, err := runCmd(t, e.env, "tenant", "get", "acme"); err == nil || err.Error() != "Tenant not found" {
			t.Fatalf("get after purge: err = %v", err)
		}
		if n := e.count(t, "SELECT COUNT(*) FROM `"+e.central+"`.tenant_domains WHERE domain IN ('acme.io', 'www.acme.io')"); n != 0 {
			t.Fatalf("purge left %d domains", n)
		}
		// Purging beta straight from active, as a table command.
		_, _, betaUser, _ := e.catalogRow(t, "beta-co")
		if out := e.silo(t, "tenant", "delete", "beta-co", "--purge", "--yes"); out != "tenant beta-co purged (database and DB user dropped)\n" {
			t.Fatalf("delete --purge printed %q", out)
		}
		if e.databaseExists(t, betaDB) || e.userExists(t, betaUser) {
			t.Fatal("purge left beta's database or DB user")
		}
		if dbs, users := e.prefixed(t); dbs != 0 || users != 0 {
			t.Fatalf("after purging every tenant: %d databases, %d DB users with the prefix", dbs, users)
		}
		if got := slugsOf(t, e.silo(t, "tenant", "list", "--json")); len(got) != 0 {
			t.Fatalf("list after purging everything = %v", got)
		}
	})

	t.Run("AuditLog", func(t *testing.T) {
		rows, err := e.root.Query("SELECT action, actor_kind, COALESCE(actor_id, ''), target, outcome FROM `" + e.central + "`.audit_log ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got []string
		for rows.Next() {
			var action, kind, id, target, outcome string
			if err := rows.Scan(&action, &kind, &id, &target, &outcome); err != nil {
				t.Fatal(err)
			}
			// The default server is registered by Silo itself when the first command opens it.
			system := action == "server.add" && target == "default" && kind == "system"
			if !system && (kind != "cli" || id != "operator") || outcome != "success" {
				t.Errorf("audit entry %s %s by %s/%s: %s", action, target, kind, id, outcome)
			}
			got = append(got, action+" "+target)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		want := []string{
			"server.add default", "tenant.create acme", "tenant.provision acme", "tenant.create beta-co", "tenant.provision beta-co",
			"tenant.suspend acme", "tenant.resume acme", "tenant.delete acme", "tenant.purge acme", "tenant.purge beta-co",
		}
		if !slices.Equal(got, want) {
			t.Fatalf("audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

func TestTenantCreateErrors(t *testing.T) {
	t.Parallel()
	e := newTenantEnv(t)
	nothingCreated := func(t *testing.T) {
		t.Helper()
		if n := e.count(t, "SELECT COUNT(*) FROM `"+e.central+"`.tenants"); n != 0 {
			t.Fatalf("%d tenants in the catalog", n)
		}
		if dbs, users := e.prefixed(t); dbs != 0 || users != 0 {
			t.Fatalf("%d databases and %d DB users created", dbs, users)
		}
	}
	t.Run("AdminWithoutPassword", func(t *testing.T) {
		_, _, err := runCmd(t, e.env, "tenant", "create", "--slug", "acme", "--name", "Acme Inc",
			"--admin-email", "boss@acme.io", "--admin-first-name", "B", "--admin-last-name", "O")
		if err == nil || !strings.Contains(strings.ToLower(err.Error()), "password") {
			t.Fatalf("err = %v, want it to mention the password", err)
		}
		if _, ok := err.(usageError); ok {
			t.Fatalf("a missing password is not a usage error: %v", err)
		}
		nothingCreated(t)
	})
	t.Run("ShortPassword", func(t *testing.T) {
		_, _, err := runCmd(t, e.with("ADMIN_PASSWORD", "short"), "tenant", "create", "--slug", "acme", "--name", "Acme Inc",
			"--admin-email", "boss@acme.io", "--admin-first-name", "B", "--admin-last-name", "O")
		if err == nil || !strings.Contains(err.Error(), "ADMIN_PASSWORD must be at least 10 characters") {
			t.Fatalf("err = %v", err)
		}
		nothingCreated(t)
	})
	t.Run("BadInput", func(t *testing.T) {
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"--slug", "Bad_Slug", "--name", "X"}, "slug must be 3-40 characters"},
			{[]string{"--slug", "ab", "--name", "X"}, "slug must be 3-40 characters"},
			{[]string{"--slug", "admin", "--name", "X"}, "slug is reserved"},
			{[]string{"--name", "X"}, "slug must be"},
			{[]string{"--slug", "acme"}, "name is required"},
			{[]string{"--slug", "acme", "--name", "X", "--domain", "not a domain"}, "is not a valid domain name"},
			{[]string{"--slug", "acme", "--name", "X", "--domain", "a.io", "--domain", "A.io"}, "a.io is listed twice"},
		} {
			_, _, err := runCmd(t, e.env, append([]string{"tenant", "create"}, c.args...)...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("create %v: err = %v, want %q", c.args, err, c.want)
			}
		}
		nothingCreated(t)
	})
}

func TestTenantRepairCheck(t *testing.T) {
	t.Parallel()
	e := newTenantEnv(t)
	e.silo(t, "tenant", "create", "--slug", "acme", "--name", "Acme Inc")

	out := e.silo(t, "tenant", "repair", "--check")
	if !strings.HasPrefix(out, "ok: ") || strings.Count(out, "\n") != 1 {
		t.Fatalf("check of a clean server printed %q", out)
	}
	var report map[string][]string
	if err := json.Unmarshal([]byte(e.silo(t, "tenant", "repair", "--check", "--json")), &report); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"orphanDatabases", "orphanUsers", "missingDatabases", "missingUsers"} {
		if v, ok := report[k]; !ok || v == nil || len(v) != 0 {
			t.Fatalf("clean report: %s = %v (present %v)", k, v, ok)
		}
	}

	stray := e.prefix + "stray"
	if _, err := e.root.Exec("CREATE DATABASE `" + stray + "`"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = e.root.Exec("DROP DATABASE IF EXISTS `" + stray + "`") })

	out, _, err := runCmd(t, e.env, "tenant", "repair", "--check")
	if !errors.Is(err, errOrphans) || out != "orphan database: "+stray+"\n" {
		t.Fatalf("check with an orphan: err = %v, printed %q", err, out)
	}
	if _, ok := err.(usageError); ok {
		t.Fatal("orphans are not a usage error")
	}
	out, _, err = runCmd(t, e.env, "tenant", "repair", "--json", "--check")
	if !errors.Is(err, errOrphans) {
		t.Fatalf("check --json with an orphan: err = %v", err)
	}
	report = nil
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatalf("check --json printed %q: %v", out, err)
	}
	if !slices.Equal(report["orphanDatabases"], []string{stray}) || len(report["orphanUsers"])+len(report["missingDatabases"])+len(report["missingUsers"]) != 0 {
		t.Fatalf("report = %v", report)
	}

	// Repair itself leaves orphans alone: it only resumes tenants.
	if out := e.silo(t, "tenant", "repair"); out != "no provisioning needed resuming\n" {
		t.Fatalf("repair with nothing to resume printed %q", out)
	}
	if !e.databaseExists(t, stray) {
		t.Fatal("repair dropped an orphan database")
	}

	// A tenant whose DB user disappeared is reported missing.
	_, _, user, _ := e.catalogRow(t, "acme")
	e.dropUser(t, user)
	out, _, err = runCmd(t, e.env, "tenant", "repair", "--check")
	if !errors.Is(err, errOrphans) || !strings.Contains(out, "missing DB user: acme: "+user+"\n") {
		t.Fatalf("check with a missing DB user: err = %v, printed %q", err, out)
	}
	// Repair recreates it (with the catalog's password and grants).
	if out := e.silo(t, "tenant", "repair"); out != "no provisioning needed resuming\nrepaired 1 DB account (user, password and grants): acme\n" {
		t.Fatalf("repair of a missing DB user printed %q", out)
	}
	if !e.userExists(t, user) {
		t.Fatal("repair did not recreate the DB user")
	}
	out, _, err = runCmd(t, e.env, "tenant", "repair", "--check")
	if !errors.Is(err, errOrphans) || out != "orphan database: "+stray+"\n" {
		t.Fatalf("check after repair: err = %v, printed %q", err, out)
	}

	if _, err := e.root.Exec("DROP DATABASE `" + stray + "`"); err != nil {
		t.Fatal(err)
	}
}

// "tenant repair" resumes a failed tenant from the step its catalog row
// records as the last one completed.
func TestTenantRepairResumesFailed(t *testing.T) {
	t.Parallel()
	e := newTenantEnv(t)
	e.silo(t, "tenant", "create", "--slug", "acme", "--name", "Acme Inc")
	e.silo(t, "tenant", "create", "--slug", "fine", "--name", "Fine")
	_, _, user, _ := e.catalogRow(t, "acme")
	// Failed at step "user": the database exists, the DB user does not.
	e.setStep(t, "acme", "failed", "database", "step user: simulated")
	e.dropUser(t, user)

	v := e.tenantJSON(t, "acme")
	if v["status"] != "failed" || v["lastError"] != "step user: simulated" {
		t.Fatalf("failed tenant shows %v", v)
	}
	_, rows := tableRows(t, e.silo(t, "tenant", "get", "acme"))
	// The error is a note below the table.
	checkRow(t, rows[0], "acme", "Acme Inc", "failed (see [1])", e.prefix+"acme")
	if len(rows) != 3 || rows[1] != "" || rows[2] != "[1] acme: step user: simulated" {
		t.Fatalf("get of a failed tenant: %q", rows)
	}
	// Check does not count a half-provisioned tenant's missing objects.
	if out := e.silo(t, "tenant", "repair", "--check"); !strings.HasPrefix(out, "ok: ") {
		t.Fatalf("check: %q", out)
	}

	out := e.silo(t, "tenant", "repair")
	if out != "resumed the provisioning of 1 tenant: acme\n" {
		t.Fatalf("repair printed %q", out)
	}
	status, step, _, lastError := e.catalogRow(t, "acme")
	if status != "active" || step != "done" || lastError.Valid {
		t.Fatalf("after repair: %s at %s (%v)", status, step, lastError)
	}
	if !e.userExists(t, user) {
		t.Fatal("repair did not recreate the DB user")
	}
	if out := e.silo(t, "tenant", "repair", "--check"); !strings.HasPrefix(out, "ok: ") {
		t.Fatalf("check after repair: %q", out)
	}
	if out := e.silo(t, "tenant", "repair", "--json"); out != "{\"resumed\":[],\"repairedAccounts\":[]}\n" {
		t.Fatalf("repair --json with nothing to do printed %q", out)
	}
	var kind string
	if err := e.root.QueryRow("SELECT actor_kind FROM `" + e.central + "`.audit_log WHERE action = 'tenant.provision' AND target = 'acme' ORDER BY id DESC LIMIT 1").Scan(&kind); err != nil || kind != "cli" {
		t.Fatalf("audit of the repair: %q %v", kind, err)
	}
}

// The catalog says step "grant" was completed, yet the DB
// user is gone. Repair should leave a working tenant (or refuse), not mark
// it active without a DB user.
func TestTenantRepairAfterRecordedStepWasUndone(t *testing.T) {
	t.Parallel()
	e := newTenantEnv(t)
	e.silo(t, "tenant", "create", "--slug", "acme", "--name", "Acme Inc")
	_, _, user, _ := e.catalogRow(t, "acme")
	e.setStep(t, "acme", "failed", "grant", "step migrated: simulated")
	e.dropUser(t, user)

	out, _, err := runCmd(t, e.env, "tenant", "repair")
	status, _, _, _ := e.catalogRow(t, "acme")
	if err == nil && status == "active" && !e.userExists(t, user) {
		t.Fatalf("repair printed %q and marked the tenant active, but its DB user %s does not exist", out, user)
	}
	if err != nil {
		// Refusing is acceptable; the tenant must then stay failed.
		if status != "failed" {
			t.Fatalf("repair failed (%v) but left the tenant %s", err, status)
		}
		return
	}
	if out != "resumed the provisioning of 1 tenant: acme\n" || status != "active" || !e.userExists(t, user) {
		t.Fatalf("repair: %q, status %s, user exists %v", out, status, e.userExists(t, user))
	}
	if out := e.silo(t, "tenant", "repair", "--check"); !strings.HasPrefix(out, "ok: ") {
		t.Fatalf("check after repair: %q", out)
	}
}

// "silo serve" resumes, at start, a tenant a dead process left in
// provisioning.
func TestServeResumesStuckTenant(t *testing.T) {
	t.Parallel()
	e := newTenantEnv(t)
	e.silo(t, "tenant", "create", "--slug", "acme", "--name", "Acme Inc")
	_, _, user, _ := e.catalogRow(t, "acme")
	// Died during step "user": the database exists, the DB user does not.
	e.setStep(t, "acme", "provisioning", "database", "")
	e.dropUser(t, user)
	if v := e.tenantJSON(t, "acme"); v["status"] != "provisioning" {
		t.Fatalf("stuck tenant shows %v", v["status"])
	}

	_, stop := startServe(t, e.env)
	deadline := time.Now().Add(10 * time.Second)
	for {
		v := e.tenantJSON(t, "acme")
		if v["status"] == "active" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not resume the tenant: %v", v)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	if !e.userExists(t, user) {
		t.Fatal("the resumed tenant has no DB user")
	}
	if out := e.silo(t, "tenant", "repair", "--check"); !strings.HasPrefix(out, "ok: ") {
		t.Fatalf("check after the resume: %q", out)
	}
	var kind string
	if err := e.root.QueryRow("SELECT actor_kind FROM `" + e.central + "`.audit_log WHERE action = 'tenant.provision' AND target = 'acme' ORDER BY id DESC LIMIT 1").Scan(&kind); err != nil || kind != "system" {
		t.Fatalf("audit of the resume: %q %v", kind, err)
	}
}

// Stuck in provisioning with step "user" recorded as
// completed, but the DB user gone.
func TestServeResumesStuckTenantAfterRecordedStepWasUndone(t *testing.T) {
	t.Parallel()
	e := newTenantEnv(t)
	e.silo(t, "tenant", "create", "--slug", "acme", "--name", "Acme Inc")
	_, _, user, _ := e.catalogRow(t, "acme")
	e.setStep(t, "acme", "provisioning", "user", "")
	e.dropUser(t, user)

	_, stop := startServe(t, e.env)
	deadline := time.Now().Add(10 * time.Second)
	var v map[string]any
	for {
		v = e.tenantJSON(t, "acme")
		if v["status"] != "provisioning" || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	if v["status"] == "failed" && strings.HasPrefix(fmt.Sprint(v["lastError"]), "step grant:") {
		t.Fatalf("the resume trusted step %q and failed at grant: %v", "user", v["lastError"])
	}
	if v["status"] != "active" || !e.userExists(t, user) {
		t.Fatalf("after serve: %v, DB user exists %v", v, e.userExists(t, user))
	}
}

func TestTenantUsageErrors(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	for _, args := range [][]string{
		{"tenant"},
		{"tenant", "frob"},
		{"tenant", "get"},
		{"tenant", "get", "a", "b"},
		{"tenant", "suspend"},
		{"tenant", "resume"},
		{"tenant", "delete"},
		{"tenant", "list", "extra"},
		{"tenant", "repair", "extra"},
		{"tenant", "create", "--bogus"},
		{"tenant", "list", "--purge"},
	} {
		_, _, err := runCmd(t, env, args...)
		if _, ok := err.(usageError); !ok {
			t.Errorf("silo %s: err = %v, want a usage error", strings.Join(args, " "), err)
		}
	}
	_, _, err := runCmd(t, env, "tenant")
	if err == nil || !strings.Contains(err.Error(), "silo tenant needs a command: usage: silo tenant create|delete|domains|get|invite|list|rename|repair|resume|suspend [flags]") {
		t.Fatalf("silo tenant: %v", err)
	}
}

// A usage mistake is reported as one even when the database is unreachable.
func TestTenantUsageErrorNeedsNoDatabase(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	env["SILO_CENTRAL_DSN"] = "root@tcp(127.0.0.1:1)/" + testdb.Name("central")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, args := range [][]string{{"tenant", "get"}, {"tenant", "frob"}} {
		t.Run(args[1], func(t *testing.T) {
			var out strings.Builder
			err := run(ctx, args, getenvFrom(env), strings.NewReader(""), &out, &out)
			if _, ok := err.(usageError); ok {
				return
			}
			if args[1] == "frob" && err != nil && strings.Contains(err.Error(), "migrate central database") {
				t.Fatalf("an unknown subcommand opened the database before it was rejected: %v", err)
			}
			t.Fatalf("silo %s: err = %v, want a usage error", strings.Join(args, " "), err)
		})
	}
}

// A provisioning that fails leaves the tenant failed, with its error shown;
// "tenant repair" finishes it once the cause is gone.
func TestTenantCreateFailureThenRepair(t *testing.T) {
	t.Parallel()
	e := newTenantEnv(t)
	db := e.prefix + "acme"
	// A database in the tenant's way whose roles table the migration cannot use.
	if _, err := e.root.Exec("CREATE DATABASE `" + db + "`"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.root.Exec("CREATE TABLE `" + db + "`.roles (x INT)"); err != nil {
		t.Fatal(err)
	}
	out, _, err := runCmd(t, e.env, "tenant", "create", "--slug", "acme", "--name", "Acme Inc")
	if err == nil || !strings.Contains(err.Error(), `Provisioning failed at step "migrated"`) || out != "" {
		t.Fatalf("create: err = %v, printed %q", err, out)
	}
	v := e.tenantJSON(t, "acme")
	lastError, _ := v["lastError"].(string)
	if v["status"] != "failed" || !strings.HasPrefix(lastError, "step migrated: ") {
		t.Fatalf("failed tenant: %v", v)
	}
	_, rows := tableRows(t, e.silo(t, "tenant", "list", "--status", "failed"))
	if len(rows) != 3 || rows[1] != "" {
		t.Fatalf("list --status failed: %q", rows)
	}
	if !strings.HasPrefix(rows[0], "acme  ") || !strings.Contains(rows[0], "  failed (see [1])  ") || !strings.Contains(rows[0], "  "+db+"  ") {
		t.Fatalf("failed tenant's row: %q", rows[0])
	}
	if !strings.HasPrefix(rows[2], "[1] acme: step migrated: ") {
		t.Fatalf("failed tenant's note: %q", rows[2])
	}

	// While the cause remains, repair reports the tenant and exits non-zero.
	out, _, err = runCmd(t, e.env, "tenant", "repair")
	if err == nil || out != "no provisioning needed resuming\n" || !strings.Contains(err.Error(), "acme: ") {
		t.Fatalf("repair that cannot succeed: err = %v, printed %q", err, out)
	}
	if status, _, _, _ := e.catalogRow(t, "acme"); status != "failed" {
		t.Fatalf("after a failed repair the tenant is %s", status)
	}

	if _, err := e.root.Exec("DROP TABLE `" + db + "`.roles"); err != nil {
		t.Fatal(err)
	}
	out, _, err = runCmd(t, e.env, "tenant", "repair", "--json")
	if err != nil || out != "{\"resumed\":[\"acme\"],\"repairedAccounts\":[]}\n" {
		t.Fatalf("repair --json: err = %v, printed %q", err, out)
	}
	if v := e.tenantJSON(t, "acme"); v["status"] != "active" || v["lastError"] != nil {
		t.Fatalf("after repair: %v", v)
	}
	if n := e.count(t, "SELECT COUNT(*) FROM `"+db+"`.roles WHERE name IN ('tenant_admin', 'member')"); n != 2 {
		t.Fatalf("the repaired database has %d built-in roles", n)
	}
	if out := e.silo(t, "tenant", "repair", "--check"); !strings.HasPrefix(out, "ok: ") {
		t.Fatalf("check after repair: %q", out)
	}
}

// An installation whose slug-named database was granted with the `_`
// wildcard (as before grants were escaped): "repair --check" reports the
// grant and fails, "repair" replaces it with the escaped one, and a second
// check is clean.
func TestTenantRepairFixesWildcardGrants(t *testing.T) {
	t.Parallel()
	e := newTenantEnv(t)
	e.silo(t, "tenant", "create", "--slug", "ab-cd", "--name", "A")
	e.silo(t, "tenant", "create", "--slug", "abycd", "--name", "B")
	_, _, user, _ := e.catalogRow(t, "ab-cd")
	db := e.prefix + "ab_cd"
	schemas := func() string { return strings.Join(testdb.GrantedSchemas(t, e.root, user), ",") }
	escaped := strings.ReplaceAll(db, "_", `\_`)
	if got := schemas(); got != escaped {
		t.Fatalf("a new tenant is granted on %q, want %q", got, escaped)
	}
	for _, q := range []string{"REVOKE ALL PRIVILEGES, GRANT OPTION FROM ?@'%'", "GRANT SELECT, INSERT, UPDATE, DELETE ON `" + db + "`.* TO ?@'%'"} {
		if _, err := e.root.Exec(q, user); err != nil {
			t.Fatal(err)
		}
	}

	out, _, err := runCmd(t, e.env, "tenant", "repair", "--check")
	if !errors.Is(err, errOrphans) || !strings.HasPrefix(out, "wrong grants: ab-cd: "+user+": ") || strings.Count(out, "\n") != 1 {
		t.Fatalf("check of a wildcard grant: err = %v, printed %q", err, out)
	}
	var report map[string][]string
	out, _, _ = runCmd(t, e.env, "tenant", "repair", "--check", "--json")
	if err := json.Unmarshal([]byte(out), &report); err != nil || len(report["wrongGrants"]) != 1 || len(report["brokenUsers"]) != 0 {
		t.Fatalf("check --json printed %q (%v)", out, err)
	}

	if out := e.silo(t, "tenant", "repair"); out != "no provisioning needed resuming\nrepaired 1 DB account (user, password and grants): ab-cd\n" {
		t.Fatalf("repair printed %q", out)
	}
	if got := schemas(); got != escaped {
		t.Fatalf("after repair the grants are on %q, want %q", got, escaped)
	}
	if out := e.silo(t, "tenant", "repair", "--check"); !strings.HasPrefix(out, "ok: ") {
		t.Fatalf("check after repair: %q", out)
	}
	if out := e.silo(t, "tenant", "repair", "--json"); out != "{\"resumed\":[],\"repairedAccounts\":[]}\n" {
		t.Fatalf("second repair printed %q", out)
	}
}
