package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptrace"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/internal/testsupport/testdb"
	"github.com/silo-dev/silo/migrations"
)

// testEnv is the environment of one silo process in a test: its own central
// database, cheap bcrypt, a private secrets file.
func testEnv(t *testing.T) map[string]string {
	t.Helper()
	return testdb.Settings(t, map[string]string{
		"SILO_BCRYPT_COST":      "4",
		"SILO_LISTEN":           "127.0.0.1:0",
		"SILO_DEV_SECRETS_FILE": filepath.Join(t.TempDir(), "secrets.json"),
		"SILO_LOG_LEVEL":        "warn",
		"SILO_SPARE_POOL_SIZE":  "0",
	})
}

func getenvFrom(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// runCmd runs one silo command to completion.
func runCmd(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, getenvFrom(env), strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), err
}

// startServe runs "silo serve" until the test ends and returns its base URL
// and a function that stops it and returns run's result.
func startServe(t *testing.T, env map[string]string) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan struct{})
	var runErr error
	go func() {
		runErr = run(ctx, []string{"serve"}, getenvFrom(env), strings.NewReader(""), pw, io.Discard)
		pw.Close()
		close(done)
	}()
	lines := bufio.NewScanner(pr)
	var url, consoleLine string
	for lines.Scan() {
		if u, ok := strings.CutPrefix(lines.Text(), "listening on "); ok {
			url = u
			lines.Scan()
			consoleLine = lines.Text()
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if url == "" {
		cancel()
		<-done
		t.Fatalf("serve did not start: %v", runErr)
	}
	if want := "admin console: " + url + "/console/"; url != "" && consoleLine != want {
		t.Errorf("serve printed %q after its address, want %q", consoleLine, want)
	}
	stop := func() error {
		cancel()
		select {
		case <-done:
			return runErr
		case <-time.After(30 * time.Second):
			t.Fatal("serve did not stop")
			return nil
		}
	}
	t.Cleanup(func() { cancel(); <-done })
	// Poll /healthz as a user would.
	for i := 0; i < 50; i++ {
		if res, err := http.Get(url + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return url, stop
}

func postJSON(t *testing.T, url string, body any, bearer string) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// The README's walk-through: create a central admin, serve, log in, call me.
func TestWalkthrough(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	admin := map[string]string{"EMAIL": "Ada@Example.com", "PASSWORD": "correct horse battery", "FIRST_NAME": "Ada", "LAST_NAME": "Lovelace", "ROLE": "superadmin"}
	for k, v := range admin {
		env[k] = v
	}
	out, _, err := runCmd(t, env, "create-central-admin")
	if err != nil || !strings.Contains(out, "Created superadmin ada@example.com") {
		t.Fatalf("create-central-admin: %v; %s", err, out)
	}
	t.Run("DuplicateIsAnError", func(t *testing.T) {
		env2 := map[string]string{}
		for k, v := range env {
			env2[k] = v
		}
		env2["EMAIL"] = "ADA@example.com"
		_, _, err := runCmd(t, env2, "create-central-admin")
		if err == nil || err.Error() != "User already exists" {
			t.Fatalf("duplicate: err = %v", err)
		}
	})

	url, stop := startServe(t, env)
	status, sess := postJSON(t, url+"/api/central/auth/login", map[string]string{"email": "ada@example.com", "password": "correct horse battery"}, "")
	if status != 200 {
		t.Fatalf("login: %d %v", status, sess)
	}
	req, _ := http.NewRequest("GET", url+"/api/central/auth/me", nil)
	req.Header.Set("Authorization", "Bearer "+sess["access_token"].(string))
	status, me := do(t, req)
	if status != 200 || me["user"].(map[string]any)["role"] != "superadmin" {
		t.Fatalf("me: %d %v", status, me)
	}
	// The console is where / sends a browser.
	res, err := http.Get(url + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Request.URL.Path != "/console/" || res.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /: %d %s at %s", res.StatusCode, res.Header.Get("Content-Type"), res.Request.URL)
	}
	// Registration is closed now that an admin exists.
	status, _ = postJSON(t, url+"/api/central/auth/register", map[string]string{"email": "x@example.com", "password": "correct horse battery", "firstName": "X", "lastName": "Y"}, "")
	if status != 401 {
		t.Fatalf("register after bootstrap without token: %d", status)
	}
	if err := stop(); err != nil {
		t.Fatalf("serve returned %v after shutdown", err)
	}
}

// Shutdown drains requests already in flight before returning.
func TestServeDrainsInFlight(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	env["SILO_BCRYPT_COST"] = "12"      // a login takes a few hundred ms
	env["SILO_SHUTDOWN_TIMEOUT"] = "2m" // room for it on a loaded machine under -race
	url, stop := startServe(t, env)
	type result struct {
		status int
		err    error
	}
	got := make(chan result, 1)
	wrote := make(chan struct{})
	go func() {
		b := `{"email":"nobody@example.com","password":"whatever-password"}`
		trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { close(wrote) }}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace),
			"POST", url+"/api/central/auth/login", strings.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			got <- result{err: err}
			return
		}
		res.Body.Close()
		got <- result{status: res.StatusCode}
	}()
	// The login is on its connection; a later connection's answer means the
	// server has accepted that one too (in order), and a connection younger
	// than 5 s is not closed as idle by the shutdown: it is served.
	<-wrote
	if res, err := http.Get(url + "/healthz"); err != nil {
		t.Fatal(err)
	} else {
		res.Body.Close()
	}
	if err := stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	r := <-got
	if r.err != nil || r.status != 401 {
		t.Fatalf("in-flight login: status %d err %v, want a complete 401", r.status, r.err)
	}
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Fatal("server still answers after shutdown")
	}
}

