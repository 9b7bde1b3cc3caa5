package layout

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
)

// MaxFuncLines is the longest a function may be outside cmd/ and tests,
// counted from its func line to its closing brace.
const MaxFuncLines = 80

// LongFuncs lists the non-test functions under root, commands aside, longer
// than max lines, as "file:line name (N lines)".
func LongFuncs(root string, max int) ([]string, error) {
	var out []string
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if path != root && (rel == "cmd" || d.Name() == "testdata" || d.Name() == "vendor" ||
				strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			if fn, ok := decl.(*ast.FuncDecl); ok && fn.Body != nil {
				from, to := fset.Position(fn.Pos()).Line, fset.Position(fn.End()).Line
				if n := to - from + 1; n > max {
					out = append(out, fmt.Sprintf("%s:%d %s (%d lines)", rel, from, fn.Name.Name, n))
				}
			}
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}
