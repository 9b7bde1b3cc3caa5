package layout

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// sqlText matches SQL statements as Silo writes them (keywords in upper
// case), in a string literal or a concatenation of literals where each
// operand that is not a literal stands as "x" ("SELECT " + cols + " FROM t"
// reads "SELECT x FROM t"). An HTTP method on its own ("DELETE") is not SQL.
var sqlText = regexp.MustCompile(`\bSELECT\s+\S[\s\S]*\bFROM\b` +
	`|\bSELECT\s+(\d|@@|\*|[A-Z_]+\()` +
	`|\b(INSERT|REPLACE)\s+(IGNORE\s+)?INTO\b` +
	`|\bUPDATE\s+\S+\s+SET\b` +
	`|\bDELETE\s+FROM\b` +
	`|\b(CREATE|DROP|ALTER|TRUNCATE|RENAME)\s+(TEMPORARY\s+)?(TABLE|DATABASE|SCHEMA|USER|INDEX|VIEW|ROLE)\b` +
	`|\b(GRANT|REVOKE)\s[\s\S]*\bON\b` +
	`|\bSHOW\s+(FULL\s+)?(TABLES|DATABASES|GRANTS|PROCESSLIST|VARIABLES|STATUS|CREATE)\b` +
	`|\bKILL\s+(QUERY|CONNECTION)\b` +
	`|\bSTART\s+TRANSACTION\b|\bFLUSH\s+PRIVILEGES\b` +
	`|\bSET\s+(SESSION|GLOBAL|PASSWORD|@)`)

// dbMethods are the methods of database/sql and sqlx that run or prepare
// SQL. Their names do not clash with gin's (c.Get, c.Query), so a call of
// one on any receiver counts.
var dbMethods = map[string]bool{}

func init() {
	for _, m := range []string{"Exec", "Query", "QueryRow", "Prepare", "Get", "Select",
		"Queryx", "QueryRowx", "Preparex", "NamedExec", "NamedQuery", "PrepareNamed", "MustExec"} {
		dbMethods[m+"Context"] = true
	}
	for _, m := range []string{"Exec", "QueryRow", "Prepare", "Begin", "BeginTx", "Beginx", "BeginTxx",
		"MustBegin", "MustBeginTx", "Queryx", "QueryRowx", "Preparex", "NamedExec", "NamedQuery",
		"PrepareNamed", "MustExec", "Rebind", "BindNamed"} {
		dbMethods[m] = true
	}
}

// sqlPackages are the packages whose functions run, build or bind SQL
// (sqlx.In, sqlx.Select, sql.Open, ...); naming one of their types is fine.
var sqlPackages = map[string]bool{
	"database/sql":                   true,
	"github.com/jmoiron/sqlx":        true,
	"github.com/go-sql-driver/mysql": true,
}

// FindSQL reports each place in the non-test .go files of dir that writes
// SQL: a string that reads as an SQL statement, a call of a database
// method (ExecContext, QueryRowContext, BeginTxx, ...; Get and Select of
// sqlx only in their form with a destination pointer, Get(&v, query)), or
// a call of a function of database/sql, sqlx or the MySQL driver.
func FindSQL(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	var out []string
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		out = append(out, sqlIn(fset, f)...)
	}
	sort.Strings(out)
	return out, nil
}

func sqlIn(fset *token.FileSet, f *ast.File) []string {
	sqlNames := sqlImportNames(f)
	var out []string
	report := func(n ast.Node, what string) {
		out = append(out, fmt.Sprintf("%s: %s", fset.Position(n.Pos()), what))
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.ImportSpec:
			return false
		case *ast.BinaryExpr:
			if n.Op != token.ADD {
				return true
			}
			if s, ok := concat(n); ok && sqlText.MatchString(s) {
				report(n, "SQL in a string: "+shorten(s))
				return false
			}
		case *ast.BasicLit:
			if s, ok := literal(n); ok && sqlText.MatchString(s) {
				report(n, "SQL in a string: "+shorten(s))
			}
		case *ast.CallExpr:
			if what := sqlCall(n, sqlNames); what != "" {
				report(n, what)
			}
		}
		return true
	})
	return out
}

// sqlCall names the database call n makes, or "".
func sqlCall(n *ast.CallExpr, sqlNames map[string]string) string {
	sel, ok := n.Fun.(*ast.SelectorExpr)
	if !ok {
		return ""
	}
	if id, ok := sel.X.(*ast.Ident); ok {
		if pkg, ok := sqlNames[id.Name]; ok {
			return fmt.Sprintf("call of %s.%s (package %s)", id.Name, sel.Sel.Name, pkg)
		}
	}
	name := sel.Sel.Name
	if dbMethods[name] {
		return "database call ." + name
	}
	if (name == "Get" || name == "Select") && len(n.Args) >= 2 {
		if u, ok := n.Args[0].(*ast.UnaryExpr); ok && u.Op == token.AND {
			return "database call ." + name + "(&dest, query, ...)"
		}
	}
	return ""
}

// sqlImportNames maps the names under which f imports an SQL package to
// the package's path.
func sqlImportNames(f *ast.File) map[string]string {
	names := map[string]string{}
	for _, spec := range f.Imports {
		p, err := strconv.Unquote(spec.Path.Value)
		if err != nil || !sqlPackages[p] {
			continue
		}
		name := p[strings.LastIndex(p, "/")+1:]
		if p == "github.com/go-sql-driver/mysql" {
			name = "mysql"
		}
		if spec.Name != nil {
			name = spec.Name.Name
		}
		names[name] = p
	}
	return names
}

// concat is the text of a + chain, each operand that is not a string
// literal standing as "x"; ok is false when the chain has no literal.
func concat(e ast.Expr) (string, bool) {
	switch e := e.(type) {
	case *ast.BinaryExpr:
		if e.Op == token.ADD {
			l, lok := concat(e.X)
			r, rok := concat(e.Y)
			return l + r, lok || rok
		}
	case *ast.ParenExpr:
		return concat(e.X)
	case *ast.BasicLit:
		if s, ok := literal(e); ok {
			return s, true
		}
	}
	return "x", false
}

func literal(b *ast.BasicLit) (string, bool) {
	if b.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(b.Value)
	return s, err == nil
}

func shorten(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 60 {
		s = s[:60] + "..."
	}
	return strconv.Quote(s)
}
