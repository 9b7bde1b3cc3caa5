package app_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/silo-dev/silo/internal/assembly/app"
	"github.com/silo-dev/silo/internal/testsupport/testdb"
)

// guardWarmups returns the stacks of the running goroutines that warm a
// login guard up, by goroutine header.
func guardWarmups() map[string]string { return testdb.Goroutines("internal/lib/login.(*Guard).Warm") }

// TestWarmUpOwnedByRunBackground: the login guard's warm-up (one hash at
// the production bcrypt cost) belongs to RunBackground, which a server
// runs: Open starts none (a quick command does not wait for it), and
// RunBackground does not return while it runs. It does not run in
// parallel: it looks at every goroutine of the process.
func TestWarmUpOwnedByRunBackground(t *testing.T) {
	cfg := testdb.Config(t, map[string]string{
		"SILO_BCRYPT_COST": "12", "SILO_SPARE_POOL_SIZE": "0",
		"SILO_JWT_SECRET": jwtSecret, "SILO_MASTER_KEY": masterKey,
	})
	before := guardWarmups()
	newWarmups := func() []string {
		var out []string
		for g, stack := range guardWarmups() {
			if _, ok := before[g]; !ok {
				out = append(out, stack)
			}
		}
		return out
	}
	a, err := app.Open(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if w := newWarmups(); len(w) > 0 {
		t.Errorf("Open started the login guard's warm-up:\n%s", w[0])
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // RunBackground returns once its work sees the cancelled context
	a.RunBackground(ctx)
	if w := newWarmups(); len(w) > 0 {
		t.Errorf("the login guard's warm-up runs after RunBackground returned:\n%s", w[0])
	}
}
