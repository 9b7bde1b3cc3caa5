package provisioning_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/provisioning"
	"github.com/silo-dev/silo/tenantdb"
)

// centralLike names the central database so that an unescaped grant of
// tenant "ab-cd" (database PREFIXab_cd, `_` a wildcard) would match it.
func centralLike(o *provisioning.Options) { o.CentralDatabase = o.Prefix + "abzcd" }

// refused fails unless connecting as t's DB user to database is refused
// with error 1044.
func (e *env) refused(t *testing.T, tn *central.Tenant, database string) {
	t.Helper()
	db, err := e.tenantConn(tn, database)
	if err == nil {
		db.Close()
		t.Fatalf("%s's DB user connects to %s", tn.Slug, database)
	}
	if !isMySQLError(err, 1044) {
		t.Fatalf("%s's DB user on %s: %v, want error 1044", tn.Slug, database, err)
	}
}

func (e *env) connects(t *testing.T, tn *central.Tenant) {
	t.Helper()
	db, err := e.tenantConn(tn, tn.DatabaseName)
	if err != nil {
		t.Fatalf("%s's DB user cannot connect to its own database: %v", tn.Slug, err)
	}
	db.Close()
}

// wildcardPair creates tenants ab-cd and abycd, whose database names differ
// only where the first has `_`, a wildcard in unescaped grants.
func (e *env) wildcardPair(t *testing.T) (a, b *central.Tenant) {
	t.Helper()
	a, err := e.prov.Create(bg, provisioning.NewTenant{Slug: "ab-cd", Name: "A"})
	if err != nil {
		t.Fatal(err)
	}
	if b, err = e.prov.Create(bg, provisioning.NewTenant{Slug: "abycd", Name: "B"}); err != nil {
		t.Fatal(err)
	}
	return a, b
}

// Tenants whose database names differ only where an escaped `_` stands
// (spare pool off, so databases are named after slugs): each DB user is
// refused on the other's database and on the central database, whose name
// the wildcard would also match. The check never calls the central
// database an orphan although it starts with the prefix.
func TestGrantsEscapeWildcards(t *testing.T) {
	t.Parallel()
	e := newEnv(t, centralLike)
	a, b := e.wildcardPair(t)
	if a.DatabaseName != e.prefix+"ab_cd" || b.DatabaseName != e.prefix+"abycd" || e.centralDB != e.prefix+"abzcd" {
		t.Fatalf("databases %s %s %s", a.DatabaseName, b.DatabaseName, e.centralDB)
	}
	e.connects(t, a)
	e.connects(t, b)
	e.refused(t, a, b.DatabaseName)
	e.refused(t, a, e.centralDB)
	e.refused(t, b, a.DatabaseName)
	e.refused(t, b, e.centralDB)
	e.requireClean()
}

// An installation from before the escaping has the wildcard grant: the
// check reports it and repair replaces it with the escaped one.
func TestRepairReplacesWildcardGrant(t *testing.T) {
	t.Parallel()
	e := newEnv(t, centralLike)
	a, b := e.wildcardPair(t)
	gone, err := e.prov.Create(bg, provisioning.NewTenant{Slug: "ab-ce", Name: "Gone"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.prov.Delete(bg, "ab-ce", false); err != nil {
		t.Fatal(err)
	}
	// What older versions granted.
	for _, tn := range []*central.Tenant{a, gone} {
		if _, err := e.central.Exec("REVOKE ALL PRIVILEGES, GRANT OPTION FROM ?@'%'", tn.DBUser); err != nil {
			t.Fatal(err)
		}
		if _, err := e.central.Exec("GRANT "+tenantdb.TenantPrivileges+" ON `"+tn.DatabaseName+"`.* TO ?@'%'", tn.DBUser); err != nil {
			t.Fatal(err)
		}
	}
	for _, other := range []string{b.DatabaseName, e.centralDB} {
		db, err := e.tenantConn(a, other)
		if err != nil {
			t.Fatalf("the wildcard grant does not reach %s: %v", other, err)
		}
		db.Close()
	}
	r, err := e.prov.Check(bg)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.WrongGrants) != 2 || !strings.HasPrefix(r.WrongGrants[0], "ab-cd: "+a.DBUser+": ") ||
		!strings.HasPrefix(r.WrongGrants[1], "ab-ce: "+gone.DBUser+": ") || r.Clean() {
		t.Fatalf("check of the wildcard grants: %+v", r)
	}
	fixed, err := e.prov.RepairAccounts(bg)
	if err != nil || !slices.Equal(fixed, []string{"ab-cd", "ab-ce"}) {
		t.Fatalf("repair: %v %v", fixed, err)
	}
	e.requireClean()
	e.connects(t, a)
	e.refused(t, a, b.DatabaseName)
	e.refused(t, a, e.centralDB)
	// The deleted tenant's user stays locked.
	if _, err := e.tenantConn(gone, gone.DatabaseName); !isMySQLError(err, 4151) && !isMySQLError(err, 3118) {
		t.Fatalf("the deleted tenant's user after repair: %v, want locked", err)
	}
	// Idempotent: nothing more to do.
	if fixed, err := e.prov.RepairAccounts(bg); err != nil || len(fixed) != 0 {
		t.Fatalf("second repair: %v %v", fixed, err)
	}
}

// Extra privileges of every kind are reported and revoked.
func TestRepairRevokesExtraPrivileges(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, err := e.prov.Create(bg, provisioning.NewTenant{Slug: "greedy", Name: "G"})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"GRANT CREATE ON `" + a.DatabaseName + "`.* TO ?@'%'",
		"GRANT SELECT ON `" + e.centralDB + "`.* TO ?@'%'",
		"GRANT PROCESS ON *.* TO ?@'%'",
		"GRANT SELECT ON mysql.user TO ?@'%'",
		"GRANT SELECT ON `" + a.DatabaseName + "`.* TO ?@'%' WITH GRANT OPTION",
	} {
		if _, err := e.central.Exec(q, a.DBUser); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	r, err := e.prov.Check(bg)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.WrongGrants) != 1 {
		t.Fatalf("report %+v", r)
	}
	for _, want := range []string{"CREATE", "global privilege PROCESS", "SELECT on " + e.centralDB, "SELECT on mysql.user", "GRANT OPTION"} {
		if !strings.Contains(r.WrongGrants[0], want) {
			t.Errorf("wrong grants %q lack %q", r.WrongGrants[0], want)
		}
	}
	if _, err := e.prov.RepairAccounts(bg); err != nil {
		t.Fatal(err)
	}
	e.requireClean()
	e.refused(t, a, e.centralDB)
}

