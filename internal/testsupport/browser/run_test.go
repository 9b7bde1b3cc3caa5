package browser_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// askPrefix starts a line a scenario prints to ask the test for a hook
// (ask in e2e/lib.mjs); the test answers on the scenario's stdin with "ok"
// or "error: …".
const askPrefix = "@@silo-e2e ask "

// runScenario runs e2e/<sc.name>.mjs with vars in its environment,
// answering what it asks with sc.hooks, and fails t unless it passes; its
// output (each step, timed) goes to the test log.
func runScenario(t *testing.T, tl tools, sc scenario, s *site, vars map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tl.node, sc.name+".mjs")
	cmd.Dir = tl.dir
	cmd.Env = os.Environ()
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.WaitDelay = 10 * time.Second
	var out lockedBuffer
	cmd.Stderr = &out
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	answer(stdout, stdin, &out, func(what string) error { return hook(sc, s, what) })
	err = cmd.Wait()
	took := time.Since(start).Round(time.Millisecond)
	if err != nil {
		t.Errorf("scenario %s failed after %s (%v):\n%s", sc.name, took, err, out.String())
		return
	}
	t.Logf("scenario %s passed in %s:\n%s", sc.name, took, out.String())
}

// answer copies the scenario's output to out until it ends, running hook
// for each line that asks for one and writing the outcome to its stdin.
func answer(stdout io.Reader, stdin io.WriteCloser, out io.Writer, hook func(string) error) {
	defer stdin.Close()
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		line := lines.Text()
		what, ok := strings.CutPrefix(line, askPrefix)
		if !ok {
			fmt.Fprintln(out, line)
			continue
		}
		reply := "ok"
		if err := hook(what); err != nil {
			reply = "error: " + strings.ReplaceAll(err.Error(), "\n", " ")
		}
		fmt.Fprintf(out, "  (the test did %s: %s)\n", what, reply)
		fmt.Fprintln(stdin, reply)
	}
	_, _ = io.Copy(io.Discard, stdout)
}

// hook runs the hook what of sc.
func hook(sc scenario, s *site, what string) error {
	f, ok := sc.hooks[what]
	if !ok {
		return fmt.Errorf("the scenario has no hook %q", what)
	}
	return f(s)
}

// lockedBuffer is a buffer the scenario's stdout and stderr are written to
// at once.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
