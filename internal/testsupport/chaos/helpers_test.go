//go:build chaos

// Package chaos holds Silo's fault tests: the real silo binary against a
// private MariaDB server that the tests stop, start and outlive, and a silo
// process that they SIGKILL mid-work. They sit behind the chaos build tag:
//
//	go test -race -count=1 -tags chaos ./internal/testsupport/chaos/
package chaos

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/silo-dev/silo/internal/testsupport/testdb"
	"github.com/silo-dev/silo/internal/testsupport/testsilo"
)

const (
	password  = testsilo.Password
	jwtSecret = "Y2hhb3Mtand0LXNlY3JldC1jaGFvcy1qd3Qtc2VjcmV0LTAxMjM0NTY3ODk=" // standard base64, as Silo reads it
	// masterKey is fixed so that a restarted silo can decrypt the tenant
	// DB passwords its predecessor stored.
	masterKey = "wP/uwP/uwP/uwP/uwP/uwP/uwP/uwP/uwP/uwP/uwP8="
	// centralDB is the central database on the test's private server.
	centralDB = "silo_chaos_central"
	// prefix is the tenant database and DB user name prefix.
	prefix = "chaos_"
)

var (
	buildOnce sync.Once
	buildDir  string
	siloBin   string
	buildErr  error
	buildTook time.Duration
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// siloBinary builds cmd/silo once per test run, with the race detector when
// the tests run with it, and returns its path.
func siloBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		start := time.Now()
		buildDir, buildErr = os.MkdirTemp("", "silo-chaos-bin-")
		if buildErr != nil {
			return
		}
		goBin, err := exec.LookPath("go")
		if err != nil {
			goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		siloBin = filepath.Join(buildDir, "silo")
		args := []string{"build"}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, "-o", siloBin, "github.com/silo-dev/silo/cmd/silo")
		out, err := exec.Command(goBin, args...).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		buildTook = time.Since(start)
		if buildErr == nil {
			t.Logf("silo binary (race detector: %v) built in %v", raceEnabled, buildTook.Round(time.Millisecond))
		}
	})
	if buildErr != nil {
		t.Fatalf("build silo: %v", buildErr)
	}
	return siloBin
}

// siloEnv is the environment of one silo process on the private server m:
// the process's own environment without any SILO_* setting, plus env.
func siloEnv(t *testing.T, m *testdb.MariaDB, extra map[string]string) map[string]string {
	env := map[string]string{
		"SILO_CENTRAL_DSN":       fmt.Sprintf("root@tcp(127.0.0.1:%d)/%s", m.Port(), centralDB),
		"SILO_TENANT_DB_PREFIX":  prefix,
		"SILO_LISTEN":            "127.0.0.1:0",
		"SILO_JWT_SECRET":        jwtSecret,
		"SILO_MASTER_KEY":        masterKey,
		"SILO_BCRYPT_COST":       "4",
		"SILO_LOGIN_IP_LIMIT":    "100000",
		"SILO_LOGIN_EMAIL_LIMIT": "100000",
		"SILO_LOG_LEVEL":         "warn",
		"SILO_DEV_SECRETS_FILE":  filepath.Join(t.TempDir(), "secrets.json"),
	}
	// The tests sign members up freely.
	env["SILO_SIGNUP_TENANT_LIMIT"], env["SILO_DEFAULT_PUBLIC_SIGNUP"] = "1000000", "true"
	for k, v := range extra {
		env[k] = v
	}
	return env
}

func environ(env map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SILO_") {
			out = append(out, kv)
		}
	}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// siloProc is one running "silo serve" process.
type siloProc struct {
	t       *testing.T
	name    string
	cmd     *exec.Cmd
	url     string
	logPath string
	done    chan struct{} // closed when the process has exited
	waitErr error
}

