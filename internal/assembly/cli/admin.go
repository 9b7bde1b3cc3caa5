package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/internal/lib/login"
)

// createCentralAdmin creates a central admin from EMAIL, PASSWORD,
// FIRST_NAME, LAST_NAME and ROLE when any of them is set; otherwise it
// prompts when stdin is a terminal, and fails listing the variables when not.
func createCentralAdmin(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, _, err := loadConfig("create-central-admin", args, getenv, stderr, false, nil)
	if err != nil {
		return err
	}
	var in central.NewAdmin
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) && !anyAdminEnv(getenv) {
		in, err = promptAdmin(newTerminalPrompter(f, stdout))
	} else {
		in, err = adminFromEnv(getenv)
	}
	if err != nil {
		return err
	}

	if _, err := central.NewMigrator(cfg.CentralDSN).Up(ctx); err != nil {
		return fmt.Errorf("migrate central database %s: %w", describeDSN(cfg), err)
	}
	db, err := central.Open(ctx, cfg.CentralDSN)
	if err != nil {
		return err
	}
	defer db.Close()
	guard := login.NewGuard(login.GuardOptions{Cost: cfg.BcryptCost, PerIPPerMinute: 1, PerEmailPerMinute: 1})
	svc := central.NewService(db, nil, guard, cfg.RefreshTokenTTL, slog.New(slog.NewTextHandler(stderr, nil)))
	a, err := svc.Create(ctx, in)
	if err != nil {
		return describeError(err)
	}
	fmt.Fprintf(stdout, "Created %s %s (id %s)\n", a.Role, a.Email, a.ID)
	return nil
}

// describeError turns a validation error into one line per field.
func describeError(err error) error {
	var e *apperr.Error
	if !errors.As(err, &e) {
		return err
	}
	if len(e.Details) == 0 {
		return errors.New(e.Message)
	}
	lines := make([]string, 0, len(e.Details))
	for _, d := range e.Details {
		lines = append(lines, envName(d.Field)+" "+d.Message)
	}
	return errors.New(strings.Join(lines, "; "))
}

var adminEnv = []struct{ env, field string }{
	{"EMAIL", "email"}, {"PASSWORD", "password"}, {"FIRST_NAME", "firstName"}, {"LAST_NAME", "lastName"}, {"ROLE", "role"},
}

func envName(field string) string {
	if field == "admin.password" {
		return "ADMIN_PASSWORD" // silo tenant create
	}
	for _, e := range adminEnv {
		if e.field == field {
			return e.env
		}
	}
	return field
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
	return in, errors.New("passwords did not match three times")
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
		return "", fmt.Errorf("reading answer: %w", err)
	}
	return strings.TrimSpace(s), nil
}

func (t *terminalPrompter) Secret(prompt string) (string, error) {
	fmt.Fprint(t.out, prompt)
	b, err := term.ReadPassword(int(t.in.Fd()))
	fmt.Fprintln(t.out)
	if err != nil {
		return "", fmt.Errorf("reading password: %w", err)
	}
	return string(b), nil
}
