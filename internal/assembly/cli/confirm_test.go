package cli

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/silo-dev/silo/internal/assembly/app"
)

// runTerminal runs one silo command as if typed on a terminal, where the
// operator then types input.
func runTerminal(t *testing.T, env map[string]string, input string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	con := console{in: strings.NewReader(input), terminal: true}
	err = runConsole(context.Background(), app.Extensions{}, args, getenvFrom(env), con, &out, &errOut)
	return out.String(), errOut.String(), err
}

// "tenant delete --purge" drops a database: it asks for the slug on a
// terminal, and without one refuses unless --yes.
func TestPurgeAsksForConfirmation(t *testing.T) {
	t.Parallel()
	e := newTenantEnv(t)
	e.silo(t, "tenant", "create", "--slug", "acme", "--name", "Acme")
	e.silo(t, "tenant", "create", "--slug", "beta", "--name", "Beta")
	acmeDB, betaDB := e.tenantDB("acme"), e.tenantDB("beta")
	stillThere := func(what string) {
		t.Helper()
		if v := e.tenantJSON(t, "acme"); v["status"] != "active" || !e.databaseExists(t, acmeDB) {
			t.Fatalf("%s: the tenant changed: %v", what, v)
		}
	}

	_, _, err := runCmd(t, e.env, "tenant", "delete", "acme", "--purge")
	if !errors.Is(err, errNoConfirmation) || !strings.Contains(err.Error(), "--yes") {
		t.Fatalf("no terminal, no --yes: err = %v", err)
	}
	stillThere("no terminal")

	for _, answer := range []string{"acm\n", "yes\n", "ACME\n", "", "beta\n"} {
		_, prompt, err := runTerminal(t, e.env, answer, "tenant", "delete", "acme", "--purge")
		if err == nil || !strings.Contains(err.Error(), "not confirmed") {
			t.Fatalf("answer %q: err = %v", answer, err)
		}
		if !strings.Contains(prompt, "Type acme to confirm") {
			t.Fatalf("answer %q: prompt %q", answer, prompt)
		}
		stillThere("answer " + answer)
	}

	out, _, err := runTerminal(t, e.env, "acme\n", "tenant", "delete", "acme", "--purge")
	if err != nil || !strings.Contains(out, "tenant acme purged") || e.databaseExists(t, acmeDB) {
		t.Fatalf("right answer: %v %q", err, out)
	}

	// --yes runs without a terminal, and a plain delete (the database kept) never asks.
	e.silo(t, "tenant", "delete", "beta")
	out = e.silo(t, "tenant", "delete", "beta", "--purge", "--yes")
	if !strings.Contains(out, "tenant beta purged") || e.databaseExists(t, betaDB) {
		t.Fatalf("--yes: %q", out)
	}
}

// "migrate tenants down" asks for "yes" on a terminal, and without one
// refuses unless --yes; --dry-run changes nothing and never asks.
func TestMigrateTenantsDownAsksForConfirmation(t *testing.T) {
	t.Parallel()
	e := newTenantEnv(t)
	e.silo(t, "tenant", "create", "--slug", "acme", "--name", "Acme")
	latest, _ := e.schemaVersion(t, "acme")
	if latest < 2 {
		t.Fatalf("schema version %d: the test needs one to roll back", latest)
	}
	down := []string{"migrate", "tenants", "down", "--tenant", "acme", "--to", "1"}
	unchanged := func(what string) {
		t.Helper()
		if v, _ := e.schemaVersion(t, "acme"); v != latest || !e.tableExists(t, "acme", "records") {
			t.Fatalf("%s: the tenant was rolled back to %d", what, v)
		}
	}

	if _, _, err := runCmd(t, e.env, down...); !errors.Is(err, errNoConfirmation) {
		t.Fatalf("no terminal, no --yes: err = %v", err)
	}
	unchanged("no terminal")
	if _, _, err := runCmd(t, e.env, append(down, "--dry-run")...); err != nil {
		t.Fatalf("--dry-run: %v", err)
	}
	unchanged("--dry-run")
	for _, answer := range []string{"no\n", "y\n", "acme\n", ""} {
		_, prompt, err := runTerminal(t, e.env, answer, down...)
		if err == nil || !strings.Contains(err.Error(), "not confirmed") || !strings.Contains(prompt, "Type yes to confirm") {
			t.Fatalf("answer %q: err = %v, prompt %q", answer, err, prompt)
		}
		unchanged("answer " + answer)
	}

	if _, _, err := runTerminal(t, e.env, "yes\n", down...); err != nil {
		t.Fatalf("right answer: %v", err)
	}
	if v, _ := e.schemaVersion(t, "acme"); v != 1 {
		t.Fatalf("after a confirmed down: version %d, want 1", v)
	}
	e.silo(t, "migrate", "tenants", "up")
	e.silo(t, append(down, "--yes")...)
	if v, _ := e.schemaVersion(t, "acme"); v != 1 {
		t.Fatalf("after down --yes: version %d, want 1", v)
	}
}
