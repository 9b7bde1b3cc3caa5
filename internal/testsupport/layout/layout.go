// Package layout checks Silo's package layers (docs/ARCHITECTURE.md): which
// package may import which, and that the HTTP layer (router) writes no SQL.
// Its test runs the check on the repository, in `make lint` and `make test`.
// Nothing in Silo imports it; it imports nothing of Silo's.
package layout

import (
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Layer is what a package is for; it decides what the package may import.
type Layer int

const (
	// Leaf is a library that knows no plane: errors, driver-error
	// classification, tokens, login rules, rate limits, the secret box,
	// refresh tokens, configuration, the embedded migrations.
	Leaf Layer = iota + 1
	// Plane is one of the four packages that hold Silo's behaviour: the
	// central and tenant data planes, the lifecycle that joins them, and
	// the HTTP layer on top.
	Plane
	// Feature is a built-in feature made on the public tenant-route API,
	// the way an embedding application's routes are (records).
	Feature
	// Assembly builds a Silo from its parts: the root package (silo), app
	// and the command line (cli).
	Assembly
	// Support is test and benchmark support: per-test databases, a whole
	// Silo for tests, throw-away installations, the fault tests, this check.
	Support
	// Command is a main package under cmd/.
	Command
	// Example is an application under examples/ built on Silo's public API.
	Example
)

var layerNames = map[Layer]string{
	Leaf: "leaf library", Plane: "plane", Feature: "feature", Assembly: "assembly",
	Support: "test support", Command: "command", Example: "example",
}

func (l Layer) String() string { return layerNames[l] }

// Layers classifies the packages outside internal/ by directory ("." is
// the module root). Under internal/ the folder decides: see Folders.
var Layers = map[string]Layer{
	"config":     Leaf,
	"migrations": Leaf,

	"central":      Plane,
	"tenantdb":     Plane,
	"provisioning": Plane,
	"router":       Plane,

	".": Assembly,
}

// Folders gives the layer of every package under each folder of internal/.
// A package directly under internal/, or under another folder, has no
// layer and fails the check: the tree shows the layers.
var Folders = map[string]Layer{
	"internal/lib/":         Leaf,
	"internal/feature/":     Feature,
	"internal/assembly/":    Assembly,
	"internal/testsupport/": Support,
}

// PlaneImports lists the planes each plane may import (every plane may
// import leaves). central and tenantdb are the two data planes and never
// import each other; provisioning joins them; router sits on top.
var PlaneImports = map[string][]string{
	"central":      nil,
	"tenantdb":     nil,
	"provisioning": {"central", "tenantdb"},
	"router":       {"central", "tenantdb", "provisioning"},
}

// Allowed lists imports that break a rule today, each with the issue that
// removes it, as "importer -> imported" (directories). The check fails on
// an entry that no longer matches any import, so the list only shrinks.
var Allowed = map[string]string{}

// LayerOf is the layer of the package in directory dir (module-relative).
func LayerOf(dir string) (Layer, bool) {
	if l, ok := Layers[dir]; ok {
		return l, true
	}
	for folder, l := range Folders {
		if rest, ok := strings.CutPrefix(dir, folder); ok && rest != "" && !strings.Contains(rest, "/") {
			return l, true
		}
	}
	switch {
	case strings.HasPrefix(dir, "cmd/"):
		return Command, true
	case strings.HasPrefix(dir, "examples/"):
		return Example, true
	}
	return 0, false
}

// Import is one import of a package of the module by one file.
type Import struct {
	File string // the importing file, relative to the module root
	To   string // the imported package's directory
	Test bool   // the file is a _test.go file
}

// Package is one directory of the module with its imports of other
// packages of the module, from every .go file whatever its build tags.
type Package struct {
	Dir     string
	Imports []Import
}

// Scan reads the imports of every package under root, the directory of the
// module whose path is module. It skips testdata, vendor and hidden
// directories.
func Scan(root, module string) ([]Package, error) {
	byDir := map[string]*Package{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		return scanFile(fset, root, path, module, byDir)
	})
	if err != nil {
		return nil, err
	}
	pkgs := make([]Package, 0, len(byDir))
	for _, p := range byDir {
		pkgs = append(pkgs, *p)
	}
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].Dir < pkgs[j].Dir })
	return pkgs, nil
}

func scanFile(fset *token.FileSet, root, path, module string, byDir map[string]*Package) error {
	f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
	if err != nil {
		return err
	}
	rel, err := filepath.Rel(root, path)
	if err != nil {
		return err
	}
	rel = filepath.ToSlash(rel)
	dir := filepath.ToSlash(filepath.Dir(rel))
	p := byDir[dir]
	if p == nil {
		p = &Package{Dir: dir}
		byDir[dir] = p
	}
	for _, spec := range f.Imports {
		ip, err := strconv.Unquote(spec.Path.Value)
		if err != nil {
			return err
		}
		to, ok := moduleDir(ip, module)
		if !ok {
			continue
		}
		p.Imports = append(p.Imports, Import{File: rel, To: to, Test: strings.HasSuffix(rel, "_test.go")})
	}
	return nil
}

// moduleDir turns an import path of the module into its directory.
func moduleDir(importPath, module string) (string, bool) {
	if importPath == module {
		return ".", true
	}
	if rest, ok := strings.CutPrefix(importPath, module+"/"); ok {
		return rest, true
	}
	return "", false
}

// ModuleRoot finds the directory of the go.mod above dir and the module's path.
func ModuleRoot(dir string) (root, module string, err error) {
	for d := dir; ; d = filepath.Dir(d) {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil {
			for line := range strings.Lines(string(data)) {
				if m, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
					return d, strings.TrimSpace(m), nil
				}
			}
			return "", "", fmt.Errorf("%s/go.mod has no module line", d)
		}
		if filepath.Dir(d) == d {
			return "", "", fmt.Errorf("no go.mod above %s", dir)
		}
	}
}
