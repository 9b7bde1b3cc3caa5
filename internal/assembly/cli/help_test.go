package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/spf13/cobra"

	"github.com/silo-dev/silo/internal/assembly/app"
	"github.com/silo-dev/silo/router"
)

// noEnv is an environment with nothing set: the commands tested here need
// no settings (and must not read a database).
func noEnv(string) string { return "" }

// runBare runs a command with no environment and no extensions.
func runBare(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return runExt(t, app.Extensions{}, args...)
}

func runExt(t *testing.T, ext app.Extensions, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := Run(context.Background(), ext, args, noEnv, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestVersion(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--version"}, {"version"}, {"-v"}} {
		out, _, err := runBare(t, args...)
		if err != nil || out != buildVersion() {
			t.Fatalf("silo %s: %v\n%q, want %q", args[0], err, out, buildVersion())
		}
		if !strings.HasPrefix(out, "silo ") || !strings.Contains(out, "\ncommit: ") || !strings.Contains(out, "\ngo: "+runtime.Version()+" ") {
			t.Fatalf("silo %s printed %q", args[0], out)
		}
	}
	if _, _, err := runBare(t, "version", "extra"); err == nil {
		t.Fatal("version accepted an argument")
	}
}

func TestDescribeBuild(t *testing.T) {
	t.Parallel()
	platform := runtime.GOOS + "/" + runtime.GOARCH
	for name, c := range map[string]struct {
		bi   *debug.BuildInfo
		want string
	}{
		"no build information": {nil, "silo (devel)\ncommit: unknown\ngo: " + runtime.Version() + " " + platform + "\n"},
		"a work tree with changes": {&debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: siloModule, Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0fce5bbcd025"}, {Key: "vcs.modified", Value: "true"}}},
			"silo (devel)\ncommit: 0fce5bbcd025 (with uncommitted changes)\ngo: go1.26.0 " + platform + "\n"},
		"a release": {&debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: siloModule, Version: "v1.4.0"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "false"}}},
			"silo v1.4.0\ncommit: abc\ngo: go1.26.0 " + platform + "\n"},
		"an application built on Silo": {&debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "example.com/notes", Version: "(devel)"},
			Deps: []*debug.Module{{Path: "github.com/gin-gonic/gin", Version: "v1.12.0"}, {Path: siloModule, Version: "v1.4.0"}}},
			"silo v1.4.0\napplication: example.com/notes (devel)\ncommit: unknown\ngo: go1.26.0 " + platform + "\n"},
	} {
		if got := describeBuild(c.bi); got != c.want {
			t.Errorf("%s: %q, want %q", name, got, c.want)
		}
	}
}

func TestCompletion(t *testing.T) {
	t.Parallel()
	for shell, want := range map[string]string{
		"bash": "# bash completion V2 for silo", "zsh": "#compdef silo", "fish": "complete -c silo",
	} {
		out, _, err := runBare(t, "completion", shell)
		if err != nil || !strings.Contains(out, want) || len(out) < 1000 {
			t.Fatalf("completion %s: %v\n%.300s", shell, err, out)
		}
	}
	// The completion script asks the binary, which completes commands.
	out, _, err := runBare(t, cobra.ShellCompNoDescRequestCmd, "ten")
	if err != nil || !strings.HasPrefix(out, "tenant\n") {
		t.Fatalf("completing \"ten\": %v\n%s", err, out)
	}
	out, _, err = runBare(t, cobra.ShellCompNoDescRequestCmd, "tenant", "domains", "")
	if err != nil || !strings.HasPrefix(out, "add\nremove\n") {
		t.Fatalf("completing \"tenant domains\": %v\n%s", err, out)
	}
}

// commandPaths lists every command of the tree as its arguments ("tenant",
// "domains", "add"), the root aside.
func commandPaths() [][]string {
	root := newRoot(&session{getenv: noEnv, con: console{in: strings.NewReader("")}, stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}})
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		for _, sub := range c.Commands() {
			if !sub.IsAvailableCommand() && sub.Name() != "help" {
				continue
			}
			p := append(append([]string{}, path...), sub.Name())
			paths = append(paths, p)
			walk(sub, p)
		}
	}
	walk(root, nil)
	return paths
}

