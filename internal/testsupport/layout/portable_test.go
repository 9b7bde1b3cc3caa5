package layout_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/silo-dev/silo/internal/testsupport/layout"
)

// TestSQLIsPortable: no .go or .sql file of the repository uses VALUES()
// in ON DUPLICATE KEY UPDATE (deprecated by MySQL 8.0.20+, while MariaDB
// 10.11 lacks the row alias that replaces it), and no production code uses
// GROUP_CONCAT, which MySQL cuts at 1024 bytes by default.
func TestSQLIsPortable(t *testing.T) {
	root, _ := repo(t)
	found, err := layout.FindUnportableSQL(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		t.Error(f)
	}
}

// TestFindUnportableSQLCatches runs the finder on files written for it.
// The samples spell the constructs with a "~" that is removed when they
// are written, so that this file does not break the rule it tests.
func TestFindUnportableSQLCatches(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"bad.go": `package p

const cols = "a, b"

func q(n int) string {
	return "INSERT INTO t (" + cols + ") VALUES (?, ?)" + ` + "`\n\t\tON DUPLICATE KEY UPDATE b = VALUES~(b)`" + `
}

var roles = "SELECT GROUP_CONCAT~(name) FROM roles"
`,
		"bad_test.go": `package p

var a = "INSERT INTO t (a) VALUES (?) ON DUPLICATE KEY UPDATE a = values ~(a)"
var b = "SELECT GROUP_CONCAT~(name) FROM roles"
`,
		"good.go": `package p

var ins = "INSERT INTO t (a, b) VALUES (?, ?)"
var up = "INSERT INTO t (a, b) VALUES (?, ?) ON DUPLICATE KEY UPDATE b = ?"
`,
		"m/001.sql":    "-- +goose Up\nINSERT INTO t (a) VALUES (1);\n\nINSERT INTO t (a) VALUES (2)\n  ON DUPLICATE KEY UPDATE a = VALUES~(a);\n",
		".hidden/x.go": "package x\n\nvar s = \"SELECT GROUP_CONCAT~(a) FROM t\"\n",
	}
	for name, src := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(strings.ReplaceAll(src, "~", "")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	found, err := layout.FindUnportableSQL(dir)
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(found, "\n")
	want := []string{"bad.go:6: VALUES()", "bad.go:10: GROUP_CONCAT", "bad_test.go:3: VALUES()", "m/001.sql:4: VALUES()"}
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("FindUnportableSQL missed %q; found:\n%s", w, all)
		}
	}
	if len(found) != len(want) {
		t.Errorf("FindUnportableSQL found %d, want %d:\n%s", len(found), len(want), all)
	}
}
