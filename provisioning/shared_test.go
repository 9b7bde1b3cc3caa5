package provisioning_test

import (
	"context"
	"strings"
	"testing"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/provisioning"
	"github.com/silo-dev/silo/tenantdb"
)

// sharedPassword is the shared login's password in these tests (the app
// derives it from the master key).
const sharedPassword = "shared-login-test-password-0123456789"

func sharedMode(o *provisioning.Options) { o.SharedConns, o.SharedPassword = true, sharedPassword }

// withSharedLogin creates the shared login of e's prefix (as the app does
// at start in the shared mode) and returns its name and password.
func (e *env) withSharedLogin(t *testing.T) (string, string) {
	t.Helper()
	login, pw := tenantdb.SharedLoginName(e.prefix), sharedPassword
	if err := e.server.EnsureSharedLogin(bg, login, pw); err != nil {
		t.Fatal(err)
	}
	return login, pw
}

// roleOK fails unless tn's role holds exactly the tenant privileges on its
// database and is granted to the shared login (want true), or is not
// granted (want false).
func (e *env) roleGranted(t *testing.T, tn *central.Tenant, login string, want bool) string {
	t.Helper()
	role, err := tenantdb.RoleFor(tn.DBUser)
	if err != nil {
		t.Fatal(err)
	}
	granted, err := e.server.SharedRoles(bg, login)
	if err != nil {
		t.Fatal(err)
	}
	if granted[role] != want {
		t.Fatalf("role %s granted to %s: %v, want %v (granted: %v)", role, login, granted[role], want, granted)
	}
	return role
}

func (e *env) roleExact(t *testing.T, role, database string) {
	t.Helper()
	problems, err := e.server.RoleProblems(bg, role, database)
	if err != nil || len(problems) > 0 {
		t.Fatalf("role %s: %v %v", role, problems, err)
	}
}

// sharedLease reads through the shared mode as tn: its role and database.
func sharedLease(t *testing.T, e *env, login, pw string, tn *central.Tenant) error {
	t.Helper()
	shared, err := tenantdb.NewSharedConns(e.server.SharedLoginConfig(login, pw), tenantdb.SharedOptions{MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer shared.Close()
	role, _ := tenantdb.RoleFor(tn.DBUser)
	l, err := shared.Lease(role, tn.DatabaseName)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	var n int
	return l.DB.GetContext(context.Background(), &n, "SELECT COUNT(*) FROM users")
}

// In the shared mode, provisioning gives each tenant its role (exactly the
// tenant privileges on its own database, granted to the shared login),
// the check is clean (the login and roles are not orphans), deleting the
// tenant revokes the role and purging drops it.
func TestSharedModeProvisionsRole(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sharedMode)
	login, pw := e.withSharedLogin(t)
	a, b := e.wildcardPair(t)
	roleA := e.roleGranted(t, a, login, true)
	e.roleExact(t, roleA, a.DatabaseName)
	e.roleExact(t, e.roleGranted(t, b, login, true), b.DatabaseName)
	if err := sharedLease(t, e, login, pw, a); err != nil {
		t.Fatalf("shared lease as %s: %v", a.Slug, err)
	}
	e.requireClean()

	if err := e.prov.Delete(bg, a.Slug, false); err != nil {
		t.Fatal(err)
	}
	e.roleGranted(t, a, login, false)
	if err := sharedLease(t, e, login, pw, a); !apperr.Is(err, "TENANT_UNAVAILABLE") {
		t.Fatalf("shared lease of a deleted tenant: %v, want TENANT_UNAVAILABLE", err)
	}
	e.requireClean()
	if err := e.prov.Delete(bg, a.Slug, true); err != nil {
		t.Fatal(err)
	}
	if n := e.count("SELECT COUNT(*) FROM mysql.user WHERE User = ?", roleA); n != 0 {
		t.Fatalf("role %s left after purge", roleA)
	}
	e.requireClean()
}

// Switching an installation to the shared mode: its existing tenants have
// no role; the check reports each, `silo tenant repair` (RepairAccounts)
// creates and grants them, and a second repair finds nothing to do.
func TestRepairCreatesRolesForExistingTenants(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, b := e.wildcardPair(t)
	shared := e.provisionerOn(e.catalog, e.server, nil, sharedMode)
	login, pw := e.withSharedLogin(t)
	r, err := shared.Check(bg)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.WrongRoles) != 2 || !strings.Contains(strings.Join(r.WrongRoles, "\n"), "not granted to "+login) || r.Clean() {
		t.Fatalf("check before repair: %+v, want both tenants' roles reported", r)
	}
	if err := sharedLease(t, e, login, pw, a); !apperr.Is(err, "TENANT_UNAVAILABLE") {
		t.Fatalf("shared lease without a role: %v, want TENANT_UNAVAILABLE", err)
	}
	done, err := shared.RepairAccounts(bg)
	if err != nil || len(done) != 2 {
		t.Fatalf("repair: %v %v, want both tenants", done, err)
	}
	e.roleExact(t, e.roleGranted(t, a, login, true), a.DatabaseName)
	e.roleExact(t, e.roleGranted(t, b, login, true), b.DatabaseName)
	if err := sharedLease(t, e, login, pw, b); err != nil {
		t.Fatalf("shared lease after repair: %v", err)
	}
	if r, err := shared.Check(bg); err != nil || !r.Clean() {
		t.Fatalf("check after repair: %+v %v", r, err)
	}
	if done, err := shared.RepairAccounts(bg); err != nil || len(done) != 0 {
		t.Fatalf("second repair: %v %v, want nothing", done, err)
	}
}

// A role given more by hand (another tenant's database) is reported and
// repair takes it back to exactly its own database.
func TestRepairFixesRolePrivileges(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sharedMode)
	login, _ := e.withSharedLogin(t)
	a, b := e.wildcardPair(t)
	roleA := e.roleGranted(t, a, login, true)
	if _, err := e.central.Exec("GRANT SELECT ON " + tenantdb.GrantTarget(b.DatabaseName) + " TO `" + roleA + "`"); err != nil {
		t.Fatal(err)
	}
	r, err := e.prov.Check(bg)
	if err != nil || len(r.WrongRoles) != 1 || !strings.Contains(r.WrongRoles[0], "SELECT on "+strings.ReplaceAll(b.DatabaseName, "_", `\_`)) {
		t.Fatalf("check: %+v %v, want a's role's extra grant", r, err)
	}
	if done, err := e.prov.RepairAccounts(bg); err != nil || len(done) != 1 || done[0] != a.Slug {
		t.Fatalf("repair: %v %v", done, err)
	}
	e.roleExact(t, roleA, a.DatabaseName)
	e.roleGranted(t, a, login, true)
	e.requireClean()
}
