package benchenv_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/silo-dev/silo/internal/testsupport/benchenv"
)

// TestServersRow writes a row with figures per server, reads it back and
// checks that the table shows the servers column and each server's line.
func TestServersRow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bench.jsonl")
	one := benchenv.Row{Scenario: "me", Tenants: 100, Unit: "req/s", Silo: 1000}
	three := benchenv.Row{Scenario: "app", Tenants: 3000, Unit: "req/s", Silo: 900, Cap: 50, PeakConns: 140,
		Servers: []benchenv.ServerFigures{
			{Name: "default", Tenants: 1000, Cap: 50, PeakConns: 49},
			{Name: "s2", Tenants: 1000, Cap: 50, PeakConns: 47, Errors: 2},
			{Name: "s3", Tenants: 1000, Cap: 50, PeakConns: 46},
		}}
	for _, r := range []benchenv.Row{one, three} {
		if err := benchenv.AppendRow(path, r); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := benchenv.ReadRows(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || len(rows[0].Servers) != 0 || len(rows[1].Servers) != 3 || rows[1].Servers[1] != three.Servers[1] {
		t.Fatalf("read back %+v", rows)
	}
	var b strings.Builder
	if err := benchenv.PrintTable(&b, rows); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(out, "\n")
	if !strings.Contains(lines[0], "servers") || !strings.Contains(lines[1], " 1 ") || !strings.Contains(lines[2], " 3 ") {
		t.Errorf("no servers column:\n%s", out)
	}
	want := "app, 3000 tenants over 3 servers (cap is per server): default 1000 tenants, peak 49/50, 0 errors; s2 1000 tenants, peak 47/50, 2 errors; s3 1000 tenants, peak 46/50, 0 errors"
	if !strings.Contains(out, want) {
		t.Errorf("no line per server; want %q in\n%s", want, out)
	}
}
