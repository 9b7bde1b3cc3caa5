package tenantdb

import (
	"strings"
	"testing"
)

func TestUnsupportedVersion(t *testing.T) {
	t.Parallel()
	for v, refused := range map[string]bool{
		"10.11.19-MariaDB-0+deb12u1": false, "10.6.1-MariaDB": false, "11.4.2-MariaDB": false,
		"10.5.20-MariaDB": true, "8.4.3": false, "8.0.36": false, "9.1.0": false, "5.7.44": true, "weird": true,
	} {
		if got := unsupportedVersion(v, strings.Contains(v, "MariaDB")) != ""; got != refused {
			t.Errorf("%s: refused %v, want %v", v, got, refused)
		}
	}
}
