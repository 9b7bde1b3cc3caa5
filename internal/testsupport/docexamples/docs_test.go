package docexamples_test

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/silo-dev/silo/internal/feature/records"
	"github.com/silo-dev/silo/internal/testsupport/docexamples"
	"github.com/silo-dev/silo/internal/testsupport/testdb"
	"github.com/silo-dev/silo/internal/testsupport/testsilo"
	"github.com/silo-dev/silo/router"
)

const repoRoot = "../../.."

// apiSettings are the variables docs/API.md's first shell block sets,
// which its examples take from the reader: the test gives its own.
var apiSettings = []string{"SILO", "SERVER_DSN"}

// TestAPIExamples runs every curl example of docs/API.md, in document
// order, against a Silo of its own (public sign-up off for new tenants, as
// Silo's default is): each call must get the status (and, for an error,
// the code) its "# → …" comment claims, and together they must call every
// route the router serves.
func TestAPIExamples(t *testing.T) {
	t.Parallel()
	needTools(t, "bash", "curl", "jq")
	blocks := docexamples.ShellBlocks(readRepoFile(t, "docs/API.md"))
	if len(blocks) == 0 || blocks[0].CallsSilo() || !sameSet(blocks[0].Assigns(), apiSettings) {
		t.Fatalf("the first shell block of docs/API.md must set exactly %v, and call nothing", apiSettings)
	}
	log := newServedLog()
	e := testsilo.StartLogged(t, map[string]string{"SILO_DEFAULT_PUBLIC_SIGNUP": "false"}, slog.New(log))
	dir := t.TempDir()
	sh := &docexamples.Shell{Dir: dir, Env: []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "SILO=" + e.URL, "SERVER_DSN=" + testdb.ServerDSN(),
	}}
	covered := map[string]bool{}
	for _, b := range blocks[1:] {
		if !b.CallsSilo() {
			continue
		}
		claims, err := b.Claims()
		if err != nil || len(claims) == 0 {
			t.Fatalf("docs/API.md:%d: every curl command needs a \"# → STATUS [CODE]\" line after it (%v)", b.Line, err)
		}
		calls := runBlock(t, sh, "docs/API.md", b)
		checkClaims(t, "docs/API.md", b, claims, calls, log, covered)
	}
	for _, r := range servedRoutes(t, e) {
		if !covered[r] {
			t.Errorf("no example of docs/API.md calls %s", r)
		}
	}
}

// checkClaims compares a block's calls with what it claims, and notes the
// routes they reached in covered.
func checkClaims(t *testing.T, file string, b docexamples.Block, claims []docexamples.Claim, calls []docexamples.Call, log *servedLog, covered map[string]bool) {
	t.Helper()
	if len(calls) != len(claims) {
		t.Errorf("%s:%d: the block made %d curl calls and claims %d answers %v", file, b.Line, len(calls), len(claims), claims)
		return
	}
	for i, c := range calls {
		s, ok := log.request(c.RequestID)
		if !ok {
			t.Errorf("%s:%d: call %d (status %d): Silo logged no request %q", file, b.Line, i+1, c.Status, c.RequestID)
			continue
		}
		got := docexamples.Claim{Status: c.Status}
		if c.Status >= 400 {
			got.Code = s.Code
		}
		if got != claims[i] {
			t.Errorf("%s:%d: call %d (%s %s) answered %s, the docs say %s", file, b.Line, i+1, s.Method, s.Route, got, claims[i])
		}
		if s.Route != "" {
			covered[s.Method+" "+s.Route] = true
		}
	}
}

