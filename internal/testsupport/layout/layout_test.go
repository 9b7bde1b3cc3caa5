package layout_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/silo-dev/silo/internal/testsupport/layout"
)

func repo(t *testing.T) (root, module string) {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, module, err = layout.ModuleRoot(wd)
	if err != nil {
		t.Fatal(err)
	}
	return root, module
}

// TestLayers is the import rule of docs/ARCHITECTURE.md on the repository:
// leaf libraries import no plane, feature, assembly or test support; the
// planes import each other only downwards; production code never imports
// test support; examples use only the public API.
func TestLayers(t *testing.T) {
	root, module := repo(t)
	pkgs, err := layout.Scan(root, module)
	if err != nil {
		t.Fatal(err)
	}
	scanned := map[string]bool{}
	for _, p := range pkgs {
		scanned[p.Dir] = true
		if p.Dir == "internal/testsupport/chaos" && len(p.Imports) == 0 {
			t.Error("internal/testsupport/chaos (build tag chaos) was scanned without its imports")
		}
	}
	for dir := range layout.Layers {
		if !scanned[dir] {
			t.Errorf("Layers in internal/testsupport/layout/layout.go lists %s, which has no Go files: remove it there and in docs/ARCHITECTURE.md", dir)
		}
	}
	for folder := range layout.Folders {
		if !scanned[strings.TrimSuffix(folder, "/")] && !hasPackageUnder(scanned, folder) {
			t.Errorf("Folders in internal/testsupport/layout/layout.go lists %s, which holds no package", folder)
		}
	}
	for _, msg := range layout.Check(pkgs) {
		t.Error(msg)
	}
}

