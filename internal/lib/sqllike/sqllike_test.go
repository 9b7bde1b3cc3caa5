package sqllike_test

import (
	"context"
	"testing"

	"github.com/silo-dev/silo/internal/lib/sqllike"
	"github.com/silo-dev/silo/internal/testsupport/testdb"
)

// TestPatternsOnTheServer asks the server itself whether each pattern
// matches: wildcards and backslashes in s match only themselves.
func TestPatternsOnTheServer(t *testing.T) {
	db := testdb.Server(t)
	defer db.Close()
	for _, c := range []struct {
		text, pattern string
		want          bool
	}{
		{"silo_t_ab", sqllike.Escape("silo_t_ab"), true},
		{"siloXtXab", sqllike.Escape("silo_t_ab"), false},
		{"100%", sqllike.Escape("100%"), true},
		{"1000", sqllike.Escape("100%"), false},
		{`a\b`, sqllike.Escape(`a\b`), true},
		{"x a_b y", sqllike.Contains("a_b"), true},
		{"x axb y", sqllike.Contains("a_b"), false},
		{"t1_rest", sqllike.Prefix("t1_"), true},
		{"t1xrest", sqllike.Prefix("t1_"), false},
	} {
		var got bool
		if err := db.QueryRowContext(context.Background(), "SELECT ? LIKE ?", c.text, c.pattern).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("%q LIKE %q = %v, want %v", c.text, c.pattern, got, c.want)
		}
	}
}