// Every command's --help exits 0, shows its own flags, and names Silo's
// settings in one line instead of listing them; only the root lists them.
func TestHelpShowsOwnFlagsAndOneGlobalLine(t *testing.T) {
	t.Parallel()
	const settingsLine = "Global flags: Silo's settings (--central-dsn, --listen, …)"
	paths := commandPaths()
	if len(paths) < 30 {
		t.Fatalf("only %d commands: %v", len(paths), paths)
	}
	for _, p := range paths {
		out, errOut, err := runBare(t, append(p, "--help")...)
		name := strings.Join(p, " ")
		if err != nil || errOut != "" || !strings.Contains(out, "Usage:\n  silo "+name) {
			t.Fatalf("silo %s --help: %v\n%s%s", name, err, out, errOut)
		}
		for _, setting := range []string{"--bcrypt-cost", "--tenant-admin-dsn", "SILO_CENTRAL_DSN", "--central-dsn string"} {
			if strings.Contains(out, setting) {
				t.Fatalf("silo %s --help lists the setting %s:\n%s", name, setting, out)
			}
		}
		if readsSettings := !tools[p[0]]; readsSettings != strings.Contains(out, settingsLine) {
			t.Errorf("silo %s --help: the settings line should be there: %v\n%s", name, readsSettings, out)
		}
	}
	out, _, err := runBare(t, "tenant", "create", "-h")
	flags := strings.Index(out, "\nFlags:\n")
	if err != nil || flags < 0 || flags > strings.Index(out, settingsLine) || !strings.Contains(out[flags:], "--slug SLUG") || !strings.Contains(out[flags:], "--admin-email EMAIL") {
		t.Fatalf("tenant create -h:\n%s", out)
	}
	out, _, err = runBare(t, "--help")
	if err != nil || !strings.Contains(out, "\nGlobal flags (Silo's settings") || !strings.Contains(out, "--bcrypt-cost string") ||
		!strings.Contains(out, "($SILO_CENTRAL_DSN)") {
		t.Fatalf("silo --help:\n%s", out)
	}
}

// topLevelCommands reads the commands "silo --help" lists: each name with
// its subcommands ("tenant", "create|delete|…").
func topLevelCommands(t *testing.T) map[string][]string {
	t.Helper()
	out, _, err := runBare(t, "--help")
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`^  ([a-z-]+)(?: ([a-z|-]+))?(?: [a-z|-]+)?(?:  |$)`)
	got := map[string][]string{}
	for _, l := range strings.Split(out, "\n") {
		if m := line.FindStringSubmatch(l); m != nil {
			got[m[1]] = nil
			if m[2] != "" {
				got[m[1]] = strings.Split(m[2], "|")
			}
		}
	}
	return got
}