// TestRouterWritesNoSQL: the HTTP layer (router) decodes, calls a service
// and answers, and provisioning only orchestrates; every SQL statement lives
// in a store (central, tenantdb, refresh, migrations, a feature's own). The
// same finder must find the SQL of central and tenantdb, or it would pass
// router by finding nothing anywhere.
func TestRouterWritesNoSQL(t *testing.T) {
	root, _ := repo(t)
	for _, dir := range []string{"router", "provisioning"} {
		found, err := layout.FindSQL(filepath.Join(root, dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range found {
			t.Errorf("%s writes SQL (move it to the store that owns the table, in central or tenantdb): %s",
				dir, strings.TrimPrefix(f, root+string(filepath.Separator)))
		}
	}
	for _, plane := range []string{"central", "tenantdb"} {
		found, err := layout.FindSQL(filepath.Join(root, plane))
		if err != nil {
			t.Fatal(err)
		}
		if len(found) < 10 {
			t.Errorf("FindSQL found %d SQL sites in %s, which holds that plane's SQL: the finder is broken", len(found), plane)
		}
	}
}

// TestCheckCatches feeds the rules each kind of wrong import and a few
// right ones.
func TestCheckCatches(t *testing.T) {
	pkg := func(dir, file, to string, test bool) layout.Package {
		return layout.Package{Dir: dir, Imports: []layout.Import{{File: dir + "/" + file, To: to, Test: test}}}
	}
	bad := []struct {
		pkg  layout.Package
		want string
	}{
		{pkg("internal/lib/token", "token.go", "central", false), "internal/lib/token/token.go imports central"},
		{pkg("internal/lib/login", "guard.go", "router", false), "leaf library imports only other leaf"},
		{pkg("migrations", "migrations.go", "internal/assembly/app", false), "migrations/migrations.go imports internal/assembly/app"},
		{pkg("config", "config.go", "internal/testsupport/testdb", false), "leaf library"},
		{pkg("internal/lib/apperr", "x_test.go", "tenantdb", true), "leaf library's tests"},
		{pkg("central", "tenants.go", "tenantdb", false), "plane central may import only the planes (none)"},
		{pkg("tenantdb", "pool.go", "provisioning", false), "plane tenantdb"},
		{pkg("provisioning", "fleet.go", "router", false), "plane provisioning may import only the planes central, tenantdb"},
		{pkg("router", "routes.go", "internal/feature/records", false), "a plane imports only"},
		{pkg("internal/feature/records", "records.go", "internal/assembly/app", false), "a feature is built on"},
		{pkg("internal/assembly/app", "app.go", "internal/testsupport/testsilo", false), "never imports test support"},
		{pkg("examples/notes", "notes.go", "internal/lib/apperr", false), "public API"},
		{pkg("internal/newthing", "x.go", "config", false), "package internal/newthing is in no layer"},
		{pkg("internal/lib/x/y", "y.go", "config", false), "package internal/lib/x/y is in no layer"},
		{pkg("internal/lib", "lib.go", "config", false), "package internal/lib is in no layer"},
	}
	for _, c := range bad {
		msgs := layout.Check([]layout.Package{c.pkg})
		if len(msgs) != 1 || !strings.Contains(msgs[0], c.want) {
			t.Errorf("%s -> %s: got %q, want one message containing %q", c.pkg.Dir, c.pkg.Imports[0].To, msgs, c.want)
		}
	}
	good := []layout.Package{
		pkg("internal/lib/refresh", "refresh.go", "internal/lib/dberr", false),
		pkg("migrations", "migrations_test.go", "internal/testsupport/testdb", true),
		pkg("provisioning", "fleet.go", "central", false),
		pkg("router", "routes.go", "provisioning", false),
		pkg("router", "x_test.go", "internal/feature/records", true),
		pkg("internal/feature/records", "records.go", "router", false),
		pkg(".", "silo.go", "internal/assembly/cli", false),
		pkg("cmd/silo-load", "main.go", "internal/testsupport/benchenv", false),
		pkg("examples/notes", "notes.go", "router", false),
		pkg("examples/notes", "main_test.go", "internal/testsupport/testsilo", true),
	}
	for _, p := range good {
		if msgs := layout.Check([]layout.Package{p}); len(msgs) != 0 {
			t.Errorf("%s -> %s: %q", p.Dir, p.Imports[0].To, msgs)
		}
	}
}

// TestFindSQLCatches runs the SQL finder on a file that writes SQL in each
// way it knows, and on one that only looks like it might.
func TestFindSQLCatches(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("bad.go", `package router

import (
	"context"
	"database/sql"

	x "github.com/jmoiron/sqlx"
)

const cols = "id, name"

func bad(ctx context.Context, db *x.DB, c interface{ Get(string) (any, bool) }) {
	_ = "SELECT " + cols + " FROM tenants WHERE id = ?"
	_ = `+"`"+`
		UPDATE users SET name = ? WHERE id = ?`+"`"+`
	_ = "DELETE FROM roles"
	_ = "INSERT IGNORE INTO t (a) VALUES (?)"
	_ = "SELECT GET_LOCK(?, 0)"
	_ = "GRANT SELECT, INSERT ON db.* TO u"
	db.ExecContext(ctx, q())
	db.QueryRowContext(ctx, q())
	db.BeginTxx(ctx, nil)
	var n int
	db.Get(&n, q())
	x.In(q(), 1)
	sql.Open("mysql", "")
}

func q() string { return "" }
`)
	write("good.go", `package router

func good(r interface {
	DELETE(string, ...any)
	Get(string) (any, bool)
	Query(string) string
}, svc interface{ Get(any, string) error }) {
	r.DELETE("/users/:id")
	r.Get("key")
	r.Query("cursor")
	svc.Get(nil, "slug")
	_ = "Select a tenant from the list; UPDATE the form"
	_ = "method must be GET, POST, PUT, PATCH or DELETE"
}
`)
	write("bad_test.go", `package router

var _ = "DELETE FROM users"
`)
	found, err := layout.FindSQL(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"SELECT x FROM tenants", "UPDATE users SET", "DELETE FROM roles", "INSERT IGNORE INTO",
		"GET_LOCK", "GRANT SELECT", ".ExecContext", ".QueryRowContext", ".BeginTxx", ".Get(&dest", "x.In", "sql.Open"}
	all := strings.Join(found, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("FindSQL missed %q; found:\n%s", w, all)
		}
	}
	if len(found) != len(want) {
		t.Errorf("FindSQL found %d, want %d:\n%s", len(found), len(want), all)
	}
	if strings.Contains(all, "good.go") || strings.Contains(all, "bad_test.go") {
		t.Errorf("FindSQL reported good.go or a test file:\n%s", all)
	}
}

func hasPackageUnder(scanned map[string]bool, folder string) bool {
	for dir := range scanned {
		if strings.HasPrefix(dir, folder) {
			return true
		}
	}
	return false
}

// TestNoLongFunctions: outside cmd/ and tests, no function is longer than
// MaxFuncLines; a longer one is split where its steps are.
func TestNoLongFunctions(t *testing.T) {
	root, _ := repo(t)
	long, err := layout.LongFuncs(root, layout.MaxFuncLines)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range long {
		t.Errorf("%s: split it (at most %d lines outside cmd/ and tests)", f, layout.MaxFuncLines)
	}
	// The finder must see long functions where they are allowed, or it
	// would pass by finding nothing.
	if all, err := layout.LongFuncs(root, 3); err != nil || len(all) < 50 {
		t.Fatalf("LongFuncs found %d functions over 3 lines (%v): the finder is broken", len(all), err)
	}
}
