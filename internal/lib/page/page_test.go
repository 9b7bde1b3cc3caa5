package page_test

import (
	"strconv"
	"testing"

	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/internal/lib/page"
)

func TestCut(t *testing.T) {
	key := func(n *int) string { return strconv.Itoa(*n) }
	for _, c := range []struct {
		rows  []int
		limit int
		want  int
		next  string
	}{
		{nil, 3, 0, ""},
		{[]int{1, 2, 3}, 3, 3, ""},
		{[]int{1, 2, 3, 4}, 3, 3, "3"},
	} {
		got, next := page.Cut(c.rows, c.limit, key)
		if len(got) != c.want || next != c.next {
			t.Errorf("Cut(%v, %d) = %v, %q; want %d rows, %q", c.rows, c.limit, got, next, c.want, c.next)
		}
	}
	if page.Next("") != nil {
		t.Error(`Next("") is not nil: the last page's nextCursor must be null`)
	}
	if p := page.Next("7"); p == nil || *p != "7" {
		t.Errorf(`Next("7") = %v`, p)
	}
}

func TestCursors(t *testing.T) {
	if n, err := page.Before(""); err != nil || n != 1<<63-1 {
		t.Errorf(`Before("") = %d, %v`, n, err)
	}
	if n, err := page.Before("42"); err != nil || n != 42 {
		t.Errorf(`Before("42") = %d, %v`, n, err)
	}
	for _, bad := range []string{"0", "-1", "x", "9223372036854775808", " 1"} {
		if _, err := page.Before(bad); !apperr.Is(err, "VALIDATION_FAILED") {
			t.Errorf("Before(%q) = %v, want VALIDATION_FAILED", bad, err)
		}
	}
	for cursor, ok := range map[string]bool{"": true, "01a22db0-9371-7a46-b1d7-a27fc22fb0a2": true, "1": false, "' OR 1=1": false} {
		var v apperr.Validator
		page.CheckAfter(&v, cursor)
		if (v.Err() == nil) != ok {
			t.Errorf("CheckAfter(%q): %v, want ok=%v", cursor, v.Err(), ok)
		}
	}
}
