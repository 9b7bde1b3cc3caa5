package cli

import (
	"context"
	"io"

	"github.com/silo-dev/silo/internal/assembly/app"
)

// run is Run as the silo binary runs it: with no application extensions.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	return Run(ctx, app.Extensions{}, args, getenv, stdin, stdout, stderr)
}
