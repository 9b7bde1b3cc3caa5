// Package cli is the silo command line: the HTTP server, the migration
// runner and the operator's tools. The silo binary runs it as it is; an
// application that embeds Silo runs it with its extensions (silo.Main), so
// that serve, migrate and tenant include the application's migrations and
// routes.
package cli

import (
	"context"
	"errors"
	"flag"
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
	if errors.Is(err, flag.ErrHelp) {
		return // the flag package printed the help
	}
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

const usage = `Silo: database-per-tenant control plane.

Usage:
  silo serve [flags]                      start the HTTP server
  silo migrate central up|down|status     migrate the central database
  silo create-central-admin [flags]       create a central admin (prompts on a terminal;
                                          otherwise EMAIL, PASSWORD, FIRST_NAME, LAST_NAME, ROLE)
  silo tenant create|list|get|suspend|resume|delete|repair
                                          manage tenants (silo tenant for details)
  silo server add|list|get|check|set|drain|remove
                                          manage the database servers that hold tenant
                                          databases (silo server for details)
  silo healthcheck [flags]                exit 0 if the server at SILO_LISTEN is healthy

Run "silo <command> -h" for the flags of a command. Every flag can also be
set by its SILO_* environment variable; a flag overrides the variable.
`

// Run executes one silo command. Destructive commands ask for confirmation
// when stdin is a terminal and refuse without --yes when it is not.
func Run(ctx context.Context, ext app.Extensions, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	return runConsole(ctx, ext, args, getenv, console{in: stdin, terminal: isTerminal(stdin)}, stdout, stderr)
}

// runConsole is Run with the console given (tests play a terminal with it).
func runConsole(ctx context.Context, ext app.Extensions, args []string, getenv func(string) string, con console, stdout, stderr io.Writer) error {
	stdin := con.in
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, ext, rest, getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, ext, rest, getenv, con, stdout, stderr)
	case "create-central-admin":
		return createCentralAdmin(ctx, rest, getenv, stdin, stdout, stderr)
	case "tenant":
		return tenantCmd(ctx, ext, rest, getenv, con, stdout, stderr)
	case "server":
		return serverCmd(ctx, ext, rest, getenv, con, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, rest, getenv, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError(fmt.Sprintf("unknown command %q", cmd))
}
