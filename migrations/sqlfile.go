package migrations

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// errUnsupported marks a migration file the fleet path leaves to goose
// (ENVSUB substitution): it parses what goose's parser parses, nothing else.
var errUnsupported = errors.New("left to goose")

// sqlFile is one goose SQL migration, parsed.
type sqlFile struct {
	up, down []string
	useTx    bool
}

// parseSQLFile splits a goose SQL migration into its Up and Down
// statements as goose v3.29's parser does (internal/sqlparser, whose
// rules this follows line by line): statements end with a line whose last
// word before any "--" comment ends in ";", or at "-- +goose StatementEnd";
// comments and blank lines before a statement are dropped; "-- +goose NO
// TRANSACTION" runs the file outside a transaction. A file using ENVSUB
// returns errUnsupported.
func parseSQLFile(src []byte) (*sqlFile, error) {
	f := &sqlFile{useTx: true}
	st := pStart
	var buf bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if st == pStart && strings.TrimSpace(line) == "" {
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(line), "--") && strings.Contains(line, "+goose") {
			next, stmtEnd, err := f.annotate(st, line, &buf)
			if err != nil {
				return nil, err
			}
			st = next
			if !stmtEnd {
				continue
			}
		}
		if buf.Len() == 0 && (strings.HasPrefix(strings.TrimSpace(line), "--") || line == "") {
			continue
		}
		if st != pEndUp && st != pEndDown {
			buf.WriteString(line + "\n")
		}
		switch {
		case (st == pUp || st == pDown) && endsWithSemicolon(line), st == pEndUp, st == pEndDown:
			f.add(st, strings.TrimSpace(buf.String()))
			buf.Reset()
			if st == pEndUp {
				st = pUp
			} else if st == pEndDown {
				st = pDown
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	switch st {
	case pStart:
		return nil, errors.New("must start with '-- +goose Up' annotation")
	case pBeginUp, pBeginDown:
		return nil, errors.New("missing '-- +goose StatementEnd' annotation")
	}
	if rest := strings.TrimSpace(buf.String()); rest != "" {
		return nil, fmt.Errorf("unfinished SQL statement %q: missing semicolon?", rest)
	}
	return f, nil
}

// Parser states, as goose's.
const (
	pStart = iota
	pUp
	pBeginUp
	pEndUp
	pDown
	pBeginDown
	pEndDown
)

func (f *sqlFile) add(st int, stmt string) {
	if st == pUp || st == pEndUp {
		f.up = append(f.up, stmt)
	} else {
		f.down = append(f.down, stmt)
	}
}

// annotate applies one "-- +goose" line to the parser's state. stmtEnd is
// true for StatementEnd, whose line then closes the statement.
func (f *sqlFile) annotate(st int, line string, buf *bytes.Buffer) (next int, stmtEnd bool, err error) {
	a, err := annotation(line)
	if err != nil {
		return st, false, err
	}
	switch {
	case a == "up" && st == pStart:
		return pUp, false, nil
	case a == "down" && (st == pUp || st == pEndUp):
		if rest := strings.TrimSpace(buf.String()); rest != "" {
			return st, false, fmt.Errorf("unfinished SQL statement %q: missing semicolon?", rest)
		}
		return pDown, false, nil
	case a == "statementbegin" && (st == pUp || st == pEndUp):
		return pBeginUp, false, nil
	case a == "statementbegin" && (st == pDown || st == pEndDown):
		return pBeginDown, false, nil
	case a == "statementend" && st == pBeginUp:
		return pEndUp, true, nil
	case a == "statementend" && st == pBeginDown:
		return pEndDown, true, nil
	case a == "no transaction":
		f.useTx = false
		return st, false, nil
	case a == "envsub on" || a == "envsub off":
		return st, false, errUnsupported
	}
	return st, false, fmt.Errorf("annotation %q out of place", line)
}

// annotation is a "-- +goose X" line's X, lower-cased, checked as goose
// checks it.
func annotation(line string) (string, error) {
	if strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
		return "", fmt.Errorf("annotation %q has leading whitespace", line)
	}
	cmd := strings.Replace(strings.ReplaceAll(line, "--", ""), "+goose", "", 1)
	if strings.Contains(cmd, "+goose") {
		return "", fmt.Errorf("%q has several '+goose' annotations", line)
	}
	cmd = strings.ToLower(strings.TrimSpace(cmd))
	switch cmd {
	case "up", "down", "statementbegin", "statementend", "no transaction", "envsub on", "envsub off":
		return cmd, nil
	}
	return "", fmt.Errorf("annotation %q not supported", line)
}

// endsWithSemicolon reports whether line's last word before a "--"
// comment ends with ";".
func endsWithSemicolon(line string) bool {
	prev := ""
	for _, w := range strings.Fields(line) {
		if strings.HasPrefix(w, "--") {
			break
		}
		prev = w
	}
	return strings.HasSuffix(prev, ";")
}
