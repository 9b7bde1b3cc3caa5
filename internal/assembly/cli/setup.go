package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/config"
	"github.com/silo-dev/silo/internal/assembly/app"
	"github.com/silo-dev/silo/internal/lib/apperr"
)

// openApp assembles Silo from cfg. A read-only command (readOnly) never
// creates or migrates the central database: it must exist and be current.
// Close the App when done.
func (s *session) openApp(ctx context.Context, cfg *config.Config, readOnly bool) (*app.App, error) {
	open := app.Open
	if readOnly {
		open = app.OpenExisting
	}
	return open(ctx, cfg, newLogger(cfg, s.stderr), s.ext)
}

// asOperator is ctx carrying the operator as the actor of the audit log
// entries the command writes: kind "cli", named by $USER.
func (s *session) asOperator(ctx context.Context) context.Context {
	return central.WithActor(ctx, central.Actor{Kind: "cli", ID: s.getenv("USER"), RequestID: "cli"})
}

// newLogger returns the process logger configured by cfg.
func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(strings.ToUpper(cfg.LogLevel)))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func logWarnings(log *slog.Logger, cfg *config.Config) {
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}
}

func describeDSN(cfg *config.Config) string {
	return fmt.Sprintf("%s/%s", cfg.CentralDSN.Addr, cfg.CentralDSN.DBName)
}

// fieldNames name a service's input fields as the operator gave them:
// a flag ("--slug"), an argument ("DOMAIN") or an environment variable.
type fieldNames map[string]string

// describeError turns a service's error into what the operator reads: a
// validation error becomes one statement per field, naming the field as
// names does ("--slug must be …", "--domain: a.io is listed twice").
func describeError(err error, names fieldNames) error {
	var e *apperr.Error
	if !errors.As(err, &e) {
		return err
	}
	if len(e.Details) == 0 {
		return errors.New(e.Message)
	}
	lines := make([]string, 0, len(e.Details))
	for _, d := range e.Details {
		name, ok := names[d.Field]
		if !ok {
			name = d.Field
		}
		lines = append(lines, statement(name, d.Message))
	}
	return errors.New(strings.Join(lines, "; "))
}

// statement joins a field's name and a validation message: "--name is
// required", but "--domain: a.io is listed twice" when the message does
// not go on from the name.
func statement(name, message string) string {
	for _, verb := range []string{"must ", "is ", "are ", "needs ", "cannot ", "may "} {
		if strings.HasPrefix(message, verb) {
			return name + " " + message
		}
	}
	return name + ": " + message
}
