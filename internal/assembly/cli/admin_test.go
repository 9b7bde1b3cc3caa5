package cli

import (
	"context"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// screen collects what the program writes to a pseudo-terminal.
type screen struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// waitFor waits until the screen shows want n times in all.
func (s *screen) waitFor(t *testing.T, want string, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(s.String(), want) < n {
		if time.Now().After(deadline) {
			t.Fatalf("terminal never showed %q (×%d); screen:\n%s", want, n, s.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// On a terminal, create-central-admin prompts for every field, hides the
// password, and asks again when the confirmation does not match.
func TestCreateCentralAdminInteractive(t *testing.T) {
	t.Parallel()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	var scr screen
	go io.Copy(&scr, ptmx)

	env := testEnv(t)
	done := make(chan error, 1)
	go func() {
		done <- run(context.Background(), []string{"create-central-admin"}, getenvFrom(env), tty, tty, io.Discard)
	}()
	const secret = "Tr0ub4dor&3-horse"
	answer := func(prompt, text string, n int) {
		t.Helper()
		scr.waitFor(t, prompt, n)
		if strings.HasSuffix(prompt, "password: ") || strings.HasPrefix(prompt, "Password (") {
			waitNoEcho(t, tty) // the prompt is printed just before echo goes off
		}
		if _, err := ptmx.Write([]byte(text + "\n")); err != nil {
			t.Fatal(err)
		}
	}
	answer("Email: ", "grace@example.com", 1)
	answer("First name: ", "Grace", 1)
	answer("Last name: ", "Hopper", 1)
	answer("Role (superadmin/admin) [superadmin]: ", "", 1)
	answer("Password (at least 10 characters): ", secret, 1)
	answer("Confirm password: ", secret+"-typo", 1)
	answer("Passwords do not match", "", 1)
	answer("Password (at least 10 characters): ", secret, 2)
	answer("Confirm password: ", secret, 2)

	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("create-central-admin: %v\nscreen:\n%s", err, scr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("create-central-admin did not finish; screen:\n%s", scr.String())
	}
	scr.waitFor(t, "Created superadmin grace@example.com", 1)
	if strings.Contains(scr.String(), "Tr0ub4dor") {
		t.Fatalf("the password was echoed:\n%s", scr.String())
	}
	// The admin can log in with the password typed at the prompt.
	url, _ := startServe(t, env)
	if status, body := postJSON(t, url+"/api/central/auth/login", map[string]string{"email": "grace@example.com", "password": secret}, ""); status != 200 {
		t.Fatalf("login: %d %v", status, body)
	}
}

// With the variables set, a terminal is not prompted: the README's
// walk-through runs the environment method from a shell.
func TestCreateCentralAdminEnvOnTerminal(t *testing.T) {
	t.Parallel()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	go io.Copy(io.Discard, ptmx)
	env := testEnv(t)
	for k, v := range map[string]string{"EMAIL": "env@example.com", "PASSWORD": "correct horse battery", "FIRST_NAME": "E", "LAST_NAME": "V", "ROLE": "admin"} {
		env[k] = v
	}
	var out strings.Builder
	done := make(chan error, 1)
	go func() {
		done <- run(context.Background(), []string{"create-central-admin"}, getenvFrom(env), tty, &out, io.Discard)
	}()
	select {
	case err := <-done:
		if err != nil || !strings.Contains(out.String(), "Created admin env@example.com") {
			t.Fatalf("err %v, out %q", err, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("create-central-admin prompted although the variables were set")
	}
}

// waitNoEcho waits until the terminal tty no longer echoes what is typed.
func waitNoEcho(t *testing.T, tty *os.File) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		if st.Lflag&unix.ECHO == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the terminal still echoes at the password prompt")
		}
		time.Sleep(time.Millisecond)
	}
}