// A tenant's DB account dropped, given another password or locked is
// reported by the check and redone by repair and by Provision.
func TestRepairRedoesBrokenTenantAccounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, err := e.prov.Create(bg, provisioning.NewTenant{Slug: "fragile", Name: "F"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ breakIt, want string }{
		{"DROP USER ?@'%'", "missing DB user: fragile: "},
		{"ALTER USER ?@'%' IDENTIFIED BY 'another-password'", "broken: fragile: " + a.DBUser + ": access_denied"},
		{"ALTER USER ?@'%' ACCOUNT LOCK", "broken: fragile: " + a.DBUser + ": account_locked"},
		{"REVOKE ALL PRIVILEGES, GRANT OPTION FROM ?@'%'", "wrong grants: fragile: " + a.DBUser + ": missing"},
	} {
		for _, viaProvision := range []bool{false, true} {
			if _, err := e.central.Exec(c.breakIt, a.DBUser); err != nil {
				t.Fatal(err)
			}
			if got := e.problems(); !strings.Contains(got, c.want) {
				t.Fatalf("after %q the check reports %q, want %q", c.breakIt, got, c.want)
			}
			if viaProvision {
				tn, err := e.prov.Provision(bg, "fragile")
				if err != nil || tn.Status != central.StatusActive {
					t.Fatalf("provision: %v %v", tn, err)
				}
			} else if fixed, err := e.prov.RepairAccounts(bg); err != nil || !slices.Equal(fixed, []string{"fragile"}) {
				t.Fatalf("repair after %q: %v %v", c.breakIt, fixed, err)
			}
			e.requireClean()
			e.connects(t, a)
		}
	}
}

// problems flattens the check's report into "kind: item" lines.
func (e *env) problems() string {
	r, err := e.prov.Check(bg)
	if err != nil {
		e.t.Fatal(err)
	}
	var b strings.Builder
	for kind, items := range map[string][]string{
		"orphan database": r.OrphanDatabases, "orphan DB user": r.OrphanUsers,
		"missing database": r.MissingDatabases, "missing DB user": r.MissingUsers,
		"wrong grants": r.WrongGrants, "broken": r.BrokenUsers,
	} {
		for _, it := range items {
			b.WriteString(kind + ": " + it + "\n")
		}
	}
	return b.String()
}

// Spares: the check covers their databases, users, grants and logins;
// repair redoes a spare's account; and a spare whose DB user is broken is
// never handed to a new tenant as it is: the claim redoes it.
func TestSpareAccounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *provisioning.Options) { o.SparePool = 1 })
	if n, err := e.prov.RefillSpares(bg); err != nil || n != 1 {
		t.Fatalf("refill: %d %v", n, err)
	}
	e.requireClean()
	spares, err := e.catalog.Spares(bg)
	if err != nil || len(spares) != 1 {
		t.Fatalf("spares %v %v", spares, err)
	}
	s := spares[0]
	label := "spare " + s.DatabaseName + ": "

	if _, err := e.central.Exec("DROP USER ?@'%'", s.DBUser); err != nil {
		t.Fatal(err)
	}
	if got := e.problems(); got != "missing DB user: "+label+s.DBUser+"\n" {
		t.Fatalf("check with a spare's user dropped: %q", got)
	}
	if fixed, err := e.prov.RepairAccounts(bg); err != nil || !slices.Equal(fixed, []string{"spare " + s.DatabaseName}) {
		t.Fatalf("repair: %v %v", fixed, err)
	}
	e.requireClean()

	if _, err := e.central.Exec("ALTER USER ?@'%' IDENTIFIED BY 'another-password'", s.DBUser); err != nil {
		t.Fatal(err)
	}
	if got := e.problems(); got != "broken: "+label+s.DBUser+": access_denied\n" {
		t.Fatalf("check with a spare's password changed: %q", got)
	}
	if _, err := e.central.Exec("DROP USER ?@'%'", s.DBUser); err != nil {
		t.Fatal(err)
	}
	tn, err := e.prov.Create(bg, provisioning.NewTenant{Slug: "heir", Name: "H",
		Admin: &provisioning.NewAdmin{Email: "boss@heir.example", Password: "correct horse battery", FirstName: "B", LastName: "O"}})
	if err != nil {
		t.Fatal(err)
	}
	if tn.DatabaseName != s.DatabaseName || tn.Status != central.StatusActive {
		t.Fatalf("tenant %s on %s, want active on the spare %s", tn.Status, tn.DatabaseName, s.DatabaseName)
	}
	e.connects(t, tn)
	e.refused(t, tn, e.centralDB)
	if _, err := e.prov.RefillSpares(bg); err != nil {
		t.Fatal(err)
	}
	e.requireClean()
}
