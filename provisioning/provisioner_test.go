package provisioning_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/provisioning"
)

var bg = context.Background()

func TestCreateIsolatesTenants(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, err := e.prov.Create(bg, provisioning.NewTenant{
		Slug: "acme", Name: " Acme Inc ", Domains: []string{"Acme.Example.COM."},
		Admin: &provisioning.NewAdmin{Email: "Boss@Acme.com", Password: "correct horse battery", FirstName: "B", LastName: "O"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != central.StatusActive || a.Name != "Acme Inc" || a.DatabaseName != e.prefix+"acme" ||
		len(a.Domains) != 1 || a.Domains[0] != "acme.example.com" || a.SchemaVersion < 1 || a.PendingAdmin.Valid {
		t.Fatalf("tenant = %+v", a)
	}
	if len(a.DBUser) > 32 || !strings.HasPrefix(a.DBUser, e.prefix) {
		t.Fatalf("DB user %q", a.DBUser)
	}
	b, err := e.prov.Create(bg, provisioning.NewTenant{Slug: "bolt-co", Name: "Bolt"})
	if err != nil {
		t.Fatal(err)
	}
	if b.DatabaseName != e.prefix+"bolt_co" {
		t.Fatalf("database %q", b.DatabaseName)
	}

	own, err := e.tenantConn(a, a.DatabaseName)
	if err != nil {
		t.Fatalf("tenant user cannot connect to its own database: %v", err)
	}
	defer own.Close()
	t.Run("ReadsAndWritesOwnDatabase", func(t *testing.T) {
		var email, role string
		if err := own.QueryRow("SELECT u.email, r.role_name FROM users u JOIN user_roles r ON r.user_id = u.id").Scan(&email, &role); err != nil {
			t.Fatal(err)
		}
		if email != "boss@acme.com" || role != "tenant_admin" {
			t.Fatalf("first admin = %s %s", email, role)
		}
		if _, err := own.Exec("UPDATE users SET first_name = 'Boss'"); err != nil {
			t.Fatal(err)
		}
		if _, err := own.Exec("DELETE FROM user_roles WHERE role_name = 'nobody'"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("NoSchemaChanges", func(t *testing.T) {
		if _, err := own.Exec("CREATE TABLE evil (id INT)"); !isMySQLError(err, 1142) {
			t.Fatalf("CREATE TABLE as tenant user: %v, want error 1142", err)
		}
		if _, err := own.Exec("DROP TABLE users"); !isMySQLError(err, 1142) {
			t.Fatalf("DROP TABLE as tenant user: %v, want error 1142", err)
		}
	})
	t.Run("RefusedOnOtherTenant", func(t *testing.T) {
		if _, err := e.tenantConn(a, b.DatabaseName); !isMySQLError(err, 1044) {
			t.Fatalf("connect to another tenant's database: %v, want error 1044", err)
		}
		if _, err := own.Exec("SELECT COUNT(*) FROM `" + b.DatabaseName + "`.users"); !isMySQLError(err, 1142) {
			t.Fatalf("cross-database read: %v, want error 1142", err)
		}
	})
	t.Run("RefusedOnCentral", func(t *testing.T) {
		if _, err := e.tenantConn(a, e.centralDB); !isMySQLError(err, 1044) {
			t.Fatalf("connect to the central database: %v, want error 1044", err)
		}
		if _, err := own.Exec("SELECT COUNT(*) FROM `" + e.centralDB + "`.users"); !isMySQLError(err, 1142) {
			t.Fatalf("read central users: %v, want error 1142", err)
		}
		if _, err := own.Exec("SELECT COUNT(*) FROM mysql.user"); !isMySQLError(err, 1142) {
			t.Fatalf("read mysql.user: %v, want error 1142", err)
		}
	})
	t.Run("PasswordEncryptedAtRest", func(t *testing.T) {
		pw, _ := e.box.Open(a.DBPasswordEnc, []byte(a.DBUser))
		if e.count("SELECT COUNT(*) FROM tenants WHERE INSTR(db_password_enc, ?) > 0", pw) != 0 {
			t.Fatal("the DB password is stored in clear")
		}
	})
	e.requireClean()
}

func TestCreateSameSlugConcurrently(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.prov.Create(bg, provisioning.NewTenant{Slug: "race", Name: fmt.Sprint("Race ", i)})
		}()
	}
	wg.Wait()
	ok, exists := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case apperr.Is(err, "TENANT_EXISTS"):
			exists++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 || exists != 19 {
		t.Fatalf("%d created, %d TENANT_EXISTS; want 1 and 19", ok, exists)
	}
	if n := e.count("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE ?", strings.ReplaceAll(e.prefix, "_", `\_`)+"%"); n != 1 {
		t.Fatalf("%d databases, want 1", n)
	}
	e.requireClean()
}

func TestFailureAtEachStepThenResume(t *testing.T) {
	t.Parallel()
	for _, step := range []string{"database", "user", "grant", "migrated", "admin"} {
		t.Run(step, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.prov.Hook = func(s string) error {
				if s == step {
					return errors.New("injected fault")
				}
				return nil
			}
			in := provisioning.NewTenant{Slug: "faulty", Name: "F", Admin: &provisioning.NewAdmin{
				Email: "a@faulty.io", Password: "correct horse battery", FirstName: "A", LastName: "B"}}
			_, err := e.prov.Create(bg, in)
			if !apperr.Is(err, "PROVISIONING_FAILED") {
				t.Fatalf("Create: %v", err)
			}
			ft, _ := e.catalog.Tenant(bg, "faulty")
			if ft.Status != central.StatusFailed || !strings.Contains(ft.LastError.String, "step "+step+": injected fault") {
				t.Fatalf("after failure: status %s, lastError %q", ft.Status, ft.LastError.String)
			}
			pw, _ := e.box.Open(ft.DBPasswordEnc, []byte(ft.DBUser))
			if strings.Contains(ft.LastError.String, string(pw)) {
				t.Fatal("lastError holds the DB password")
			}
			// A retry of Create is refused; Provision resumes from the failed step.
			if _, err := e.prov.Create(bg, in); !apperr.Is(err, "TENANT_EXISTS") {
				t.Fatalf("second Create: %v", err)
			}
			e.prov.Hook = nil
			got, err := e.prov.Provision(bg, "faulty")
			if err != nil {
				t.Fatalf("Provision: %v", err)
			}
			if got.Status != central.StatusActive || got.LastError.Valid {
				t.Fatalf("after Provision: %+v", got)
			}
			conn, err := e.tenantConn(got, got.DatabaseName)
			if err != nil {
				t.Fatal(err)
			}
			var admins int
			_ = conn.Get(&admins, "SELECT COUNT(*) FROM user_roles WHERE role_name = 'tenant_admin'")
			conn.Close()
			if admins != 1 {
				t.Fatalf("%d tenant admins after resume, want 1", admins)
			}
			e.requireClean()
			// Provision again changes nothing.
			if again, err := e.prov.Provision(bg, "faulty"); err != nil || again.Status != central.StatusActive {
				t.Fatalf("idempotent Provision: %v %v", again, err)
			}
		})
		t.Run(step+"ThenPurge", func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.prov.Hook = func(s string) error {
				if s == step {
					return errors.New("injected fault")
				}
				return nil
			}
			_, err := e.prov.Create(bg, provisioning.NewTenant{Slug: "doomed", Name: "D"})
			if !apperr.Is(err, "PROVISIONING_FAILED") {
				t.Fatalf("Create: %v", err)
			}
			ft, _ := e.catalog.Tenant(bg, "doomed")
			if err := e.prov.Delete(bg, "doomed", true); err != nil {
				t.Fatalf("purge: %v", err)
			}
			if e.databaseExists(ft.DatabaseName) || e.userExists(ft.DBUser) {
				t.Fatal("purge left the database or the DB user behind")
			}
			if _, err := e.catalog.Tenant(bg, "doomed"); !errors.Is(err, central.ErrTenantNotFound) {
				t.Fatalf("tenant still in the catalog: %v", err)
			}
			e.requireClean()
		})
	}
}

func TestBadInputCreatesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	slugs := []string{"", "Acme", "ab", strings.Repeat("a", 41), "admin", "central", "www", "api", "mysql",
		"test", "sys", "a;DROP DATABASE x", "acme`", "`acme`", "açme", "acme-", "-acme", "1acme", "ac me",
		"ac_me", "acme\n", "information_schema"}
	for _, slug := range slugs {
		_, err := e.prov.Create(bg, provisioning.NewTenant{Slug: slug, Name: "x"})
		if !apperr.Is(err, "VALIDATION_FAILED") {
			t.Errorf("slug %q: %v, want VALIDATION_FAILED", slug, err)
		}
	}
	others := map[string]provisioning.NewTenant{
		"NoName":         {Slug: "okay", Name: " "},
		"LongName":       {Slug: "okay", Name: strings.Repeat("n", 201)},
		"BadDomain":      {Slug: "okay", Name: "x", Domains: []string{"not a domain"}},
		"IPDomain":       {Slug: "okay", Name: "x", Domains: []string{"10.0.0.1"}},
		"BaseDomain":     {Slug: "okay", Name: "x", Domains: []string{"other.silo.test"}},
		"DuplicateInput": {Slug: "okay", Name: "x", Domains: []string{"a.io", "A.io"}},
		"BadAdmin":       {Slug: "okay", Name: "x", Admin: &provisioning.NewAdmin{Email: "nope", Password: "short"}},
	}
	for name, in := range others {
		if _, err := e.prov.Create(bg, in); !apperr.Is(err, "VALIDATION_FAILED") {
			t.Errorf("%s: %v, want VALIDATION_FAILED", name, err)
		}
	}
	if n := e.count("SELECT COUNT(*) FROM tenants"); n != 0 {
		t.Fatalf("%d tenants created by bad input", n)
	}
	if n := e.count("SELECT COUNT(*) FROM audit_log WHERE action <> 'server.add'"); n != 0 {
		t.Fatalf("%d audit entries written for bad input", n)
	}
	e.requireClean()
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ten, err := e.prov.Create(bg, provisioning.NewTenant{Slug: "life", Name: "Life", Domains: []string{"life.io"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.prov.Resume(bg, "life"); !apperr.Is(err, "CONFLICT") {
		t.Fatalf("resume active: %v", err)
	}
	s, err := e.prov.Suspend(bg, "life")
	if err != nil || s.Status != central.StatusSuspended {
		t.Fatalf("suspend: %v %v", s, err)
	}
	if _, err := e.prov.Suspend(bg, "life"); !apperr.Is(err, "CONFLICT") {
		t.Fatalf("suspend twice: %v", err)
	}
	if r, err := e.prov.Resume(bg, "life"); err != nil || r.Status != central.StatusActive {
		t.Fatalf("resume: %v %v", r, err)
	}
	name := "Life 2"
	domains := []string{"life2.io", "www.life2.io"}
	u, err := e.prov.Update(bg, "life", &name, &domains)
	if err != nil || u.Name != "Life 2" || strings.Join(u.Domains, ",") != "life2.io,www.life2.io" {
		t.Fatalf("update: %+v %v", u, err)
	}
	other, _ := e.prov.Create(bg, provisioning.NewTenant{Slug: "other", Name: "O"})
	if _, err := e.prov.Update(bg, "other", nil, &[]string{"life2.io"}); !apperr.Is(err, "CONFLICT") {
		t.Fatalf("taking another tenant's domain: %v", err)
	}
	if o, _ := e.prov.Get(bg, "other"); len(o.Domains) != 0 || other == nil {
		t.Fatalf("failed domain update changed the tenant: %+v", o)
	}
	if _, err := e.prov.Get(bg, "nope"); !apperr.Is(err, "TENANT_NOT_FOUND") {
		t.Fatalf("get unknown: %v", err)
	}

	// Delete keeps the database and locks the DB user.
	if err := e.prov.Delete(bg, "life", false); err != nil {
		t.Fatal(err)
	}
	d, _ := e.prov.Get(bg, "life")
	if d.Status != central.StatusDeleted || !e.databaseExists(ten.DatabaseName) {
		t.Fatalf("after delete: %s, database exists %v", d.Status, e.databaseExists(ten.DatabaseName))
	}
	if _, err := e.tenantConn(ten, ten.DatabaseName); err == nil {
		t.Fatal("a deleted tenant's DB user can still log in")
	}
	if _, err := e.prov.Resume(bg, "life"); !apperr.Is(err, "CONFLICT") {
		t.Fatalf("resume deleted: %v", err)
	}
	if _, err := e.prov.Create(bg, provisioning.NewTenant{Slug: "life", Name: "again"}); !apperr.Is(err, "TENANT_EXISTS") {
		t.Fatalf("re-create deleted slug: %v", err)
	}
	e.requireClean()
	// Purge drops everything and frees the slug.
	if err := e.prov.Delete(bg, "life", true); err != nil {
		t.Fatal(err)
	}
	if e.databaseExists(ten.DatabaseName) || e.userExists(ten.DBUser) {
		t.Fatal("purge left objects behind")
	}
	if _, err := e.prov.Create(bg, provisioning.NewTenant{Slug: "life", Name: "again"}); err != nil {
		t.Fatalf("re-create purged slug: %v", err)
	}
	e.requireClean()

	actions := map[string]int{}
	rows, _ := e.central.Query("SELECT action FROM audit_log WHERE outcome = 'success'")
	for rows.Next() {
		var a string
		_ = rows.Scan(&a)
		actions[a]++
	}
	rows.Close()
	want := map[string]int{"tenant.create": 3, "tenant.provision": 3, "tenant.suspend": 1, "tenant.resume": 1,
		"tenant.update": 1, "tenant.delete": 1, "tenant.purge": 1}
	for a, n := range want {
		if actions[a] != n {
			t.Errorf("audit %s: %d entries, want %d (all: %v)", a, actions[a], n, actions)
		}
	}
}

func TestLockedTenantIsBusy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.prov.Create(bg, provisioning.NewTenant{Slug: "busy", Name: "B"}); err != nil {
		t.Fatal(err)
	}
	// Another instance holds the tenant's lock.
	release, ok, err := e.catalog.TryLock(bg, "tenant:busy")
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if _, err := e.prov.Provision(bg, "busy"); !errors.Is(err, provisioning.ErrBusy) {
		t.Fatalf("Provision while locked: %v", err)
	}
	if err := e.prov.Delete(bg, "busy", true); !errors.Is(err, provisioning.ErrBusy) {
		t.Fatalf("purge while locked: %v", err)
	}
	if _, err := e.prov.Create(bg, provisioning.NewTenant{Slug: "busy", Name: "B"}); !apperr.Is(err, "TENANT_EXISTS") {
		t.Fatalf("create while locked: %v", err)
	}
	release()
	if _, err := e.prov.Provision(bg, "busy"); err != nil {
		t.Fatal(err)
	}
}

func TestResumeStuck(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// A process died right after recording the tenant: status provisioning,
	// nothing created on the server, lock free.
	e.prov.Hook = func(step string) error {
		if step == "grant" {
			panic("process dies")
		}
		return nil
	}
	func() {
		defer func() { _ = recover() }()
		_, _ = e.prov.Create(bg, provisioning.NewTenant{Slug: "stuck", Name: "S"})
	}()
	e.prov.Hook = nil
	st, _ := e.catalog.Tenant(bg, "stuck")
	if st.Status != central.StatusProvisioning || st.Step != "user" {
		t.Fatalf("simulated crash left %s at step %s", st.Status, st.Step)
	}
	resumed, err := e.prov.ResumeStuck(bg)
	if err != nil || len(resumed) != 1 || resumed[0] != "stuck" {
		t.Fatalf("ResumeStuck = %v, %v", resumed, err)
	}
	if st, _ := e.catalog.Tenant(bg, "stuck"); st.Status != central.StatusActive {
		t.Fatalf("after resume: %s", st.Status)
	}
	e.requireClean()
}

func TestCheckFindsOrphans(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.prov.Create(bg, provisioning.NewTenant{Slug: "fine", Name: "F"}); err != nil {
		t.Fatal(err)
	}
	e.requireClean()
	orphanDB, orphanUser := e.prefix+"leftover", e.prefix+"ustray"
	if err := e.server.CreateDatabase(bg, orphanDB); err != nil {
		t.Fatal(err)
	}
	if err := e.server.CreateUser(bg, orphanUser, "x-password-x"); err != nil {
		t.Fatal(err)
	}
	fine, _ := e.catalog.Tenant(bg, "fine")
	if err := e.server.DropDatabase(bg, fine.DatabaseName); err != nil {
		t.Fatal(err)
	}
	r, err := e.prov.Check(bg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(r.OrphanDatabases, ",") != orphanDB || strings.Join(r.OrphanUsers, ",") != orphanUser ||
		len(r.MissingDatabases) != 1 || !strings.HasPrefix(r.MissingDatabases[0], "fine: ") {
		t.Fatalf("report = %+v", r)
	}
	_ = e.server.DropDatabase(bg, orphanDB)
	_ = e.server.DropUser(bg, orphanUser)
	_ = e.prov.Delete(bg, "fine", true)
	e.requireClean()
}
