package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/silo-dev/silo/config"
)

// loadConfig parses a command's flags (Silo's settings plus extra, which
// the command registers) and validates the configuration.
func loadConfig(name string, args []string, getenv func(string) string, stderr io.Writer, needSecrets bool, extra func(*flag.FlagSet)) (*config.Config, []string, error) {
	fs := flag.NewFlagSet("silo "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	loader := config.NewLoader(fs, getenv)
	loader.SkipSecrets = !needSecrets
	if extra != nil {
		extra(fs)
	}
	// Flags may come before or after positional arguments.
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, nil, err
			}
			return nil, nil, usageError(err.Error())
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		positional, args = append(positional, args[0]), args[1:]
	}
	cfg, err := loader.Load()
	if err != nil {
		return nil, nil, err
	}
	return cfg, positional, nil
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
