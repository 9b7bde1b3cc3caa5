package layout

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// unportable are SQL constructs that MySQL 8.4 and MariaDB 10.11 do not
// both run the way Silo means them. inTests says whether test files are
// held to the rule too.
var unportable = []struct {
	re      *regexp.Regexp
	inTests bool
	why     string
}{
	{regexp.MustCompile(`(?is)\bON\s+DUPLICATE\s+KEY\s+UPDATE\b.*\bVALUES\s*\(`), true,
		"VALUES() in ON DUPLICATE KEY UPDATE is deprecated by MySQL 8.0.20+, and its row-alias replacement is not in MariaDB: repeat the value's placeholder"},
	{regexp.MustCompile(`(?i)\bGROUP_CONCAT\s*\(`), false,
		"GROUP_CONCAT is cut at group_concat_max_len (1024 bytes by default on MySQL) with only a warning: read the rows"},
}

// FindUnportableSQL reports each SQL text under root that breaks a rule of
// unportable: in .go files the string literals and + chains of them (as
// FindSQL reads them), in .sql files each statement. Hidden folders,
// node_modules and vendor are skipped.
func FindUnportableSQL(root string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		var texts []sqlPiece
		switch {
		case strings.HasSuffix(path, ".go"):
			texts, err = goStrings(path)
		case strings.HasSuffix(path, ".sql"):
			texts, err = sqlStatements(path)
		default:
			return nil
		}
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		test := strings.HasSuffix(path, "_test.go")
		for _, t := range texts {
			for _, r := range unportable {
				if (r.inTests || !test) && r.re.MatchString(t.text) {
					out = append(out, fmt.Sprintf("%s:%d: %s: %s", rel, t.line, r.why, shorten(t.text)))
				}
			}
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// sqlPiece is a text that may be SQL and the line it starts on.
type sqlPiece struct {
	text string
	line int
}

// goStrings returns the string literals of a Go file, a + chain of them
// as one text (other operands stand as "x").
func goStrings(path string) ([]sqlPiece, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	var out []sqlPiece
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.BinaryExpr:
			if s, ok := concat(n); ok && n.Op == token.ADD {
				out = append(out, sqlPiece{s, fset.Position(n.Pos()).Line})
				return false
			}
		case *ast.BasicLit:
			if s, ok := literal(n); ok {
				out = append(out, sqlPiece{s, fset.Position(n.Pos()).Line})
			}
		}
		return true
	})
	return out, nil
}

// sqlStatements splits an .sql file at semicolons.
func sqlStatements(path string) ([]sqlPiece, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []sqlPiece
	line := 1
	for _, stmt := range strings.Split(string(src), ";") {
		text := strings.TrimLeft(stmt, " \t\r\n")
		start := line + strings.Count(stmt[:len(stmt)-len(text)], "\n")
		out = append(out, sqlPiece{text, start})
		line += strings.Count(stmt, "\n")
	}
	return out, nil
}
