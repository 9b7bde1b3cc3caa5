package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// output prints command results as a table or as JSON (--json).
type output struct {
	w    io.Writer
	json bool
}

func (o output) encode(v any) error {
	enc := json.NewEncoder(o.w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// message prints v as JSON, or text as a line.
func (o output) message(v any, text string) error {
	if o.json {
		return json.NewEncoder(o.w).Encode(v)
	}
	_, err := fmt.Fprintln(o.w, text)
	return err
}

// table prints aligned rows under a header. Errors go to numbered notes
// below it (a cell shows "see [1]"), so that one long message never widens
// the table.
type table struct {
	w     io.Writer
	tw    *tabwriter.Writer
	notes []string
}

func newTable(w io.Writer, header ...string) *table {
	t := &table{w: w, tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	t.row(header...)
	return t
}

func (t *table) row(cells ...string) {
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

// note keeps about's error text for below the table and returns what its
// cell shows: "" for no error.
func (t *table) note(about, text string) string {
	if text == "" {
		return ""
	}
	t.notes = append(t.notes, about+": "+text)
	return fmt.Sprintf("see [%d]", len(t.notes))
}

// flush prints the table, then the summary lines, then the notes.
func (t *table) flush(summary ...string) error {
	if err := t.tw.Flush(); err != nil {
		return err
	}
	for _, s := range summary {
		fmt.Fprintln(t.w, s)
	}
	if len(t.notes) > 0 {
		fmt.Fprintln(t.w)
	}
	for i, n := range t.notes {
		label := fmt.Sprintf("[%d] ", i+1)
		// A message of several lines stays under its number.
		n = strings.ReplaceAll(strings.TrimRight(n, "\n"), "\n", "\n"+strings.Repeat(" ", len(label)))
		if _, err := fmt.Fprintln(t.w, label+n); err != nil {
			return err
		}
	}
	return nil
}
