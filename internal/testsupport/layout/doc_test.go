package layout_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/silo-dev/silo/internal/testsupport/layout"
)

// TestArchitectureDoc keeps docs/ARCHITECTURE.md true: it names every
// package of the layers, every file it names exists, and every function,
// type or method it names after a file (`router/routes.go` `routes`,
// `tenantdb/pool.go` `PoolManager.Acquire`, `dberr.Translate`) is declared
// in that file's package (or the package it is qualified with).
func TestArchitectureDoc(t *testing.T) {
	root, _ := repo(t)
	b, err := os.ReadFile(filepath.Join(root, "docs", "ARCHITECTURE.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	dirs := layeredDirs(t, root)
	for _, dir := range dirs {
		name := dir
		if dir == "." {
			name = "silo"
		}
		if !strings.Contains(doc, "`"+name+"`") {
			t.Errorf("docs/ARCHITECTURE.md does not name package `%s`", name)
		}
	}
	src := sources{root: root, dirs: dirs, byDir: map[string]string{}}
	for _, item := range docItems(doc) {
		checkItem(t, &src, item)
	}
}

var (
	codeSpan  = regexp.MustCompile("`([^`]+)`")
	itemStart = regexp.MustCompile(`^\s*(\d+\.|-|\|)\s`)
	ident     = regexp.MustCompile(`^([A-Za-z_]\w*)(\.([A-Za-z_]\w*))?$`)
	constName = regexp.MustCompile(`^[A-Z0-9_]+$`)
)

// docItems splits doc into paragraphs and list items.
func docItems(doc string) []string {
	var items []string
	var cur strings.Builder
	for line := range strings.Lines(doc) {
		if strings.TrimSpace(line) == "" || itemStart.MatchString(line) {
			items = append(items, cur.String())
			cur.Reset()
		}
		cur.WriteString(line)
	}
	return append(items, cur.String())
}

// checkItem checks the code spans of one item: a span naming a .go file
// sets the package that the identifiers after it are looked up in.
func checkItem(t *testing.T, src *sources, item string) {
	t.Helper()
	dir := ""
	for _, m := range codeSpan.FindAllStringSubmatch(item, -1) {
		span := m[1]
		if strings.HasSuffix(span, ".go") {
			if _, err := os.Stat(filepath.Join(src.root, span)); err != nil {
				t.Errorf("docs/ARCHITECTURE.md names %s, which does not exist", span)
			}
			dir = filepath.Dir(span)
			continue
		}
		id := ident.FindStringSubmatch(span)
		if id == nil || constName.MatchString(span) {
			continue
		}
		pkgDir, name, method := dir, id[1], id[3]
		if d, ok := src.packageDir(id[1]); ok && method != "" {
			pkgDir, name, method = d, id[3], ""
		}
		if pkgDir == "" {
			continue
		}
		if !src.declares(pkgDir, name, method) {
			t.Errorf("docs/ARCHITECTURE.md names `%s` in %s, which declares no such thing", span, pkgDir)
		}
	}
}

type sources struct {
	dirs  []string // the packages in a layer, commands and examples aside
	root  string
	byDir map[string]string
}

// packageDir is the directory of the Silo package called name ("silo" is
// the module root).
func (s *sources) packageDir(name string) (string, bool) {
	if name == "silo" {
		return ".", true
	}
	for _, dir := range s.dirs {
		if filepath.Base(dir) == name {
			return dir, true
		}
	}
	return "", false
}

// declares reports whether the non-test files of dir declare name (a
// func, type, var or const), or, with method, the method name.method.
func (s *sources) declares(dir, name, method string) bool {
	text, ok := s.byDir[dir]
	if !ok {
		files, _ := filepath.Glob(filepath.Join(s.root, dir, "*.go"))
		var all strings.Builder
		for _, f := range files {
			if b, err := os.ReadFile(f); err == nil && !strings.HasSuffix(f, "_test.go") {
				all.Write(b)
				all.WriteString("\n")
			}
		}
		text = all.String()
		s.byDir[dir] = text
	}
	n := regexp.QuoteMeta(name)
	if method != "" {
		return regexp.MustCompile(`(?m)^func\s+\(\w+\s+\*?` + n + `(\[[^\]]*\])?\)\s+` + regexp.QuoteMeta(method) + `[\[(]`).MatchString(text)
	}
	return regexp.MustCompile(`(?m)^(func|type|var|const)\s+` + n + `\b` +
		`|^func\s+\([^)]*\)\s+` + n + `[\[(]` +
		`|^\t` + n + `\b[^=\n]*=`).MatchString(text)
}

// layeredDirs lists the module's packages that sit in a layer, commands and
// examples aside: those docs/ARCHITECTURE.md must name.
func layeredDirs(t *testing.T, root string) []string {
	t.Helper()
	_, module, err := layout.ModuleRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := layout.Scan(root, module)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, p := range pkgs {
		if l, ok := layout.LayerOf(p.Dir); ok && l != layout.Command && l != layout.Example {
			dirs = append(dirs, p.Dir)
		}
	}
	return dirs
}
