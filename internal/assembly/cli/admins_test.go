package cli

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/silo-dev/silo/central"
)

// createAdmin runs create-central-admin from the environment.
func (e *tenantEnv) createAdmin(t *testing.T, email, role string) {
	t.Helper()
	env := e.with("EMAIL", email, "PASSWORD", "correct horse battery", "FIRST_NAME", "F", "LAST_NAME", "L", "ROLE", role)
	if _, _, err := runCmd(t, env, "create-central-admin"); err != nil {
		t.Fatalf("create-central-admin %s: %v", email, err)
	}
}

// adminRow reads an admin's role and active flag as root.
func (e *tenantEnv) adminRow(t *testing.T, email string) (role string, active bool) {
	t.Helper()
	err := e.root.QueryRow("SELECT role, is_active FROM `"+e.central+"`.users WHERE email = ?", email).Scan(&role, &active)
	if err != nil {
		t.Fatalf("admin %s: %v", email, err)
	}
	return role, active
}

// auditOf lists the central audit log's entries of the given actions as
// "action target actor_kind/actor_id outcome".
func (e *tenantEnv) auditOf(t *testing.T, actions ...string) []string {
	t.Helper()
	rows, err := e.root.Query("SELECT action, target, actor_kind, COALESCE(actor_id, ''), outcome FROM `" + e.central + "`.audit_log ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var action, target, kind, id, outcome string
		if err := rows.Scan(&action, &target, &kind, &id, &outcome); err != nil {
			t.Fatal(err)
		}
		if slices.Contains(actions, action) {
			out = append(out, action+" "+target+" "+kind+"/"+id+" "+outcome)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAdminCommands(t *testing.T) {
	t.Parallel()
	e := newTenantEnv(t)
	// Read-only: a missing central database is reported, not created.
	if _, _, err := runCmd(t, e.env, "admin", "list"); !errors.Is(err, central.ErrNoDatabase) || e.databaseExists(t, e.central) {
		t.Fatalf("admin list on a missing database: %v", err)
	}
	e.createAdmin(t, "ada@example.com", "superadmin")
	e.createAdmin(t, "bob@example.com", "admin")

	header, rows := tableRows(t, e.silo(t, "admin", "list"))
	if !slices.Equal(header, []string{"EMAIL", "NAME", "ROLE", "ACTIVE", "CREATED", "ID"}) || len(rows) != 2 ||
		!strings.HasPrefix(rows[0], "ada@example.com  F L   superadmin  true ") || !strings.HasPrefix(rows[1], "bob@example.com  F L   admin       true ") {
		t.Fatalf("admin list:\n%s\n%s", strings.Join(header, " "), strings.Join(rows, "\n"))
	}
	out := e.silo(t, "admin", "list", "--json")
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 2 || list[0]["email"] != "ada@example.com" || list[1]["role"] != "admin" {
		t.Fatalf("admin list --json: %v\n%s", err, out)
	}
	noPasswordField(t, list)
	if strings.Contains(out, "password") || strings.Contains(out, "$2a$") {
		t.Fatalf("admin list --json shows a password hash:\n%s", out)
	}

	// Set: role, names and active flag, by email in any case.
	v := decodeObject(t, e.silo(t, "admin", "set", "BOB@Example.com", "--role", "superadmin", "--first-name", "Bob", "--json"))
	if v["email"] != "bob@example.com" || v["role"] != "superadmin" || v["firstName"] != "Bob" || v["isActive"] != true {
		t.Fatalf("admin set: %v", v)
	}
	e.silo(t, "admin", "set", "ada@example.com", "--active=false")
	if role, active := e.adminRow(t, "ada@example.com"); role != "superadmin" || active {
		t.Fatalf("ada after --active=false: %s %v", role, active)
	}

	// The last active superadmin stays: neither demoted, deactivated nor removed.
	unchanged := func(what string) {
		t.Helper()
		if role, active := e.adminRow(t, "bob@example.com"); role != "superadmin" || !active {
			t.Fatalf("%s changed bob: %s %v", what, role, active)
		}
	}
	last := "The last active superadmin cannot be removed, demoted or deactivated"
	for _, args := range [][]string{
		{"admin", "set", "bob@example.com", "--role", "admin"},
		{"admin", "set", "bob@example.com", "--active=false"},
		{"admin", "remove", "bob@example.com", "--yes"},
	} {
		if _, _, err := runCmd(t, e.env, args...); err == nil || err.Error() != last {
			t.Fatalf("silo %s: %v", strings.Join(args, " "), err)
		}
		unchanged(strings.Join(args, " "))
	}
	for args, want := range map[string]string{
		"admin set nobody@example.com --role admin": "Central admin not found",
		"admin set not-an-email --role admin":       "Central admin not found",
		"admin set bob@example.com --role root":     "--role must be admin or superadmin",
		"admin set bob@example.com --last-name \t":  "--last-name is required",
		"admin remove nobody@example.com --yes":     "Central admin not found",
	} {
		if _, _, err := runCmd(t, e.env, strings.Split(args, " ")...); err == nil || err.Error() != want {
			t.Errorf("silo %s: %v, want %q", args, err, want)
		}
	}
	unchanged("the refused commands")

	// Remove asks on a terminal and refuses without one unless --yes.
	e.silo(t, "admin", "set", "ada@example.com", "--active")
	if _, _, err := runCmd(t, e.env, "admin", "remove", "bob@example.com"); !errors.Is(err, errNoConfirmation) {
		t.Fatalf("remove without a terminal: %v", err)
	}
	if _, prompt, err := runTerminal(t, e.env, "ada@example.com\n", "admin", "remove", "bob@example.com"); err == nil ||
		!strings.Contains(err.Error(), "not confirmed") || !strings.Contains(prompt, "Type bob@example.com to confirm") {
		t.Fatalf("remove with the wrong answer: %v %q", err, prompt)
	}
	unchanged("the unconfirmed removals")
	if out, _, err := runTerminal(t, e.env, "bob@example.com\n", "admin", "remove", "bob@example.com"); err != nil || out != "central admin bob@example.com removed\n" {
		t.Fatalf("remove: %v %q", err, out)
	}
	if n := e.count(t, "SELECT COUNT(*) FROM `"+e.central+"`.users WHERE email = 'bob@example.com'"); n != 0 {
		t.Fatal("bob was not removed")
	}

	got := e.auditOf(t, "admin.update", "admin.delete")
	if len(got) != 4 {
		t.Fatalf("audit log:\n%s", strings.Join(got, "\n"))
	}
	for _, entry := range got {
		if !strings.HasSuffix(entry, " cli/operator success") {
			t.Fatalf("audit entry %q is not the operator's", entry)
		}
	}
	if !strings.HasPrefix(got[3], "admin.delete ") {
		t.Fatalf("audit log:\n%s", strings.Join(got, "\n"))
	}
}