func TestCreateCentralAdminErrors(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	t.Run("MissingVariables", func(t *testing.T) {
		e := map[string]string{"EMAIL": "a@example.com"}
		for k, v := range env {
			e[k] = v
		}
		_, _, err := runCmd(t, e, "create-central-admin")
		if err == nil || !strings.Contains(err.Error(), "PASSWORD, FIRST_NAME, LAST_NAME, ROLE") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("InvalidValues", func(t *testing.T) {
		e := map[string]string{"EMAIL": "nope", "PASSWORD": "short", "FIRST_NAME": "A", "LAST_NAME": "B", "ROLE": "root"}
		for k, v := range env {
			e[k] = v
		}
		_, _, err := runCmd(t, e, "create-central-admin")
		for _, want := range []string{"EMAIL must be a valid email address", "PASSWORD must be at least 10 characters", "ROLE must be admin or superadmin"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v, want it to mention %q", err, want)
			}
		}
	})
}

func TestConfigErrorsListed(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"SILO_ENV": "production", "SILO_LISTEN": "nope", "SILO_BCRYPT_COST": "99",
	}
	_, _, err := runCmd(t, env, "serve")
	if err == nil {
		t.Fatal("serve started with a broken configuration")
	}
	for _, want := range []string{"SILO_LISTEN", "SILO_BCRYPT_COST", "SILO_JWT_SECRET", "SILO_MASTER_KEY"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
	t.Run("FlagOverridesEnv", func(t *testing.T) {
		_, _, err := runCmd(t, env, "serve", "--listen", "127.0.0.1:0", "--bcrypt-cost", "12")
		if err == nil || strings.Contains(err.Error(), "SILO_LISTEN") || strings.Contains(err.Error(), "SILO_BCRYPT_COST") {
			t.Fatalf("flags did not override the environment: %v", err)
		}
	})
	t.Run("UnknownCommand", func(t *testing.T) {
		_, _, err := runCmd(t, env, "frobnicate")
		if _, ok := err.(usageError); !ok {
			t.Fatalf("err = %v, want a usage error", err)
		}
	})
}

func TestMigrateCentral(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	names, err := fs.Glob(migrations.Central(), "*.sql")
	if err != nil || len(names) < 2 {
		t.Fatalf("central migrations: %v %v", names, err)
	}
	n, latest := len(names), names[len(names)-1]
	// status neither creates the database nor migrates it.
	if _, _, err := runCmd(t, env, "migrate", "central", "status"); !errors.Is(err, central.ErrNoDatabase) {
		t.Fatalf("status on a missing database: %v", err)
	}
	out, _, err := runCmd(t, env, "migrate", "central", "up")
	if err != nil || !strings.Contains(out, "applied 00001_create_users.sql") {
		t.Fatalf("up: %v\n%s", err, out)
	}
	out, _, err = runCmd(t, env, "migrate", "central", "up")
	if err != nil || !strings.Contains(out, "already at the latest version") {
		t.Fatalf("second up: %v\n%s", err, out)
	}
	out, _, err = runCmd(t, env, "migrate", "central", "down")
	if err != nil || !strings.Contains(out, "rolled back "+latest) {
		t.Fatalf("down: %v\n%s", err, out)
	}
	out, _, err = runCmd(t, env, "migrate", "central", "status")
	if err != nil || strings.Count(out, "applied") != n-1 || strings.Count(out, "pending") != 1 {
		t.Fatalf("status after down: %v\n%s", err, out)
	}
	if _, _, err := runCmd(t, env, "migrate", "central", "sideways"); err == nil {
		t.Fatal("unknown action accepted")
	}
}

// The address serve prints for people is one this machine reaches.
func TestReachable(t *testing.T) {
	for listen, want := range map[string]string{":8080": "127.0.0.1:8080", "0.0.0.0:80": "127.0.0.1:80", "[::]:8443": "127.0.0.1:8443",
		"127.0.0.1:9": "127.0.0.1:9", "10.1.2.3:8080": "10.1.2.3:8080", "[::1]:8080": "[::1]:8080"} {
		if got := reachable(listen); got != want {
			t.Errorf("reachable(%q) = %q, want %q", listen, got, want)
		}
	}
}
