package browser_test

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/silo-dev/silo/internal/testsupport/layout"
	"github.com/silo-dev/silo/internal/testsupport/testsilo"
)

// scenario is one file of e2e/ (name.mjs), run as a subtest.
type scenario struct {
	name string
	// waits names the console pages it needs that are not there yet: it
	// runs only when SILO_E2E_SCENARIOS names it (or is "all").
	waits string
	// setup makes through the API what the scenario needs and gives the
	// settings to pass it (besides those every scenario gets).
	setup func(t *testing.T, s *site) map[string]string
	// hooks are what the scenario may ask the test to do behind the
	// browser's back while it runs (ask in e2e/lib.mjs), by name.
	hooks map[string]func(s *site) error
}

// scenarios run in this order, on one Silo; each has tenants of its own,
// except that those of the logins share acme.
var scenarios = []scenario{
	{name: "central-login"},
	{name: "tenant-login-field", setup: tenant("acme")},
	{name: "tenant-login-subdomain", setup: tenant("acme")},
	{name: "login-errors", setup: tenant("acme")},
	{name: "create-tenant"},
	{name: "suspend-tenant", setup: tenant("globex")},
	{name: "impersonate", setup: impersonation},
	{name: "invite", setup: tenant("hooli")},
	{name: "api-key", setup: tenant("umbrella")},
	{name: "record-conflict", setup: record},
	{name: "fleet-live", setup: fleet, hooks: map[string]func(*site) error{"fleet-run": fleetRun}},
	{name: "session-end", setup: member},
	{name: "audit-live"},
	{name: "settings", setup: tenant("gotham")},
}

// TestConsole runs the browser scenarios against a Silo of its own.
func TestConsole(t *testing.T) {
	tl := findTools(t)
	root, _, err := layout.ModuleRoot(tl.dir)
	if err != nil {
		t.Fatal(err)
	}
	s := &site{Env: testsilo.Start(t, nil), tenants: map[string]bool{}}
	servesConsole(t, s.URL)
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	s.AdminToken() // the superadmin every scenario logs in as
	common := map[string]string{
		"SILO_URL": s.URL, "SILO_PORT": u.Port(), "SILO_BASE_DOMAIN": s.Config.BaseDomain,
		"SILO_CENTRAL_EMAIL": testsilo.Superadmin, "SILO_PASSWORD": testsilo.Password,
		"SILO_CHROMIUM": tl.chromium, "SILO_SCREENSHOTS": screenshotDir(t, root),
	}
	chosen := selected()
	var waiting []string
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			if sc.waits != "" && !chosen["all"] && !chosen[sc.name] {
				waiting = append(waiting, sc.name)
				t.Skipf("waits for %s (SILO_E2E_SCENARIOS=%s runs it)", sc.waits, sc.name)
			}
			vars := map[string]string{}
			if sc.setup != nil {
				vars = sc.setup(t, s)
			}
			for k, v := range common {
				vars[k] = v
			}
			runScenario(t, tl, sc, s, vars)
		})
	}
	if len(waiting) > 0 {
		t.Logf("scenarios waiting for console pages: %s", strings.Join(waiting, ", "))
	}
}

// selected are the scenarios SILO_E2E_SCENARIOS names ("all": every one).
func selected() map[string]bool {
	out := map[string]bool{}
	for _, n := range strings.Split(os.Getenv("SILO_E2E_SCENARIOS"), ",") {
		if n = strings.TrimSpace(n); n != "" {
			out[n] = true
		}
	}
	return out
}

// servesConsole fails t unless Silo serves the console's page at /console/
// under a Content-Security-Policy. A Silo that answers 404 there is one
// built before the console was served: the browser tests skip, saying so
// (the router's own tests check that the console is served).
func servesConsole(t *testing.T, base string) {
	t.Helper()
	res, err := http.Get(base + "/console/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode == http.StatusNotFound {
		t.Skip("browser tests not run: this Silo does not serve the console at /console/ (404)")
	}
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /console/ answered %d %q: Silo does not serve the console", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Fatalf("GET /console/ has no Content-Security-Policy with script-src 'self': %q", csp)
	}
}

// screenshotDir is where the scenarios save their screenshots: docs/console
// when SILO_E2E_SCREENSHOTS=docs (make console-screenshots), so that the
// committed pictures change only when asked; a temporary folder otherwise.
func screenshotDir(t *testing.T, root string) string {
	if os.Getenv("SILO_E2E_SCREENSHOTS") == "docs" {
		return filepath.Join(root, "docs", "console")
	}
	return t.TempDir()
}
