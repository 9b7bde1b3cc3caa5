package layout

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Check applies the import rules to pkgs and returns one message per
// broken rule (empty when the layout holds), each naming the file, the
// import and the rule. Entries of Allowed excuse an import; an entry that
// excuses nothing is reported too.
func Check(pkgs []Package) []string {
	var out []string
	used := map[string]bool{}
	for _, p := range pkgs {
		from, ok := LayerOf(p.Dir)
		if !ok {
			out = append(out, fmt.Sprintf("package %s is in no layer: move it into a layer folder of internal/ (Folders in internal/testsupport/layout/layout.go) and name it in docs/ARCHITECTURE.md", p.Dir))
			continue
		}
		for _, imp := range p.Imports {
			to, ok := LayerOf(imp.To)
			if !ok || imp.To == p.Dir {
				continue // an unclassified package is reported on its own
			}
			rule := broken(p.Dir, from, imp.To, to, imp.Test)
			if rule == "" {
				continue
			}
			key := p.Dir + " -> " + imp.To
			if _, ok := Allowed[key]; ok {
				used[key] = true
				continue
			}
			out = append(out, fmt.Sprintf("%s imports %s (%s %s -> %s %s): %s",
				imp.File, imp.To, from, p.Dir, to, imp.To, rule))
		}
	}
	for key, issue := range Allowed {
		if !used[key] {
			out = append(out, fmt.Sprintf("Allowed[%q] (%s) excuses no import any more: remove it from internal/testsupport/layout/layout.go", key, issue))
		}
	}
	sort.Strings(out)
	return out
}

// broken is the rule that the import of dir to (layer toL) by a file of
// dir (layer from) breaks, or "" when it is allowed.
func broken(dir string, from Layer, to string, toL Layer, test bool) string {
	if test {
		return brokenByTest(from, toL)
	}
	switch from {
	case Leaf:
		if toL != Leaf {
			return "a leaf library imports only other leaf libraries (never a plane, a feature, assembly or test support)"
		}
	case Plane:
		if toL == Plane && !slices.Contains(PlaneImports[dir], to) {
			return fmt.Sprintf("plane %s may import only the planes %s (central and tenantdb import no plane; provisioning imports central and tenantdb; router imports the three)",
				dir, planeList(PlaneImports[dir]))
		}
		if toL != Leaf && toL != Plane {
			return "a plane imports only leaf libraries and the planes below it (never a feature, assembly or test support)"
		}
	case Feature:
		if toL != Leaf && toL != Plane {
			return "a feature is built on the planes' public API and leaf libraries (never on assembly, test support or another feature)"
		}
	case Assembly:
		if toL == Support {
			return "production code never imports test support"
		}
	case Example:
		if strings.HasPrefix(to, "internal/") || to == "internal" {
			return "an example uses only Silo's public API, which an embedding application can import (never internal/)"
		}
	}
	if toL == Command || toL == Example {
		return "nothing imports a main package"
	}
	return ""
}

// brokenByTest is the rule a _test.go file breaks: a leaf library's tests
// stay as small as the library (leaves and test support only); other tests
// may import any package.
func brokenByTest(from, toL Layer) string {
	if from == Leaf && toL != Leaf && toL != Support {
		return "a leaf library's tests import only leaf libraries and test support (never a plane, a feature or assembly)"
	}
	if toL == Command || toL == Example {
		return "nothing imports a main package"
	}
	return ""
}

func planeList(planes []string) string {
	if len(planes) == 0 {
		return "(none)"
	}
	return strings.Join(planes, ", ")
}
