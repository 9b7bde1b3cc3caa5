package cli

import (
	"flag"
	"fmt"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/silo-dev/silo/config"
)

// Command groups of the top-level help.
const (
	groupRun   = "run"
	groupOps   = "ops"
	groupTools = "tools"
)

// newRoot builds the whole command tree for one run of s.
func newRoot(s *session) *cobra.Command {
	root := &cobra.Command{
		Use:   "silo",
		Short: "Silo: database-per-tenant control plane",
		Long: `Silo: database-per-tenant control plane.

One binary serves the HTTP API, migrates the central database and every tenant
database, and gives the operator tools over tenants, database servers and
central admins.`,
		Version:       buildVersion(),
		Args:          cobra.ArbitraryArgs,
		RunE:          groupRunE,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetVersionTemplate("{{.Version}}")
	root.SetIn(s.con.in)
	root.SetOut(s.stdout)
	root.SetErr(s.stderr)
	root.SetUsageFunc(printUsage)
	root.SetFlagErrorFunc(flagError)
	root.AddGroup(
		&cobra.Group{ID: groupRun, Title: "Running Silo:"},
		&cobra.Group{ID: groupOps, Title: "Operating tenants, database servers and admins:"},
		&cobra.Group{ID: groupTools, Title: "Tools:"},
	)
	root.SetHelpCommandGroupID(groupTools)
	root.SetCompletionCommandGroupID(groupTools)
	s.settings = newSettings(root, s.getenv)

	for _, c := range []*cobra.Command{serveCmd(s), healthcheckCmd(s), migrateCmd(s)} {
		c.GroupID = groupRun
		root.AddCommand(c)
	}
	for _, c := range []*cobra.Command{tenantCmd(s), serverCmd(s), adminCmd(s), createCentralAdminCmd(s)} {
		c.GroupID = groupOps
		root.AddCommand(c)
	}
	for _, c := range []*cobra.Command{openAPICmd(s), versionCmd()} {
		c.GroupID = groupTools
		root.AddCommand(c)
	}
	// cobra's own commands, made now (Execute would) to word them as ours.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "help" || c.Name() == "completion" {
			lowerShort(c)
		}
	}
	return root
}

// lowerShort starts the one-line descriptions of c and its subcommands
// with a lower-case letter, as Silo's are.
func lowerShort(c *cobra.Command) {
	if c.Short != "" {
		c.Short = strings.ToLower(c.Short[:1]) + c.Short[1:]
	}
	for _, sub := range c.Commands() {
		lowerShort(sub)
	}
}

// settings are Silo's configuration flags (config.NewLoader's), made the
// root's persistent flags so that every command takes them; each defaults
// to its SILO_* environment variable.
type settings struct {
	loader *config.Loader
}

func newSettings(root *cobra.Command, getenv func(string) string) *settings {
	fs := flag.NewFlagSet("silo", flag.ContinueOnError)
	loader := config.NewLoader(fs, getenv)
	fs.VisitAll(func(f *flag.Flag) {
		// DefValue is the environment's value, or "" for a secret (a DSN,
		// a key): --help never shows a secret.
		root.PersistentFlags().AddFlag(&pflag.Flag{Name: f.Name, Usage: f.Usage, Value: stringFlag{f.Value}, DefValue: f.DefValue})
	})
	return &settings{loader: loader}
}

// stringFlag shows a setting's flag as taking a string in --help.
type stringFlag struct{ flag.Value }

func (stringFlag) Type() string { return "string" }

// config validates Silo's settings: the global flags over the
// environment. Commands that need neither the JWT secret nor the master key
// (secrets false) leave them unread.
func (s *session) config(secrets bool) (*config.Config, error) {
	s.settings.loader.SkipSecrets = !secrets
	return s.settings.loader.Load()
}

// singleDash is a long flag written with one dash, as the Go flag package
// (which Silo's command line used before cobra) accepted: -json, -to=3.
var singleDash = regexp.MustCompile(`^-([a-z][a-z0-9-]+)(=.*)?$`)

// doubleDash rewrites "-name" and "-name=value" to "--name…" when name is
// a flag of some command, so that scripts written for the older command
// line keep working; "--" ends the rewriting.
func doubleDash(root *cobra.Command, args []string) []string {
	names := map[string]bool{"help": true, "version": true}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		add := func(f *pflag.Flag) { names[f.Name] = true }
		c.LocalFlags().VisitAll(add)
		c.PersistentFlags().VisitAll(add)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if m := singleDash.FindStringSubmatch(a); m != nil && names[m[1]] {
			a = "-" + a
		}
		out = append(out, a)
	}
	return out
}

// flagError turns a flag that cobra could not parse into a usage error
// that reads as a sentence and says where the flags are described.
func flagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	if v, ok := err.(*pflag.InvalidValueError); ok {
		kind := map[string]string{"int": "a whole number", "int64": "a whole number", "bool": "true or false"}[v.GetFlag().Value.Type()]
		if kind == "" {
			kind = "a " + v.GetFlag().Value.Type()
		}
		msg = fmt.Sprintf("--%s must be %s, not %q", v.GetFlag().Name, kind, v.GetValue())
	}
	return usageError(fmt.Sprintf("%s (see %q)", msg, cmd.CommandPath()+" --help"))
}

// group is a command that only holds subcommands: run without one (or with
// an unknown one) it is a usage error naming them.
func group(use, short, long string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, Long: long, Args: cobra.ArbitraryArgs, RunE: groupRunE}
	c.AddCommand(subs...)
	return c
}

func groupRunE(cmd *cobra.Command, args []string) error {
	usage := fmt.Sprintf("usage: %s %s [flags] (see %q)", cmd.CommandPath(), strings.Join(subcommands(cmd), "|"), cmd.CommandPath()+" --help")
	if len(args) == 0 {
		if !cmd.HasParent() {
			fmt.Fprint(cmd.ErrOrStderr(), cmd.UsageString()) // stderr: nobody asked for help
			return usageError("no command given (the commands are listed above)")
		}
		return usageError(cmd.CommandPath() + " needs a command: " + usage)
	}
	msg := fmt.Sprintf("unknown command %q for %s", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf(" (did you mean %s?)", s[0])
	}
	if !cmd.HasParent() {
		return usageError(msg + `; "silo --help" lists the commands`)
	}
	return usageError(msg + "; " + usage)
}

// subcommands lists the names of cmd's available subcommands.
func subcommands(cmd *cobra.Command) []string {
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	return names
}

// positional checks that a command has from min to max positional
// arguments (max -1: no limit); hint, if any, follows the usage line.
func positional(min, max int, hint string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		var msg string
		switch {
		case len(args) < min:
			msg = "missing " + argumentName(cmd, len(args))
		case max >= 0 && len(args) > max:
			msg = fmt.Sprintf("unexpected argument %q", args[max])
		default:
			return nil
		}
		msg += "; usage: " + cmd.UseLine()
		if hint != "" {
			msg += " (" + hint + ")"
		}
		return usageError(msg)
	}
}

// argumentName is the name the usage gives to cmd's positional argument i
// ("SLUG" in "get SLUG"), or "argument".
func argumentName(cmd *cobra.Command, i int) string {
	var names []string
	for _, w := range strings.Fields(cmd.Use)[1:] {
		if strings.HasPrefix(w, "-") || strings.HasPrefix(w, "(") {
			break
		}
		names = append(names, strings.TrimSuffix(w, "..."))
	}
	if i < len(names) {
		return names[i]
	}
	return "argument"
}
