package layout_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// outside are phrases that point at notes kept outside the repository,
// which a reader of the repository cannot follow.
var outside = regexp.MustCompile(`(?i)\.\./shared\b|/work/|issue notes|see the issue|the issue asks|\bissue\s*#\s*\d|\bthe brief\b`)

var (
	mdLink      = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	mdCodePath  = regexp.MustCompile("`([A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+\\.(?:go|md|sql))`")
	mdHeading   = regexp.MustCompile(`(?m)^#{1,6}\s+(.+?)\s*#*\s*$`)
	goFileRef   = regexp.MustCompile(`(?:^|[\s(` + "`" + `"'])((?:\.\./|\./)?[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*\.md|(?:\.\./|\./)?[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+\.go)\b`)
	upwardsPath = regexp.MustCompile(`(?:^|[\s(` + "`" + `"'])((?:\.\./)+[A-Za-z0-9_.-]+[A-Za-z0-9_./-]*)`)
)

// TestLinksStayInRepository: README.md, the guides in docs/ and the Go
// comments point only at what the repository holds. Every Markdown link
// that is not a URL names a file of the repository (and, with #anchor, a
// heading of it); every path in code spans of the guides and every
// Markdown file or Go file path in a Go comment exists; no ../ path leaves
// the repository; nothing refers to notes kept elsewhere.
func TestLinksStayInRepository(t *testing.T) {
	root, _ := repo(t)
	docs, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	docs = append(docs, filepath.Join(root, "README.md"))
	if len(docs) < 5 {
		t.Fatalf("found only %v", docs)
	}
	for _, path := range docs {
		checkMarkdown(t, root, path)
	}
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") {
			checkGoComments(t, root, path)
			checked++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 100 {
		t.Fatalf("checked the comments of only %d Go files", checked)
	}
}

func checkMarkdown(t *testing.T, root, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text, name := string(b), rel(root, path)
	for _, line := range strings.Split(text, "\n") {
		if m := outside.FindString(line); m != "" {
			t.Errorf("%s refers to %q, outside the repository: %s", name, m, strings.TrimSpace(line))
		}
	}
	for _, m := range mdLink.FindAllStringSubmatch(text, -1) {
		target := m[1]
		if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
			continue
		}
		file, anchor, _ := strings.Cut(target, "#")
		full := path
		if file != "" {
			full = filepath.Join(filepath.Dir(path), file)
			if !inside(root, full) || !exists(full) {
				t.Errorf("%s links to %s, which is not a file of the repository", name, target)
				continue
			}
		}
		if anchor != "" && strings.HasSuffix(full, ".md") && !headingAnchors(t, full)[anchor] {
			t.Errorf("%s links to %s, which has no heading #%s", name, target, anchor)
		}
	}
	for _, m := range mdCodePath.FindAllStringSubmatch(text, -1) {
		if !exists(filepath.Join(root, m[1])) && !exists(filepath.Join(filepath.Dir(path), m[1])) {
			t.Errorf("%s names `%s`, which the repository does not hold", name, m[1])
		}
	}
}

// headingAnchors are the anchors GitHub gives the headings of a Markdown
// file: lower-cased, punctuation but - and _ dropped, spaces as -, and
// -1, -2, … after repeats.
func headingAnchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	seen := map[string]int{}
	inFence := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inFence = !inFence
		}
		m := mdHeading.FindStringSubmatch(line)
		if inFence || m == nil {
			continue
		}
		slug := strings.Map(func(r rune) rune {
			switch {
			case r == ' ':
				return '-'
			case r == '-' || unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.Pc):
				return r
			}
			return -1
		}, strings.ToLower(m[1]))
		if n := seen[slug]; n > 0 {
			out[slug+"-"+strconv.Itoa(n)] = true
		} else {
			out[slug] = true
		}
		seen[slug]++
	}
	return out
}

func checkGoComments(t *testing.T, root, path string) {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		t.Errorf("%s: %v", rel(root, path), err)
		return
	}
	for _, group := range f.Comments {
		text := group.Text()
		where := rel(root, path) + ":" + strconv.Itoa(fset.Position(group.Pos()).Line)
		if m := outside.FindString(text); m != "" {
			t.Errorf("%s: a comment refers to %q, outside the repository", where, m)
		}
		for _, m := range goFileRef.FindAllStringSubmatch(text, -1) {
			if !goRefExists(root, filepath.Dir(path), m[1]) {
				t.Errorf("%s: a comment names %s, which the repository does not hold", where, m[1])
			}
		}
		for _, m := range upwardsPath.FindAllStringSubmatch(text, -1) {
			if full := filepath.Join(filepath.Dir(path), m[1]); !inside(root, full) {
				t.Errorf("%s: a comment names %s, outside the repository", where, m[1])
			}
		}
	}
}

// goRefExists reports whether a file a Go comment names exists: relative
// to the repository's root or to the comment's directory, or, for a bare
// Markdown file name, among the guides in docs/.
func goRefExists(root, dir, ref string) bool {
	candidates := []string{filepath.Join(root, ref), filepath.Join(dir, ref)}
	if !strings.Contains(ref, "/") {
		candidates = append(candidates, filepath.Join(root, "docs", ref))
	}
	for _, c := range candidates {
		if inside(root, c) && exists(c) {
			return true
		}
	}
	return false
}

func inside(root, path string) bool {
	r, err := filepath.Rel(root, filepath.Clean(path))
	return err == nil && r != ".." && !strings.HasPrefix(r, "../")
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func rel(root, path string) string {
	r, err := filepath.Rel(root, path)
	if err != nil {
		return path
	}
	return r
}