// Every command of the top-level help is listed there, and the README's
// Commands section mentions it (and each of its subcommands).
func TestREADMEListsEveryCommand(t *testing.T) {
	t.Parallel()
	cmds := topLevelCommands(t)
	for _, p := range commandPaths() {
		if _, ok := cmds[p[0]]; !ok {
			t.Errorf("silo --help does not list %s", p[0])
		}
	}
	if subs := cmds["tenant"]; len(subs) < 10 || cmds["migrate"] == nil {
		t.Fatalf("read from silo --help: %v", cmds)
	}
	b, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Commands\n")
	if !ok {
		t.Fatal("README has no Commands section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	lines := strings.Split(section, "\n")
	word := func(w string) *regexp.Regexp {
		return regexp.MustCompile(`(^|[^a-z-])` + regexp.QuoteMeta(w) + `($|[^a-z-])`)
	}
	for name, subs := range cmds {
		if name == "help" {
			continue
		}
		prefix := "silo " + name
		if !strings.Contains(section, "`"+prefix) {
			t.Errorf("README's Commands section does not mention %s", prefix)
			continue
		}
		for _, sub := range subs {
			found := false
			for _, l := range lines {
				if strings.Contains(l, prefix) && word(sub).MatchString(strings.SplitN(l, prefix, 2)[1]) {
					found = true
				}
			}
			if !found {
				t.Errorf("README's Commands section has no line with %s and %s", prefix, sub)
			}
		}
	}
}

func TestOpenAPINeedsNoSettings(t *testing.T) {
	t.Parallel()
	paths := func(t *testing.T, doc string) map[string]any {
		t.Helper()
		var v struct {
			OpenAPI string         `json:"openapi"`
			Paths   map[string]any `json:"paths"`
		}
		if err := json.Unmarshal([]byte(doc), &v); err != nil || v.OpenAPI != "3.1.0" {
			t.Fatalf("not an OpenAPI document (%v):\n%.300s", err, doc)
		}
		return v.Paths
	}
	out, _, err := runBare(t, "openapi")
	if err != nil {
		t.Fatalf("openapi with no settings: %v", err)
	}
	got := paths(t, out)
	for _, p := range []string{"/api/central/tenants", "/api/central/admins/{id}", "/api/collections/{collection}/records/{id}", "/api/users"} {
		if got[p] == nil {
			t.Errorf("the document lacks %s", p)
		}
	}
	if string(router.OpenAPIDocument(nil)) == strings.TrimSpace(out) {
		t.Fatal("the document lacks the record store's routes")
	}

	// An application's routes are in it; --output writes the same to a file.
	ext := app.Extensions{Routes: []router.TenantRoute{{Method: "GET", Path: "/notes/:id", Permission: "data:read", Handler: func(*gin.Context) {}}}}
	file := filepath.Join(t.TempDir(), "openapi.json")
	if _, _, err := runExt(t, ext, "openapi", "--output", file); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	op, _ := paths(t, string(b))["/api/notes/{id}"].(map[string]any)
	if get, _ := op["get"].(map[string]any); get["x-permission"] != "data:read" {
		t.Fatalf("the application's route: %v", op)
	}
	// The older single-dash spelling of a flag still works.
	if _, _, err := runExt(t, ext, "openapi", "-output", file+"2"); err != nil {
		t.Fatal(err)
	}
	if b2, err := os.ReadFile(file + "2"); err != nil || !bytes.Equal(b, b2) {
		t.Fatalf("openapi -output: %v", err)
	}
}

// A broken configuration does not stop the commands that read none.
func TestToolsIgnoreBrokenSettings(t *testing.T) {
	t.Parallel()
	env := map[string]string{"SILO_ENV": "production", "SILO_LISTEN": "nope", "SILO_CENTRAL_DSN": "not a dsn"}
	for _, args := range [][]string{{"openapi"}, {"version"}, {"completion", "bash"}, {"tenant", "--help"}} {
		var out bytes.Buffer
		if err := Run(context.Background(), app.Extensions{}, args, getenvFrom(env), strings.NewReader(""), &out, &out); err != nil || out.Len() == 0 {
			t.Errorf("silo %s: %v", strings.Join(args, " "), err)
		}
	}
}

func TestUsageErrorsReadAsSentences(t *testing.T) {
	t.Parallel()
	for args, want := range map[string]string{
		"tenant get":                           "missing SLUG; usage: silo tenant get SLUG [flags]",
		"tenant get a b":                       `unexpected argument "b"; usage: silo tenant get SLUG [flags]`,
		"tenant domains add acme":              "missing DOMAIN; usage: silo tenant domains add SLUG DOMAIN... [flags]",
		"tenant rename acme":                   "missing --name; usage: silo tenant rename SLUG --name NAME [flags]",
		"admin set a@example.com":              "nothing to change: give --role, --active, --first-name or --last-name",
		"tenan":                                `unknown command "tenan" for silo (did you mean tenant?); "silo --help" lists the commands`,
		"tenant frob":                          `unknown command "frob" for silo tenant; usage: silo tenant create|delete|domains|get|`,
		"migrate tenants up --concurrency 1.5": `--concurrency must be a whole number, not "1.5" (see "silo migrate tenants up --help")`,
		"migrate tenants up alpha":             `unexpected argument "alpha"; usage: silo migrate tenants up [flags] (select tenants with --tenant a,b)`,
		"tenant create --bogus":                `unknown flag: --bogus (see "silo tenant create --help")`,
		"migrate tenants down --yes":           "migrate tenants down needs --to VERSION (at least 1) and --tenant SLUG[,SLUG...]",
		"migrate tenants down --to 0 --tenant acme --yes": "migrate tenants down needs --to VERSION",
	} {
		out, errOut, err := runBare(t, strings.Fields(args)...)
		if _, ok := err.(usageError); !ok || !strings.Contains(err.Error(), want) {
			t.Errorf("silo %s: %v, want a usage error with %q", args, err, want)
		}
		if out != "" || errOut != "" {
			t.Errorf("silo %s printed %q %q", args, out, errOut)
		}
	}
	// No command: the usage goes to stderr.
	out, errOut, err := runBare(t)
	if _, ok := err.(usageError); !ok || out != "" || !strings.Contains(errOut, "Usage:\n  silo <command> [flags]") {
		t.Fatalf("silo: %v\n%q\n%q", err, out, errOut)
	}
}