// TestREADMEWalkThrough runs the README's shell blocks that call Silo with
// curl, in order, against a Silo of its own: with its URL for
// http://127.0.0.1:8080 and a directory of the test's for /tmp/, and the
// silo binary, on the same installation, for `go run ./cmd/silo`. Every
// curl call must succeed (2xx), unless a "# → …" comment says otherwise.
func TestREADMEWalkThrough(t *testing.T) {
	t.Parallel()
	needTools(t, "bash", "curl")
	e := testsilo.Start(t, nil)
	bin := siloBinary(t)
	dir := t.TempDir()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "XDG_CONFIG_HOME=" + dir, "SILO_BIN=" + bin}
	for k, v := range e.Settings {
		env = append(env, k+"="+v)
	}
	sh := &docexamples.Shell{Dir: dir, Env: env, Prelude: `go() {
	if [ "${1:-}" = run ] && [ "${2:-}" = ./cmd/silo ]; then shift 2; "$SILO_BIN" "$@"; return; fi
	echo "only go run ./cmd/silo runs here, not: go $*" >&2; return 1
}
`}
	ran := 0
	for _, b := range docexamples.ShellBlocks(readRepoFile(t, "README.md")) {
		if !b.CallsSilo() {
			continue
		}
		b.Text = strings.NewReplacer("http://127.0.0.1:8080", e.URL, "/tmp/", dir+"/").Replace(b.Text)
		claims, err := b.Claims()
		if err != nil {
			t.Fatalf("README.md:%d: %v", b.Line, err)
		}
		calls := runBlock(t, sh, "README.md", b)
		if len(calls) == 0 || len(claims) > 0 && len(claims) != len(calls) {
			t.Errorf("README.md:%d: the block made %d curl calls and claims %d answers", b.Line, len(calls), len(claims))
			continue
		}
		for i, c := range calls {
			ok := c.Status >= 200 && c.Status < 300
			if len(claims) > 0 {
				ok = claims[i].Status == c.Status
			}
			if !ok {
				t.Errorf("README.md:%d: call %d answered %d (claims %v)", b.Line, i+1, c.Status, claims)
			}
		}
		ran++
	}
	if ran == 0 {
		t.Fatal("README.md has no shell block that calls Silo with curl: its walk-through is gone")
	}
}

// runBlock runs b, failing t when bash fails (a command failed, or a
// variable was used unset).
func runBlock(t *testing.T, sh *docexamples.Shell, file string, b docexamples.Block) []docexamples.Call {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	calls, out, err := sh.Run(ctx, b)
	if err != nil {
		t.Fatalf("%s:%d: the block failed: %v\n%s\noutput:\n%s", file, b.Line, err, b.Text, out)
	}
	if testing.Verbose() {
		t.Logf("%s:%d:\n%s→\n%s", file, b.Line, b.Text, out)
	}
	return calls
}

// servedRoutes lists "METHOD /path" of every route e's router serves.
func servedRoutes(t *testing.T, e *testsilo.Env) []string {
	t.Helper()
	engine, ok := e.Server.Handler().(*gin.Engine)
	if !ok {
		t.Fatalf("Silo's handler is a %T, not the router's gin engine", e.Server.Handler())
	}
	var out []string
	for _, r := range engine.Routes() {
		out = append(out, r.Method+" "+r.Path)
	}
	sort.Strings(out)
	if len(out) < 50 {
		t.Fatalf("the router serves only %d routes: %v", len(out), out)
	}
	return out
}

func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func needTools(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			t.Fatalf("the documentation's examples need %s: %v", n, err)
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// siloBinary builds cmd/silo into a directory of t's, with the race
// detector when the tests run with it (so that it reuses their compiled
// packages), and returns its path.
func siloBinary(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "silo")
	args := []string{"build"}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "-o", bin, "github.com/silo-dev/silo/cmd/silo")
	if out, err := exec.Command(goBin, args...).CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return bin
}

// TestAPIIndex: the route table of docs/API.md ("Every route") has a row
// for every route the router serves, and no other; a tenant route's row
// names the permission the router requires (or says any caller, or any
// user for the user-only routes).
func TestAPIIndex(t *testing.T) {
	doc := readRepoFile(t, "docs/API.md")
	engine, ok := router.New(router.Deps{Routes: records.Routes(nil)}).(*gin.Engine)
	if !ok {
		t.Fatal("router.New is not a gin engine")
	}
	served := map[string]bool{}
	for _, r := range engine.Routes() {
		served[r.Method+" "+r.Path] = true
	}
	rows := map[string]string{}
	for _, m := range indexRow.FindAllStringSubmatch(doc, -1) {
		rows[m[1]] = m[2]
	}
	for route := range served {
		if _, ok := rows[route]; !ok {
			t.Errorf("docs/API.md has no row for %s in its route table", route)
		}
	}
	for route := range rows {
		if !served[route] {
			t.Errorf("docs/API.md lists %s, which the router does not serve", route)
		}
	}
	for _, r := range append(router.TenantRoutes(), records.Routes(nil)...) {
		who := rows[r.Method+" /api"+r.Path]
		want := "`" + r.Permission + "`"
		if r.Permission == "" {
			want = "any "
		}
		if !strings.Contains(who, want) {
			t.Errorf("docs/API.md says %q may call %s /api%s; the router requires %q", who, r.Method, r.Path, r.Permission)
		}
	}
}

// indexRow is a row of the route table: | `METHOD /path` | who | section |.
var indexRow = regexp.MustCompile("(?m)^\\| `([A-Z]+ /[^`]*)` \\| ([^|]+) \\|")
