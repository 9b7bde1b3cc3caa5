package tenantdb_test

import (
	"strings"
	"testing"

	"github.com/silo-dev/silo/tenantdb"
)

// Settings values are rendered by pages (an <img src>, a CSS colour), so
// only plain https URLs are accepted.
func TestValidLogoURL(t *testing.T) {
	t.Parallel()
	good := []string{
		"",
		"https://cdn.example.com/logo.png",
		"https://example.com",
		"https://example.com:8443/a/b-c_d.svg?v=2&size=64#top",
		"https://xn--bcher-kva.example/logo%20big.png",
		"https://example.com/" + strings.Repeat("a", 2048-len("https://example.com/")),
	}
	bad := []string{
		"http://example.com/logo.png",
		"javascript:alert(1)",
		"JAVASCRIPT:alert(1)",
		"data:image/svg+xml;base64,PHN2Zz4=",
		"//example.com/logo.png",
		"https://",
		"https:///logo.png",
		"https://user:pw@example.com/logo.png",
		`https://example.com/logo.png" onerror="alert(1)`,
		"https://example.com/logo.png' onerror='alert(1)",
		"https://example.com/<script>",
		"https://example.com/logo.png)",
		"https://example.com/a b.png",
		"https://example.com/logo.png\n",
		"https://example.com/\x00",
		"https://example.com/\\logo",
		"https://example.com/`x`",
		"https://exämple.com/logo.png",
		" https://example.com/logo.png",
		"https://example.com/" + strings.Repeat("a", 2049-len("https://example.com/")),
	}
	for _, u := range good {
		if !tenantdb.ValidLogoURL(u) {
			t.Errorf("refused %q", u)
		}
	}
	for _, u := range bad {
		if tenantdb.ValidLogoURL(u) {
			t.Errorf("accepted %q", u)
		}
	}
}
