package tenantdb_test

import (
	"strings"
	"testing"

	"github.com/silo-dev/silo/tenantdb"
)

// FuzzValidIdentifiers: ValidDatabase and ValidUser, the gate before a name
// is quoted into DDL (`name` or 'name'@'%'), accept exactly the strict
// identifiers: 1-64 (database) or 1-32 (user) bytes of [a-z0-9_]. Checked
// against a byte-by-byte reference, so that a loosened regexp (a missing
// anchor, a multi-line flag, a Unicode class) is caught, and so that no
// accepted name can break out of its quotes.
//
//	go test -run='^$' -fuzz='^FuzzValidIdentifiers$' -fuzztime=30s ./tenantdb
func FuzzValidIdentifiers(f *testing.F) {
	for _, s := range []string{
		"", "a", "silo_t_acme", "t0123abcd_acme_corp", "0abc", "_", "A", "acme-corp", "acme.corp",
		"acme`; DROP DATABASE mysql; --", "acme'@'%", `acme"`, "acme%", "acme\\", "acme\x00", "acme\n",
		"acme\r\nx", "\nacme", "acme ", " acme", "acmé", "acme\u0131", "\u212a", "ａｃｍｅ", "acme\u200b",
		strings.Repeat("a", 32), strings.Repeat("a", 33), strings.Repeat("a", 64), strings.Repeat("a", 65),
		strings.Repeat("a", 64) + "\n", "\xff", "acme\xc0\xaf",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if got, want := tenantdb.ValidDatabase(name), strictIdentifier(name, 64); got != want {
			t.Fatalf("ValidDatabase(%q) = %v, want %v", name, got, want)
		}
		if got, want := tenantdb.ValidUser(name), strictIdentifier(name, 32); got != want {
			t.Fatalf("ValidUser(%q) = %v, want %v", name, got, want)
		}
		if tenantdb.ValidDatabase(name) {
			if q := "`" + name + "`"; strings.Count(q, "`") != 2 || strings.ContainsAny(name, "'\"\\%\x00\r\n ") {
				t.Fatalf("accepted database name %q can leave its quotes", name)
			}
		}
	})
}

// strictIdentifier is the reference: 1 to max bytes, each a-z, 0-9 or _.
func strictIdentifier(s string, max int) bool {
	if len(s) < 1 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
