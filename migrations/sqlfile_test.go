package migrations

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The fleet path's parser gives goose's statements for goose's own test
// files (testdata/goose-sqlparser: goose v3.29.0's valid-up cases, with
// their golden statements, under goose's licence).
func TestParseSQLFileMatchesGooseGoldens(t *testing.T) {
	t.Parallel()
	dirs, err := filepath.Glob("testdata/goose-sqlparser/valid-up/test*")
	if err != nil || len(dirs) < 9 {
		t.Fatalf("goose test cases: %v, %v", dirs, err)
	}
	for _, dir := range dirs {
		src, err := os.ReadFile(filepath.Join(dir, "input.sql"))
		if err != nil {
			t.Fatal(err)
		}
		f, err := parseSQLFile(src)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		goldens, _ := filepath.Glob(filepath.Join(dir, "*.up.golden.sql"))
		if len(f.up) != len(goldens) {
			t.Fatalf("%s: %d statements, goose has %d", dir, len(f.up), len(goldens))
		}
		for i, g := range goldens {
			want, err := os.ReadFile(g)
			if err != nil {
				t.Fatal(err)
			}
			if f.up[i] != string(want) {
				t.Errorf("%s statement %d:\n%s\nwant:\n%s", dir, i+1, f.up[i], want)
			}
		}
	}
}

func TestParseSQLFile(t *testing.T) {
	t.Parallel()
	src := `-- a comment before Up

-- +goose Up
-- +goose NO TRANSACTION
CREATE TABLE a (id INT); -- trailing comment
INSERT INTO a VALUES (1),
  (2);
-- +goose StatementBegin
CREATE TRIGGER a_bi BEFORE INSERT ON a FOR EACH ROW
BEGIN
  SET NEW.id = NEW.id + 1;
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE a;
`
	f, err := parseSQLFile([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"CREATE TABLE a (id INT); -- trailing comment",
		"INSERT INTO a VALUES (1),\n  (2);",
		"CREATE TRIGGER a_bi BEFORE INSERT ON a FOR EACH ROW\nBEGIN\n  SET NEW.id = NEW.id + 1;\nEND;",
	}
	if !reflect.DeepEqual(f.up, want) || !reflect.DeepEqual(f.down, []string{"DROP TABLE a;"}) || f.useTx {
		t.Fatalf("up %q down %q useTx %v", f.up, f.down, f.useTx)
	}
	if f.ddlOnly() {
		t.Fatal("an INSERT and a trigger are not DDL committed at once")
	}

	for name, bad := range map[string]string{
		"no Up":            "CREATE TABLE a (id INT);\n",
		"no semicolon":     "-- +goose Up\nCREATE TABLE a (id INT)\n",
		"no StatementEnd":  "-- +goose Up\n-- +goose StatementBegin\nSELECT 1;\n",
		"unknown":          "-- +goose Up\n-- +goose Sideways\nSELECT 1;\n",
		"indented":         "-- +goose Up\n  -- +goose StatementBegin\nSELECT 1;\n-- +goose StatementEnd\n",
		"down before semi": "-- +goose Up\nSELECT 1\n-- +goose Down\nSELECT 2;\n",
	} {
		if _, err := parseSQLFile([]byte(bad)); err == nil || errors.Is(err, errUnsupported) {
			t.Errorf("%s: err = %v, want a parse error", name, err)
		}
	}
	if _, err := parseSQLFile([]byte("-- +goose Up\n-- +goose ENVSUB ON\nSELECT '${X}';\n")); !errors.Is(err, errUnsupported) {
		t.Fatalf("ENVSUB: %v, want errUnsupported (goose runs it)", err)
	}
}

func TestImplicitCommit(t *testing.T) {
	t.Parallel()
	for q, want := range map[string]bool{
		"ALTER TABLE users ADD COLUMN x INT NULL;":     true,
		"-- why\nCREATE INDEX i ON users (x);":         true,
		"create unique index i on users (x);":          true,
		"DROP TABLE t;":                                true,
		"CREATE TEMPORARY TABLE t (id INT);":           false,
		"INSERT INTO t VALUES (1);":                    false,
		"UPDATE t SET x = 1;":                          false,
		"CREATE PROCEDURE p() BEGIN SELECT 1; END;":    false,
		"-- only a comment":                            false,
		"ALTER TABLE t ADD COLUMN y INT; # and a note": true,
	} {
		if got := implicitCommit(q); got != want {
			t.Errorf("implicitCommit(%q) = %v, want %v", strings.TrimSpace(q), got, want)
		}
	}
}