// startSilo starts "silo serve" with env and waits until it listens. It
// stops it (SIGTERM, then SIGKILL) when the test ends, and fails the test
// if the race detector reported anything in its log.
func startSilo(t *testing.T, name string, env map[string]string) *siloProc {
	t.Helper()
	p := &siloProc{t: t, name: name, logPath: filepath.Join(t.TempDir(), name+".log"), done: make(chan struct{})}
	logf, err := os.Create(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	p.cmd = exec.Command(siloBinary(t), "serve")
	p.cmd.Env = environ(env)
	p.cmd.Stdout = pw
	p.cmd.Stderr = logf
	// Dies with the test binary even if cleanups never run.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start silo: %v", err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		pw.Close()
		logf.Close()
		close(p.done)
	}()
	urls := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(pr)
		for lines.Scan() {
			if u, ok := strings.CutPrefix(lines.Text(), "listening on "); ok {
				select {
				case urls <- u:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	t.Cleanup(p.cleanup)
	select {
	case p.url = <-urls:
	case <-p.done:
		t.Fatalf("silo %s exited before listening: %v\n%s", name, p.waitErr, p.logTail())
	case <-time.After(2 * time.Minute):
		t.Fatalf("silo %s did not listen within 2 minutes\n%s", name, p.logTail())
	}
	t.Logf("silo %s (pid %d) listening on %s after %v", name, p.cmd.Process.Pid, p.url, time.Since(start).Round(time.Millisecond))
	return p
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *siloProc) kill() {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.t.Fatalf("silo %s did not die of SIGKILL", p.name)
	}
}

// stop sends SIGTERM and returns the process's exit error.
func (p *siloProc) stop() error {
	select {
	case <-p.done:
		return p.waitErr
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.waitErr
	case <-time.After(40 * time.Second):
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
		return fmt.Errorf("silo %s did not stop within 40s of SIGTERM", p.name)
	}
}

func (p *siloProc) cleanup() {
	if err := p.stop(); err != nil && !p.killed() {
		p.t.Errorf("silo %s: %v", p.name, err)
	}
	log, _ := os.ReadFile(p.logPath)
	if bytes.Contains(log, []byte("WARNING: DATA RACE")) {
		p.t.Errorf("silo %s: the race detector reported a data race:\n%s", p.name, raceReport(log))
	}
	if p.t.Failed() {
		p.t.Logf("silo %s log tail (%s):\n%s", p.name, p.logPath, p.logTail())
	}
}

// killed reports whether the process died of SIGKILL.
func (p *siloProc) killed() bool {
	if p.cmd.ProcessState == nil {
		return false
	}
	ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

func raceReport(log []byte) string {
	i := bytes.Index(log, []byte("WARNING: DATA RACE"))
	end := min(len(log), i+8000)
	return string(log[max(0, i-200):end])
}

func (p *siloProc) logTail() string {
	b, _ := os.ReadFile(p.logPath)
	if len(b) > 6000 {
		b = b[len(b)-6000:]
	}
	return string(b)
}

// runSilo runs one silo command to completion (not serve).
func runSilo(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, siloBinary(t), args...)
	cmd.Env = environ(env)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// answer is one HTTP exchange as a client saw it: the answer (zero on a
// transport error) and when it was sent and answered.
type answer struct {
	testsilo.Response
	err        error // transport error: no answer at all
	start, end time.Time
}

func (a answer) latency() time.Duration { return a.end.Sub(a.start) }

func (a answer) ok() bool { return a.err == nil && a.Status >= 200 && a.Status < 300 }

func (a answer) String() string {
	if a.err != nil {
		return fmt.Sprintf("no answer after %v: %v", a.latency().Round(time.Millisecond), a.err)
	}
	raw := string(a.Raw)
	if len(raw) > 300 {
		raw = raw[:300] + "…"
	}
	return fmt.Sprintf("%d %s after %v: %s", a.Status, a.Code(), a.latency().Round(time.Millisecond), raw)
}

func (a answer) str(path ...string) string {
	var v any = a.JSON
	for _, k := range path {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	s, _ := v.(string)
	return s
}

// client talks to one silo over HTTP.
type client struct{ testsilo.Client }

func newClient(base string, timeout time.Duration, conns int) *client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = conns
	tr.MaxIdleConnsPerHost = conns
	return &client{testsilo.Client{URL: base, HTTP: &http.Client{Timeout: timeout, Transport: tr}}}
}

// do sends one request; tenant sets x-tenant-id, bearer the Authorization.
func (c *client) do(method, path, tenant, bearer string, body any) answer {
	a := answer{start: time.Now()}
	r, err := c.Send(testsilo.Request{Method: method, Path: path, Tenant: tenant, Token: bearer, Body: body})
	a.end = time.Now()
	if err != nil {
		a.err = err
		return a
	}
	a.Response = *r
	return a
}

// must fails the test unless a has the status and, for an error, the
// error envelope.
func must(t *testing.T, what string, a answer, status int) answer {
	t.Helper()
	if a.err != nil {
		t.Fatalf("%s: want %d, got %s", what, status, a)
	}
	if err := a.Check(status, ""); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return a
}

// openServer connects as root to the private server with database db
// selected ("" for none).
func openServer(t *testing.T, m *testdb.MariaDB, db string) *sql.DB {
	t.Helper()
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr, cfg.DBName = "root", "tcp", fmt.Sprintf("127.0.0.1:%d", m.Port()), db
	cfg.Timeout = 5 * time.Second
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sdb := sql.OpenDB(conn)
	t.Cleanup(func() { sdb.Close() })
	return sdb
}

// catalogRow is a tenant as the central catalog records it.
type catalogRow struct {
	slug, status, step, database, user string
}

// catalog reads every tenant of the catalog, by slug.
func catalog(t *testing.T, central *sql.DB) map[string]catalogRow {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rows, err := central.QueryContext(ctx, "SELECT slug, status, step, database_name, db_user FROM tenants")
	if err != nil {
		t.Fatalf("read the catalog: %v", err)
	}
	defer rows.Close()
	out := map[string]catalogRow{}
	for rows.Next() {
		var r catalogRow
		if err := rows.Scan(&r.slug, &r.status, &r.step, &r.database, &r.user); err != nil {
			t.Fatal(err)
		}
		out[r.slug] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// summary counts catalog rows by "status/step".
func summary(rows map[string]catalogRow) string {
	counts := map[string]int{}
	for _, r := range rows {
		counts[r.status+"/"+r.step]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, counts[k]))
	}
	return strings.Join(parts, " ")
}

// percentile returns the p-th percentile (0-100) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}

// parallel runs fn for every item, n at a time, and fails the test with
// every error.
func parallel(t *testing.T, n int, items []string, fn func(string) error) {
	t.Helper()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []string
	)
	sem := make(chan struct{}, n)
	for _, item := range items {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(item); err != nil {
				mu.Lock()
				errs = append(errs, err.Error())
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d failed:\n%s", len(errs), strings.Join(errs, "\n"))
	}
}
