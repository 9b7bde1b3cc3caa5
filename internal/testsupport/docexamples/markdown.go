// Package docexamples runs the curl examples of docs/API.md and the
// README's walk-through against a Silo started in-process (its tests). It
// holds what they need: the shell blocks of a Markdown file, the answers
// each block claims (a "# → 201" or "# → 404 TENANT_NOT_FOUND" comment
// after each curl command), and a shell that runs the blocks one after
// another in bash, carrying their variables from block to block and
// recording the status and request id of every curl call.
package docexamples

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Block is one ```sh block of a Markdown file.
type Block struct {
	Line int    // the line of its opening fence, from 1
	Text string // its lines, without the fences
}

// ShellBlocks returns the ```sh blocks of md in document order.
func ShellBlocks(md string) []Block {
	var out []Block
	var cur *strings.Builder
	start := 0
	for i, line := range strings.Split(md, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && (trimmed == "```sh" || trimmed == "```bash"):
			cur, start = &strings.Builder{}, i+1
		case cur != nil && trimmed == "```":
			out = append(out, Block{Line: start, Text: cur.String()})
			cur = nil
		case cur != nil:
			cur.WriteString(line)
			cur.WriteString("\n")
		}
	}
	return out
}

var curlCommand = regexp.MustCompile(`(^|[\s(|;&])curl\s`)

// CallsSilo reports whether the block runs curl.
func (b Block) CallsSilo() bool {
	for _, line := range strings.Split(b.Text, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") && curlCommand.MatchString(line) {
			return true
		}
	}
	return false
}

// Claim is the answer a block says one of its curl calls gets.
type Claim struct {
	Status int
	Code   string // the error envelope's code; "" for a success
}

func (c Claim) String() string {
	if c.Code == "" {
		return strconv.Itoa(c.Status)
	}
	return fmt.Sprintf("%d %s", c.Status, c.Code)
}

var claimLine = regexp.MustCompile(`^\s*# → (\d{3})(?: ([A-Z][A-Z_]+))?\b`)

// Claims are the answers the block claims, in order: one "# → STATUS"
// comment line after each curl command, naming the error code too for an
// error (STATUS 400 and up).
func (b Block) Claims() ([]Claim, error) {
	var out []Claim
	for _, line := range strings.Split(b.Text, "\n") {
		m := claimLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		status, _ := strconv.Atoi(m[1])
		if status >= 400 && m[2] == "" {
			return nil, fmt.Errorf("line %q claims an error without its code", strings.TrimSpace(line))
		}
		out = append(out, Claim{Status: status, Code: m[2]})
	}
	return out, nil
}

var assignment = regexp.MustCompile(`(?m)^\s*(?:export\s+)?([A-Z][A-Z0-9_]*)=`)

// Assigns lists the shell variables the block sets (NAME=... at the start
// of a line).
func (b Block) Assigns() []string {
	var out []string
	for _, m := range assignment.FindAllStringSubmatch(b.Text, -1) {
		out = append(out, m[1])
	}
	return out
}
