package testdb

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// MariaDB is a private MariaDB server that one test owns: it may stop and
// start it at will (outages) without disturbing the shared server. It runs
// from a fresh data directory under /tmp, listens on 127.0.0.1 on a free
// port, and root logs in over TCP without a password.
type MariaDB struct {
	tb      testing.TB // nil for StartPrivate's
	dir     string     // 0755, owned by the server's user; data/, sock, pid, error.log
	port    int
	mariadb string // the mariadbd binary
	cred    *syscall.Credential

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Server settings for a small, quick test server. --no-defaults keeps the
// machine's my.cnf (the shared server's port, socket, log files) out of it.
var mariadbSettings = []string{
	"--skip-name-resolve",
	"--innodb-buffer-pool-size=32M",
	"--innodb-log-file-size=8M",
}

// ErrNoMariaDB is returned by StartPrivate when mariadb-install-db or
// mariadbd is not installed, or (as root) there is no mysql user.
var ErrNoMariaDB = errors.New("testdb: a private MariaDB server needs mariadb-install-db and mariadbd (package mariadb-server; looked in PATH, /usr/sbin and /usr/bin) and, as root, the mysql system user")

// StartMariaDB starts a private MariaDB server for tb and stops and removes
// it when tb ends. It skips tb when mariadb-install-db or mariadbd is not
// installed. As root the server runs as the mysql user (mariadbd refuses to
// run as root).
func StartMariaDB(tb testing.TB) *MariaDB {
	tb.Helper()
	m, err := StartPrivate()
	if errors.Is(err, ErrNoMariaDB) {
		tb.Skip(err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	m.tb = tb
	tb.Cleanup(func() {
		if err := m.stop(); err != nil {
			tb.Errorf("testdb: stop mariadbd: %v", err)
		}
		if tb.Failed() {
			if tail := m.logTail(); tail != "" {
				tb.Logf("testdb: private mariadbd log (%s):\n%s", m.dir, tail)
			}
		}
		if err := m.Close(); err != nil {
			tb.Error(err)
		}
	})
	return m
}

// StartPrivate starts a private MariaDB server outside any test (the load
// tool's extra servers); the caller stops and removes it with Close. The
// server also dies with the process that started it (parent-death signal),
// but then its directory under /tmp stays.
func StartPrivate() (*MariaDB, error) {
	installDB := findBinary("mariadb-install-db")
	mariadbd := findBinary("mariadbd")
	if installDB == "" || mariadbd == "" {
		return nil, ErrNoMariaDB
	}
	m := &MariaDB{mariadb: mariadbd}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("mysql")
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNoMariaDB, err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		m.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	// Under /tmp with mode 0755, so that the mysql user can reach it (a
	// test's TempDir may sit below directories it cannot traverse).
	dir, err := os.MkdirTemp("/tmp", "silo-mariadb-")
	if err != nil {
		return nil, fmt.Errorf("testdb: %w", err)
	}
	m.dir = dir
	if err := m.prepare(installDB, mariadbd); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("testdb: %w", err)
	}
	// A free port may be taken between our probe and the server's bind:
	// the server then exits, and we try another.
	for attempt := 1; ; attempt++ {
		if m.port, err = freePort(); err != nil {
			_ = os.RemoveAll(dir)
			return nil, fmt.Errorf("testdb: find a free port: %w", err)
		}
		err := m.start()
		if err == nil {
			return m, nil
		}
		if attempt == 3 || !errors.Is(err, errExited) {
			err = fmt.Errorf("testdb: start mariadbd: %w\n%s", err, m.logTail())
			_ = os.RemoveAll(dir)
			return nil, err
		}
	}
}

// prepare fills m.dir: tmp/, and data/ copied from the template.
func (m *MariaDB) prepare(installDB, mariadbd string) error {
	if err := os.Chmod(m.dir, 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(filepath.Join(m.dir, "tmp"), 0o700); err != nil {
		return err
	}
	tmpl, err := mariadbTemplate(installDB, mariadbd, m.cred)
	if err != nil {
		return err
	}
	if err := copyTree(tmpl, m.dataDir()); err != nil {
		return fmt.Errorf("copy the template data directory: %w", err)
	}
	if err := m.chown(m.dir); err != nil {
		return fmt.Errorf("chown %s: %w", m.dir, err)
	}
	return nil
}

// DSN is root's DSN for the server, with no database selected.
func (m *MariaDB) DSN() string { return fmt.Sprintf("root@tcp(127.0.0.1:%d)/", m.port) }

// Dir is the server's directory under /tmp (data/, error.log, ...).
func (m *MariaDB) Dir() string { return m.dir }

// Port is the server's TCP port; it stays the same across Stop and Start.
func (m *MariaDB) Port() int { return m.port }

// Stop shuts the server down (SIGTERM to the pid in its pid file) and waits
// until it has exited and its port refuses connections. Clients see their
// connections dropped and new ones refused. Stop on a stopped server does
// nothing. Stop and Start are for the servers of StartMariaDB (they fail
// tb).
func (m *MariaDB) Stop() {
	m.tb.Helper()
	if err := m.stop(); err != nil {
		m.tb.Fatalf("testdb: stop mariadbd: %v\n%s", err, m.logTail())
	}
}

// Start starts the server again on the same data directory and port, and
// waits until it answers. Start on a running server does nothing.
func (m *MariaDB) Start() {
	m.tb.Helper()
	if err := m.start(); err != nil {
		m.tb.Fatalf("testdb: start mariadbd: %v\n%s", err, m.logTail())
	}
}

var errExited = errors.New("mariadbd exited")

func (m *MariaDB) start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd != nil {
		return nil
	}
	_ = os.Remove(filepath.Join(m.dir, "pid"))
	args := []string{
		"--no-defaults",
		"--datadir=" + m.dataDir(),
		"--port=" + strconv.Itoa(m.port),
		"--bind-address=127.0.0.1",
		"--socket=" + filepath.Join(m.dir, "sock"),
		"--pid-file=" + filepath.Join(m.dir, "pid"),
		"--log-error=" + filepath.Join(m.dir, "error.log"),
		// A server starting deletes every #sql* file in its tmpdir: in the
		// default /tmp those are the temporary tables of the shared server
		// (and of other private ones) in use, which then fail or crash
		// (signal 11 in ha_maria::drop_table). Each server has its own.
		"--tmpdir=" + filepath.Join(m.dir, "tmp"),
	}
	if m.cred != nil {
		args = append(args, "--user=mysql")
	}
	args = append(args, mariadbSettings...)
	out, err := os.OpenFile(filepath.Join(m.dir, "mariadbd.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := exec.Command(m.mariadb, args...)
	cmd.Dir = m.dir
	cmd.Stdout, cmd.Stderr = out, out
	// The server runs as the mysql user from the start (rather than
	// switching itself, which would clear the parent-death signal), so that
	// it dies with the test binary even when cleanups never run.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: m.cred, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	if err := m.waitReady(done, 60*time.Second); err != nil {
		_ = cmd.Process.Kill()
		<-done
		return err
	}
	m.cmd, m.done = cmd, done
	return nil
}

// waitReady polls until root can run a query, the server exits, or timeout.
func (m *MariaDB) waitReady(exited <-chan struct{}, timeout time.Duration) error {
	cfg := mysql.NewConfig()
	cfg.User = "root"
	cfg.Net = "tcp"
	cfg.Addr = "127.0.0.1:" + strconv.Itoa(m.port)
	cfg.Timeout = time.Second
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return err
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	db.SetMaxIdleConns(0)
	deadline := time.Now().Add(timeout)
	var last error
	for {
		select {
		case <-exited:
			return errExited
		default:
		}
		if c, err := net.DialTimeout("tcp", cfg.Addr, time.Second); err != nil {
			last = err
		} else {
			c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			last = db.PingContext(ctx)
			cancel()
			if last == nil {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not answering after %v: %v", timeout, last)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (m *MariaDB) stop() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return nil
	}
	// The pid file names the server, which is our child (mariadbd does not
	// fork); never signal another process should the two disagree.
	pid := m.cmd.Process.Pid
	if b, err := os.ReadFile(filepath.Join(m.dir, "pid")); err == nil {
		if p, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && p != pid {
			fmt.Fprintf(os.Stderr, "testdb: pid file says %d, but the server is process %d\n", p, pid)
		}
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(30 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.done
	}
	m.cmd, m.done = nil, nil
	// The server has exited, so its port refuses; make sure of it.
	addr := "127.0.0.1:" + strconv.Itoa(m.port)
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return nil
		}
		c.Close()
		if time.Now().After(deadline) {
			return fmt.Errorf("port %d still accepts connections after the server exited", m.port)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Close stops the server and removes its directory.
func (m *MariaDB) Close() error {
	if err := m.stop(); err != nil {
		return fmt.Errorf("testdb: stop mariadbd: %w", err)
	}
	if err := os.RemoveAll(m.dir); err != nil {
		return fmt.Errorf("testdb: remove %s: %w", m.dir, err)
	}
	return nil
}

func (m *MariaDB) dataDir() string { return filepath.Join(m.dir, "data") }

// templateMu keeps parallel tests of one binary from building the template
// twice; other test binaries may build it at the same time, harmlessly.
var templateMu sync.Mutex

// mariadbTemplate returns a data directory made by mariadb-install-db,
// which servers copy rather than run the slow install each (about 1.5 s
// against a 0.1 s copy). It is kept across test runs, keyed by the two
// binaries, the server settings and the server's user, under
// /tmp/silo-mariadb-template-KEY, created whole by a rename and never
// changed after: servers run on copies.
func mariadbTemplate(installDB, mariadbd string, cred *syscall.Credential) (string, error) {
	templateMu.Lock()
	defer templateMu.Unlock()
	h := sha256.New()
	for _, bin := range []string{installDB, mariadbd} {
		fi, err := os.Stat(bin)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d %d\n", bin, fi.Size(), fi.ModTime().UnixNano())
	}
	fmt.Fprintf(h, "%q uid %d %v\n", mariadbSettings, os.Geteuid(), cred)
	final := "/tmp/silo-mariadb-template-" + hex.EncodeToString(h.Sum(nil))[:16]
	const marker = "complete"
	if _, err := os.Stat(filepath.Join(final, marker)); err == nil {
		return filepath.Join(final, "data"), nil
	}

	tmp, err := os.MkdirTemp("/tmp", filepath.Base(final)+".tmp-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp) // if it was not renamed
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", err
	}
	// Its own tmpdir, for the reason in (*MariaDB).start.
	if err := os.Mkdir(filepath.Join(tmp, "tmp"), 0o700); err != nil {
		return "", err
	}
	args := []string{"--no-defaults", "--datadir=" + filepath.Join(tmp, "data"), "--auth-root-authentication-method=normal", "--skip-test-db",
		"--tmpdir=" + filepath.Join(tmp, "tmp")}
	if cred != nil {
		if err := os.Lchown(filepath.Join(tmp, "tmp"), int(cred.Uid), int(cred.Gid)); err != nil {
			return "", err
		}
		if err := os.Lchown(tmp, int(cred.Uid), int(cred.Gid)); err != nil {
			return "", err
		}
		args = append(args, "--user=mysql")
	}
	args = append(args, mariadbSettings...)
	install := exec.Command(installDB, args...)
	install.Dir = tmp
	if out, err := install.CombinedOutput(); err != nil {
		return "", fmt.Errorf("mariadb-install-db: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(tmp, marker), nil, 0o644); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, final); err != nil {
		// Another test binary won the race, or a broken template is in
		// the way (no marker): use theirs, or fail with advice.
		if _, serr := os.Stat(filepath.Join(final, marker)); serr != nil {
			return "", fmt.Errorf("install the template data directory as %s: %v (remove it if it is left over)", final, err)
		}
	}
	return filepath.Join(final, "data"), nil
}

// copyTree copies the directory src to dst (which must not exist), keeping
// permissions; the caller sets the owner.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.Mkdir(target, info.Mode().Perm())
		case info.Mode().IsRegular():
			return copyFile(path, target, info.Mode().Perm())
		default:
			return fmt.Errorf("%s: not a regular file or directory", path)
		}
	})
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// chown gives dir and everything in it to the server's user (as root).
func (m *MariaDB) chown(dir string) error {
	if m.cred == nil {
		return nil
	}
	return filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, int(m.cred.Uid), int(m.cred.Gid))
	})
}

// logTail returns the end of the server's error log and output.
func (m *MariaDB) logTail() string {
	var b bytes.Buffer
	for _, name := range []string{"error.log", "mariadbd.out"} {
		data, err := os.ReadFile(filepath.Join(m.dir, name))
		if err != nil || len(data) == 0 {
			continue
		}
		if len(data) > 4000 {
			data = data[len(data)-4000:]
		}
		fmt.Fprintf(&b, "--- %s ---\n%s\n", name, data)
	}
	return b.String()
}

// findBinary looks name up in PATH, then in the usual sbin/bin directories
// (a non-root PATH often lacks /usr/sbin, where mariadbd lives).
func findBinary(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, d := range []string{"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin", "/usr/local/mysql/bin"} {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
