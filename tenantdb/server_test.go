package tenantdb_test

import (
	"testing"

	"github.com/silo-dev/silo/tenantdb"
)

// Every GRANT and REVOKE names its database through GrantTarget, which
// escapes the wildcards `_` and `%`.
func TestGrantTargetEscapesWildcards(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"silo_t_ab_cd": "`silo\\_t\\_ab\\_cd`.*",
		"plain":        "`plain`.*",
		"a%b":          "`a\\%b`.*",
	} {
		if got := tenantdb.GrantTarget(in); got != want {
			t.Errorf("GrantTarget(%q) = %s, want %s", in, got, want)
		}
	}
}
