package docexamples

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Call is one curl call a block made: the status it got (0 when there was
// no answer) and the X-Request-Id of the answer.
type Call struct {
	Status    int
	RequestID string
}

// Shell runs blocks in bash, one bash process per block, in Dir (their
// working directory, where it also keeps what it carries between blocks).
// Each block runs under `set -euo pipefail` after Prelude, with the
// variables the earlier blocks set; curl is a shell function that runs
// the real curl unchanged and notes the status and request id of its
// answer (curl 7.84 or later, for %header{} in --write-out).
type Shell struct {
	Dir     string
	Env     []string // the environment of bash
	Prelude string   // more shell functions, defined before each block
	vars    []string // the variables set so far, carried to later blocks
}

// curlWrapper notes each call's answer in $DOCS_CALLS, keeping curl's own
// output and error messages as they are.
const curlWrapper = `curl() {
	local err rc=0
	err=$(mktemp "$DOCS_DIR/curl-stderr.XXXXXX")
	command curl --write-out '%{stderr}@@answer %{http_code} %header{x-request-id}\n' "$@" 2>"$err" || rc=$?
	sed -n 's/^@@answer //p' "$err" >>"$DOCS_CALLS"
	grep -v '^@@answer ' "$err" >&2 || true
	rm -f "$err"
	return $rc
}
`

// Run runs b and returns its curl calls, in order, and what it wrote to
// stdout and stderr.
func (s *Shell) Run(ctx context.Context, b Block) ([]Call, string, error) {
	state := filepath.Join(s.Dir, ".docs-state")
	calls := filepath.Join(s.Dir, ".docs-calls")
	if err := os.WriteFile(calls, nil, 0o600); err != nil {
		return nil, "", err
	}
	for _, v := range b.Assigns() {
		if !slices.Contains(s.vars, v) {
			s.vars = append(s.vars, v)
		}
	}
	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	script.WriteString(curlWrapper)
	script.WriteString(s.Prelude)
	fmt.Fprintf(&script, "if [ -f %q ]; then source %q; fi\n", state, state)
	script.WriteString(b.Text)
	fmt.Fprintf(&script, "\nfor v in %s; do declare -p \"$v\" 2>/dev/null || true; done >%q\n", strings.Join(append([]string{"DOCS_NONE"}, s.vars...), " "), state)

	cmd := exec.CommandContext(ctx, "bash", "-c", script.String())
	cmd.Dir = s.Dir
	cmd.Env = append(slices.Clone(s.Env), "DOCS_DIR="+s.Dir, "DOCS_CALLS="+calls)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	runErr := cmd.Run()
	got, err := readCalls(calls)
	if err != nil {
		return nil, out.String(), err
	}
	return got, out.String(), runErr
}

func readCalls(path string) ([]Call, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []Call
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if line == "" {
			continue
		}
		fields := strings.Fields(line)
		status, err := strconv.Atoi(fields[0])
		if err != nil {
			return nil, fmt.Errorf("curl noted %q", line)
		}
		c := Call{Status: status}
		if len(fields) > 1 {
			c.RequestID = fields[1]
		}
		out = append(out, c)
	}
	return out, nil
}
