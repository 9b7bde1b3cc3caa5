package processlist_test

import (
	"context"
	"strings"
	"testing"

	"github.com/silo-dev/silo/internal/lib/processlist"
	"github.com/silo-dev/silo/internal/testsupport/testdb"
)

func TestCountSeesItsOwnStatement(t *testing.T) {
	db := testdb.Server(t)
	ctx := context.Background()
	n, err := processlist.Count(ctx, db, func(_, info string) bool { return strings.HasPrefix(info, "SHOW FULL PROCESSLIST") })
	if err != nil || n < 1 {
		t.Fatalf("Count = %d, %v; want at least the SHOW FULL PROCESSLIST running it", n, err)
	}
	if n, err := processlist.Count(ctx, db, processlist.UserPrefix("no such user prefix ")); err != nil || n != 0 {
		t.Fatalf("Count(no such user) = %d, %v", n, err)
	}
}
