package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/config"
	"github.com/silo-dev/silo/internal/lib/login"
)

func createCentralAdminCmd(s *session) *cobra.Command {
	return &cobra.Command{
		Use:   "create-central-admin",
		Short: "create a central admin (from EMAIL, PASSWORD, … or prompted on a terminal)",
		Long: `Create a central admin, such as the first superadmin. When any of EMAIL, PASSWORD,
FIRST_NAME, LAST_NAME and ROLE is set, all are read from the environment; otherwise
a terminal is prompted (the password hidden and confirmed). Creates and migrates the
central database if needed.`,
		Example: "  EMAIL=ada@example.com PASSWORD='correct horse battery' FIRST_NAME=Ada LAST_NAME=Lovelace \\\n    ROLE=superadmin silo create-central-admin",
		Args:    positional(0, 0, ""),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return s.createCentralAdmin(cmd.Context())
		},
	}
}

// createCentralAdmin creates a central admin from EMAIL, PASSWORD,
// FIRST_NAME, LAST_NAME and ROLE when any of them is set; otherwise it
// prompts when stdin is a terminal, and fails listing the variables when not.
func (s *session) createCentralAdmin(ctx context.Context) error {
	cfg, err := s.config(false)
	if err != nil {
		return err
	}
	var in central.NewAdmin
	if f, ok := s.con.in.(*os.File); ok && term.IsTerminal(int(f.Fd())) && !anyAdminEnv(s.getenv) {
		in, err = promptAdmin(newTerminalPrompter(f, s.stdout))
	} else {
		in, err = adminFromEnv(s.getenv)
	}
	if err != nil {
		return err
	}
	svc, closeDB, err := s.openAdmins(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer closeDB()
	a, err := svc.Create(s.asOperator(ctx), in)
	if err != nil {
		return describeError(err, adminEnvNames())
	}
	fmt.Fprintf(s.stdout, "Created %s %s (id %s)\n", a.Role, a.Email, a.ID)
	return nil
}

// openAdmins opens the central database and its admin service. A
// read-only command (readOnly) never creates or migrates the database.
func (s *session) openAdmins(ctx context.Context, cfg *config.Config, readOnly bool) (*central.Service, func(), error) {
	m := central.NewMigrator(cfg.CentralDSN)
	if readOnly {
		if err := m.RequireCurrent(ctx); err != nil {
			return nil, nil, err
		}
	} else if _, err := m.Up(ctx); err != nil {
		return nil, nil, fmt.Errorf("could not migrate the central database %s: %w", describeDSN(cfg), err)
	}
	db, err := central.Open(ctx, cfg.CentralDSN)
	if err != nil {
		return nil, nil, err
	}
	guard := login.NewGuard(login.GuardOptions{Cost: cfg.BcryptCost, PerIPPerMinute: 1, PerEmailPerMinute: 1})
	svc := central.NewService(db, nil, guard, cfg.RefreshTokenTTL, newLogger(cfg, s.stderr))
	return svc, func() { db.Close() }, nil
}

var adminEnv = []struct{ env, field string }{
	{"EMAIL", "email"}, {"PASSWORD", "password"}, {"FIRST_NAME", "firstName"}, {"LAST_NAME", "lastName"}, {"ROLE", "role"},
}

// adminEnvNames name the new admin's fields by the variables
// create-central-admin reads them from.
func adminEnvNames() fieldNames {
	names := fieldNames{}
	for _, e := range adminEnv {
		names[e.field] = e.env
	}
	return names
}

func anyAdminEnv(getenv func(string) string) bool {
	for _, e := range adminEnv {
		if getenv(e.env) != "" {
			return true
		}
	}
	return false
}

func adminFromEnv(getenv func(string) string) (central.NewAdmin, error) {
	var missing []string
	for _, e := range adminEnv {
		if getenv(e.env) == "" {
			missing = append(missing, e.env)
		}
	}
	if len(missing) > 0 {
		return central.NewAdmin{}, fmt.Errorf("set %s, or run on a terminal with none of them set to be prompted (e.g. EMAIL=a@example.com PASSWORD=... FIRST_NAME=Ada LAST_NAME=Lovelace ROLE=superadmin silo create-central-admin)", strings.Join(missing, ", "))
	}
	return central.NewAdmin{
		Email: getenv("EMAIL"), Password: getenv("PASSWORD"),
		FirstName: getenv("FIRST_NAME"), LastName: getenv("LAST_NAME"), Role: getenv("ROLE"),
	}, nil
}

// prompter asks questions on a terminal.
type prompter interface {
	Line(prompt string) (string, error)
	Secret(prompt string) (string, error)
}

func promptAdmin(p prompter) (central.NewAdmin, error) {
	var in central.NewAdmin
	var err error
	ask := func(dst *string, prompt string) {
		if err == nil {
			*dst, err = p.Line(prompt)
		}
	}
	ask(&in.Email, "Email: ")
	ask(&in.FirstName, "First name: ")
	ask(&in.LastName, "Last name: ")
	ask(&in.Role, "Role (superadmin/admin) [superadmin]: ")
	if err != nil {
		return in, err
	}
	if in.Role == "" {
		in.Role = central.RoleSuperadmin
	}
	for attempt := 0; attempt < 3; attempt++ {
		pw, err := p.Secret("Password (at least 10 characters): ")
		if err != nil {
			return in, err
		}
		confirm, err := p.Secret("Confirm password: ")
		if err != nil {
			return in, err
		}
		if pw == confirm {
			in.Password = pw
			return in, nil
		}
		if _, err := p.Line("Passwords do not match. Press Enter to try again. "); err != nil {
			return in, err
		}
	}
	return in, errors.New("the passwords did not match three times; no admin was created")
}

type terminalPrompter struct {
	in  *os.File
	r   *bufio.Reader
	out io.Writer
}

func newTerminalPrompter(in *os.File, out io.Writer) *terminalPrompter {
	return &terminalPrompter{in: in, r: bufio.NewReader(in), out: out}
}

func (t *terminalPrompter) Line(prompt string) (string, error) {
	fmt.Fprint(t.out, prompt)
	s, err := t.r.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && s != "") {
		return "", fmt.Errorf("could not read the answer: %w", err)
	}
	return strings.TrimSpace(s), nil
}

func (t *terminalPrompter) Secret(prompt string) (string, error) {
	fmt.Fprint(t.out, prompt)
	b, err := term.ReadPassword(int(t.in.Fd()))
	fmt.Fprintln(t.out)
	if err != nil {
		return "", fmt.Errorf("could not read the password: %w", err)
	}
	return string(b), nil
}
