package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// siloModule is Silo's module path: the main module of the silo binary, a
// dependency of an application's.
const siloModule = "github.com/silo-dev/silo"

// versionCmd is "silo version": what --version prints.
func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print the version, commit and Go version of this binary",
		Args:  positional(0, 0, ""),
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprint(cmd.OutOrStdout(), buildVersion())
			return err
		},
	}
}

// buildVersion describes the running binary from its build information.
func buildVersion() string {
	bi, _ := debug.ReadBuildInfo()
	return describeBuild(bi)
}

// describeBuild says which Silo bi is: its version ("(devel)" for a build
// from a work tree), the commit it was built from (and whether the tree had
// uncommitted changes) and the Go version; for an application built on
// Silo, the application's module and version too.
func describeBuild(bi *debug.BuildInfo) string {
	version, commit, modified, app := "(devel)", "unknown", false, ""
	goVersion := runtime.Version()
	if bi != nil {
		goVersion = bi.GoVersion
		main := bi.Main
		if main.Path != siloModule && main.Path != "" {
			app = main.Path + " " + orDevel(main.Version)
			main = debug.Module{}
			for _, d := range bi.Deps {
				if d.Path == siloModule {
					main = *d
				}
			}
		}
		version = orDevel(main.Version)
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if modified {
		commit += " (with uncommitted changes)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "silo %s\n", version)
	if app != "" {
		fmt.Fprintf(&b, "application: %s\n", app)
	}
	fmt.Fprintf(&b, "commit: %s\ngo: %s %s/%s\n", commit, goVersion, runtime.GOOS, runtime.GOARCH)
	return b.String()
}

func orDevel(v string) string {
	if v == "" {
		return "(devel)"
	}
	return v
}
