package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// console is where a command reads what the operator types: stdin, and
// whether it is a terminal (someone who can answer a question).
type console struct {
	in       io.Reader
	terminal bool
}

// isTerminal reports whether r is a terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// errNoConfirmation refuses a destructive command that nobody confirmed.
var errNoConfirmation = errors.New("refusing to run without confirmation: run it on a terminal to be asked, or add --yes (nothing was changed)")

// confirm lets a destructive command go on: at once with --yes (yes);
// otherwise only on a terminal, once the operator has typed answer after
// reading what. The question goes to w (stderr, so that --json output stays
// clean). A wrong answer, or no terminal, changes nothing.
func (c console) confirm(w io.Writer, yes bool, what, answer string) error {
	if yes {
		return nil
	}
	if !c.terminal {
		return errNoConfirmation
	}
	fmt.Fprintf(w, "%s\nType %s to confirm: ", what, answer)
	line, err := bufio.NewReader(c.in).ReadString('\n')
	if strings.TrimSpace(line) != answer {
		if err != nil && strings.TrimSpace(line) == "" {
			fmt.Fprintln(w)
		}
		return fmt.Errorf("not confirmed (expected %q): nothing was changed", answer)
	}
	return nil
}
