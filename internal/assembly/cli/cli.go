// Package cli is the silo command line: the HTTP server, the migration
// runner and the operator's tools. The silo binary runs it as it is; an
// application that embeds Silo runs it with its extensions (silo.Main), so
// that serve, migrate, tenant and openapi include the application's
// migrations and routes.
//
// The commands are spf13/cobra commands built afresh for each run (see
// newRoot): Silo's settings are the root's persistent flags ("global
// flags"), read over the SILO_* environment, and each command adds only its
// own flags.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/silo-dev/silo/internal/assembly/app"
)

// Main runs the command line of os.Args with ext and exits with its
// status: 0, 1 for a failure, 2 for a usage error.
func Main(ext app.Extensions) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := Run(ctx, ext, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "silo:", err)
		var u usageError
		if errors.As(err, &u) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError is a mistake in the command line (exit status 2).
type usageError string

func (u usageError) Error() string { return string(u) }

// Run executes one silo command. Destructive commands ask for confirmation
// when stdin is a terminal and refuse without --yes when it is not. Help
// (--help, silo help) is printed to stdout and is not an error.
func Run(ctx context.Context, ext app.Extensions, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	return runConsole(ctx, ext, args, getenv, console{in: stdin, terminal: isTerminal(stdin)}, stdout, stderr)
}

// runConsole is Run with the console given (tests play a terminal with it).
func runConsole(ctx context.Context, ext app.Extensions, args []string, getenv func(string) string, con console, stdout, stderr io.Writer) error {
	s := &session{ext: ext, getenv: getenv, con: con, stdout: stdout, stderr: stderr}
	root := newRoot(s)
	// A non-nil slice: given nil, cobra would read os.Args.
	root.SetArgs(append([]string{}, doubleDash(root, args)...))
	_, err := root.ExecuteContextC(ctx)
	return err
}

// session is one run of the command line: what it reads and writes, the
// application's extensions, and Silo's settings (the global flags).
type session struct {
	ext            app.Extensions
	getenv         func(string) string
	con            console
	stdout, stderr io.Writer
	settings       *settings
}
