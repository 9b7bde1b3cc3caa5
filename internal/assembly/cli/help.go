package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// printUsage is every command's usage (the second half of its --help):
// the command's own flags first; Silo's settings, the global flags, in
// full only in the root's, and as one line in the others'.
func printUsage(c *cobra.Command) error {
	w := c.OutOrStderr()
	fmt.Fprintf(w, "Usage:\n  %s\n", useLine(c))
	if c.HasExample() {
		fmt.Fprintf(w, "\nExamples:\n%s\n", strings.TrimRight(c.Example, "\n"))
	}
	if c.HasAvailableSubCommands() {
		printCommands(w, c)
	}
	if flags := c.LocalNonPersistentFlags(); flags.HasAvailableFlags() {
		fmt.Fprintf(w, "\nFlags:\n%s", flags.FlagUsages())
	}
	switch {
	case !c.HasParent():
		fmt.Fprintf(w, "\nGlobal flags (Silo's settings, taken by every command; each defaults to its SILO_*\nenvironment variable, and a flag overrides the variable):\n%s", c.PersistentFlags().FlagUsages())
	case usesSettings(c):
		fmt.Fprintln(w, "\nGlobal flags: Silo's settings (--central-dsn, --listen, …), each also read from its\nSILO_* environment variable; \"silo --help\" lists them.")
	}
	if c.HasAvailableSubCommands() {
		fmt.Fprintf(w, "\nRun %q for a command's flags.\n", c.CommandPath()+" <command> --help")
	}
	return nil
}

// useLine is the usage line: a command that only holds others takes one
// of them.
func useLine(c *cobra.Command) string {
	if c.HasAvailableSubCommands() {
		return c.CommandPath() + " <command> [flags]"
	}
	return c.UseLine()
}

// printCommands lists c's subcommands, under the titles of their groups
// when c has groups (the root).
func printCommands(w io.Writer, c *cobra.Command) {
	listed := func(sub *cobra.Command) bool { return sub.IsAvailableCommand() || sub.Name() == "help" }
	var names []string
	for _, sub := range c.Commands() {
		if listed(sub) {
			names = append(names, summaryName(sub))
		}
	}
	width := 0
	for _, n := range names {
		if len(n) <= 30 {
			width = max(width, len(n))
		}
	}
	line := func(sub *cobra.Command) {
		if n := summaryName(sub); len(n) <= width {
			fmt.Fprintf(w, "  %-*s  %s\n", width, n, sub.Short)
		} else {
			fmt.Fprintf(w, "  %s\n  %-*s  %s\n", n, width, "", sub.Short)
		}
	}
	if len(c.Groups()) == 0 {
		fmt.Fprintln(w, "\nCommands:")
		for _, sub := range c.Commands() {
			if listed(sub) {
				line(sub)
			}
		}
		return
	}
	for _, g := range c.Groups() {
		fmt.Fprintf(w, "\n%s\n", g.Title)
		for _, sub := range c.Commands() {
			if listed(sub) && sub.GroupID == g.ID {
				line(sub)
			}
		}
	}
}

// summaryName is a command's name with its subcommands ("server
// add|list|…"), and theirs when they all share the same ones ("migrate
// central|tenants up|down|status").
func summaryName(c *cobra.Command) string {
	subs := subcommands(c)
	if len(subs) == 0 {
		return c.Name()
	}
	name := c.Name() + " " + strings.Join(subs, "|")
	var shared []string
	first := true
	for _, sub := range c.Commands() {
		if !sub.IsAvailableCommand() {
			continue
		}
		these := subcommands(sub)
		if len(these) == 0 || (!first && !slices.Equal(these, shared)) {
			return name
		}
		shared, first = these, false
	}
	return name + " " + strings.Join(shared, "|")
}

// tools are the top-level commands that read none of Silo's settings.
var tools = map[string]bool{"completion": true, "help": true, "openapi": true, "version": true, cobra.ShellCompRequestCmd: true, cobra.ShellCompNoDescRequestCmd: true}

// usesSettings reports whether c reads Silo's settings (the global flags).
func usesSettings(c *cobra.Command) bool {
	for c.HasParent() && c.Parent().HasParent() {
		c = c.Parent()
	}
	return !tools[c.Name()]
}
