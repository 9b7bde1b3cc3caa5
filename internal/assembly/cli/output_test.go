package cli

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/provisioning"
)

// An error in a table is a numbered note below it: the table is as wide
// with a long error as with none.
func TestTableNotesDoNotWidenIt(t *testing.T) {
	t.Parallel()
	render := func(err string) string {
		var b strings.Builder
		tb := newTable(&b, "TENANT", "STATUS", "LAST ERROR")
		tb.row("alpha", "active", tb.note("alpha", ""))
		tb.row("charlie", "active", tb.note("charlie", err))
		if e := tb.flush("2 tenants"); e != nil {
			t.Fatal(e)
		}
		return b.String()
	}
	long := "Error 1049 (42000): Unknown database 'x'" + strings.Repeat(" and more", 30) + "\nsecond line"
	short, withLong := render("x"), render(long)
	width := func(s string) int {
		w := 0
		for _, l := range strings.Split(strings.SplitN(s, "\n\n", 2)[0], "\n") {
			w = max(w, len(l))
		}
		return w
	}
	if width(short) != width(withLong) {
		t.Fatalf("the table widened:\n%s\n%s", short, withLong)
	}
	want := "TENANT   STATUS  LAST ERROR\nalpha    active  \ncharlie  active  see [1]\n2 tenants\n\n[1] charlie: " + strings.ReplaceAll(long, "\n", "\n    ") + "\n"
	if withLong != want {
		t.Fatalf("got\n%q\nwant\n%q", withLong, want)
	}
}

func TestDescribeError(t *testing.T) {
	t.Parallel()
	err := apperr.Validation(
		apperr.FieldError{Field: "slug", Message: "must be 3-40 characters"},
		apperr.FieldError{Field: "domains", Message: "a.io is listed twice"},
		apperr.FieldError{Field: "other", Message: "is required"},
	)
	got := describeError(err, tenantFields).Error()
	if got != "--slug must be 3-40 characters; --domain: a.io is listed twice; other is required" {
		t.Fatalf("%q", got)
	}
	if got := describeError(provisioning.ErrNotActive, nil).Error(); got != "The tenant is not active" {
		t.Fatalf("%q", got)
	}
	plain := errors.New("plain")
	if describeError(plain, nil) != plain {
		t.Fatal("a plain error was changed")
	}
}

func TestProgressLines(t *testing.T) {
	t.Parallel()
	for want, r := range map[string]provisioning.TenantResult{
		"alpha: migrated from version 0 to 2":                {Slug: "alpha", Outcome: provisioning.OutcomeMigrated, From: 0, To: 2},
		"alpha: would migrate from version 1 to 2":           {Slug: "alpha", Outcome: provisioning.OutcomeWould, From: 1, To: 2},
		"nosuch: failed: no such tenant":                     {Slug: "nosuch", Outcome: provisioning.OutcomeFailed, Reason: "no such tenant", Error: "no such tenant"},
		"charlie: failed at version 0: Unknown database":     {Slug: "charlie", Outcome: provisioning.OutcomeFailed, Error: "Unknown database"},
		"charlie: failed at version 1 (it was at 0): syntax": {Slug: "charlie", Outcome: provisioning.OutcomeFailed, From: 0, To: 1, Error: "syntax"},
		"delta: skipped: tenant is failed":                   {Slug: "delta", Outcome: provisioning.OutcomeSkipped, Reason: "tenant is failed", From: 1, To: 1},
		"delta: not run: a canary failed":                    {Slug: "delta", Outcome: provisioning.OutcomeNotRun, Reason: "a canary failed"},
	} {
		if got := progressLine(r); got != want {
			t.Errorf("%+v: %q, want %q", r, got, want)
		}
	}
}

func TestChangeDomains(t *testing.T) {
	t.Parallel()
	got, err := changeDomains("acme", []string{"a.io"}, "add", []string{" B.io. ", "c.io"})
	if err != nil || !slices.Equal(got, []string{"a.io", "b.io", "c.io"}) {
		t.Fatalf("add: %v %v", got, err)
	}
	got, err = changeDomains("acme", []string{"a.io", "b.io"}, "remove", []string{"A.IO"})
	if err != nil || !slices.Equal(got, []string{"b.io"}) {
		t.Fatalf("remove: %v %v", got, err)
	}
	for _, c := range []struct {
		action string
		given  []string
		want   string
	}{
		{"add", []string{"c.io", "A.io"}, "tenant acme already has the domain a.io (nothing was changed)"},
		{"remove", []string{"c.io"}, `tenant acme has no domain "c.io" (nothing was changed)`},
		{"remove", []string{"a.io", "a.io"}, "the domain a.io is given twice (nothing was changed)"},
	} {
		if _, err := changeDomains("acme", []string{"a.io", "b.io"}, c.action, c.given); err == nil || err.Error() != c.want {
			t.Errorf("%s %v: %v, want %q", c.action, c.given, err, c.want)
		}
	}
}

func TestDoubleDash(t *testing.T) {
	t.Parallel()
	root := newRoot(&session{getenv: noEnv, con: console{in: strings.NewReader("")}, stdout: &strings.Builder{}, stderr: &strings.Builder{}})
	got := doubleDash(root, []string{"tenant", "list", "-json", "-status=active", "-q", "x", "-central-dsn", "d", "--dsn", "-", "-unknown", "--", "-json"})
	want := []string{"tenant", "list", "--json", "--status=active", "-q", "x", "--central-dsn", "d", "--dsn", "-", "-unknown", "--", "-json"}
	if !slices.Equal(got, want) {
		t.Fatalf("%q", got)
	}
}
