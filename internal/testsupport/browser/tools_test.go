package browser_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tools are the programs the scenarios run with.
type tools struct {
	node     string
	chromium string
	dir      string // e2e/, with node_modules installed
}

// unavailable ends t when a tool the browser tests need is missing: a
// failure under CI=true, which must run them, and a skip elsewhere.
func unavailable(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := "browser tests not run: " + fmt.Sprintf(format, args...)
	if ci := os.Getenv("CI"); ci != "" && ci != "false" && ci != "0" {
		t.Fatal(msg + " (CI is set, so this fails; .ci/run installs chromium)")
	}
	t.Skip(msg)
}

// findTools finds chromium and node and installs the scenarios' packages
// when they are not installed yet (or not the pinned versions).
func findTools(t *testing.T) tools {
	t.Helper()
	chromium := os.Getenv("SILO_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if st, err := os.Stat(chromium); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		unavailable(t, "no chromium at %s (apt-get install -y chromium, or set SILO_CHROMIUM)", chromium)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		unavailable(t, "node is not installed (Node.js 20 or later with npm)")
	}
	check := exec.Command(node, "-e", `process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)`)
	if out, err := check.CombinedOutput(); err != nil {
		unavailable(t, "node is older than 20 (%v %s)", err, out)
	}
	dir, err := filepath.Abs("e2e")
	if err != nil {
		t.Fatal(err)
	}
	install(t, dir)
	return tools{node: node, chromium: chromium, dir: dir}
}

// install runs npm ci in dir unless node_modules holds the pinned
// playwright-core already.
func install(t *testing.T, dir string) {
	t.Helper()
	want, err := pinned(filepath.Join(dir, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	if have, err := pinned(filepath.Join(dir, "node_modules", "playwright-core", "package.json")); err == nil && have == want {
		return
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		unavailable(t, "npm is not installed (it installs playwright-core %s into %s)", want, dir)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "npm_config_update_notifier=false", "npm_config_fetch_retries=1", "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		unavailable(t, "npm ci in %s failed (%v): %s", dir, err, strings.TrimSpace(string(out)))
	}
	t.Logf("npm ci: playwright-core %s installed in %s", want, time.Since(start).Round(time.Millisecond))
}

// pinned is the version of playwright-core a package.json pins (in
// e2e/package.json) or is (in node_modules).
func pinned(path string) (string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var p struct {
		Name         string            `json:"name"`
		Version      string            `json:"version"`
		Dependencies map[string]string `json:"dependencies"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if p.Name == "playwright-core" {
		return p.Version, nil
	}
	if v := p.Dependencies["playwright-core"]; v != "" {
		return v, nil
	}
	return "", fmt.Errorf("%s does not name playwright-core", path)
}
