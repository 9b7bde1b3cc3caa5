package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/router"
)

// The central admins' commands change what the superadmin's HTTP routes
// (/api/central/admins) change, through the same Service methods: the same
// rules (the last active superadmin stays) and the same audit entries.

func adminCmd(s *session) *cobra.Command {
	return group("admin", "list central admins, change their role or active flag, remove them",
		`Manage central admins, named by email, as a superadmin does through
/api/central/admins: the last active superadmin can be neither demoted, deactivated
nor removed. Deactivating or removing an admin ends their sessions. Each change is
recorded in the central audit log with the operator ($USER) as its actor. Create
admins with "silo create-central-admin".`,
		s.adminListCmd(), s.adminSetCmd(), s.adminRemoveCmd())
}

// adminFields name the admin service's fields as the admin commands take them.
var adminFields = fieldNames{"role": "--role", "firstName": "--first-name", "lastName": "--last-name"}

// adminRunE runs run for an admin command once the central database is
// open (readOnly: without creating or migrating it), after confirm, if any.
func (s *session) adminRunE(asJSON *bool, readOnly bool, confirm func(args []string) error,
	run func(ctx context.Context, svc *central.Service, args []string, out output) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		cfg, err := s.config(false)
		if err != nil {
			return err
		}
		if confirm != nil {
			if err := confirm(args); err != nil {
				return err
			}
		}
		svc, closeDB, err := s.openAdmins(cmd.Context(), cfg, readOnly)
		if err != nil {
			return err
		}
		defer closeDB()
		return run(s.asOperator(cmd.Context()), svc, args, output{w: s.stdout, json: *asJSON})
	}
}

func (s *session) adminListCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{Use: "list", Short: "list the central admins", Args: positional(0, 0, "")}
	c.RunE = s.adminRunE(&asJSON, true, nil, func(ctx context.Context, svc *central.Service, _ []string, out output) error {
		var all []central.Admin
		for cursor := ""; ; {
			page, next, err := svc.ListAdmins(ctx, 200, cursor)
			if err != nil {
				return describeError(err, nil)
			}
			all = append(all, page...)
			if cursor = next; next == "" {
				break
			}
		}
		return out.admins(all)
	})
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON (an array)")
	return c
}

func (s *session) adminSetCmd() *cobra.Command {
	var p central.AdminPatch
	var role, first, last string
	var active, asJSON bool
	c := &cobra.Command{
		Use:     "set EMAIL",
		Short:   "change a central admin's role, active flag or names",
		Example: "  silo admin set ada@example.com --role admin\n  silo admin set ada@example.com --active=false",
		Args:    positional(1, 1, ""),
	}
	c.PreRunE = func(cmd *cobra.Command, _ []string) error {
		p = central.AdminPatch{}
		given := cmd.Flags().Changed
		if given("role") {
			p.Role = &role
		}
		if given("first-name") {
			p.FirstName = &first
		}
		if given("last-name") {
			p.LastName = &last
		}
		if given("active") {
			p.IsActive = &active
		}
		if p == (central.AdminPatch{}) {
			return usageError("nothing to change: give --role, --active, --first-name or --last-name; usage: " + cmd.UseLine())
		}
		return nil
	}
	c.RunE = s.adminRunE(&asJSON, false, nil, func(ctx context.Context, svc *central.Service, args []string, out output) error {
		a, err := svc.AdminByEmail(ctx, args[0])
		if err == nil {
			a, err = svc.UpdateAdmin(ctx, a.ID, p)
		}
		if err != nil {
			return describeError(err, adminFields)
		}
		return out.admin(a)
	})
	f := c.Flags()
	f.StringVar(&role, "role", "", "the admin's `ROLE`: admin or superadmin")
	f.BoolVar(&active, "active", true, "--active=false deactivates the admin (and ends their sessions); --active reactivates them")
	f.StringVar(&first, "first-name", "", "the admin's first `NAME`")
	f.StringVar(&last, "last-name", "", "the admin's last `NAME`")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func (s *session) adminRemoveCmd() *cobra.Command {
	var yes, asJSON bool
	c := &cobra.Command{
		Use:   "remove EMAIL",
		Short: "remove a central admin and end their sessions (asks first)",
		Long: `Remove a central admin and their sessions. On a terminal it asks you to type the
email; without one it refuses unless --yes.`,
		Args: positional(1, 1, ""),
	}
	confirm := func(args []string) error {
		return s.con.confirm(s.stderr, yes, fmt.Sprintf("This removes central admin %s and ends their sessions.", args[0]), args[0])
	}
	c.RunE = s.adminRunE(&asJSON, false, confirm, func(ctx context.Context, svc *central.Service, args []string, out output) error {
		a, err := svc.AdminByEmail(ctx, args[0])
		if err == nil {
			err = svc.DeleteAdmin(ctx, a.ID)
		}
		if err != nil {
			return describeError(err, adminFields)
		}
		return out.message(map[string]string{"email": a.Email, "result": "removed"}, "central admin "+a.Email+" removed")
	})
	c.Flags().BoolVar(&yes, "yes", false, "remove without asking")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

// admin prints one central admin (a JSON object).
func (o output) admin(a *central.Admin) error {
	if o.json {
		return o.encode(router.ViewAdmin(a))
	}
	return adminTable(o.w, []central.Admin{*a})
}

// admins prints central admins: a table, or a JSON array of the API's views.
func (o output) admins(as []central.Admin) error {
	if o.json {
		views := make([]router.AdminView, 0, len(as))
		for i := range as {
			views = append(views, router.ViewAdmin(&as[i]))
		}
		return o.encode(views)
	}
	return adminTable(o.w, as)
}

func adminTable(w io.Writer, as []central.Admin) error {
	t := newTable(w, "EMAIL", "NAME", "ROLE", "ACTIVE", "CREATED", "ID")
	for _, a := range as {
		t.row(a.Email, a.FirstName+" "+a.LastName, a.Role, strconv.FormatBool(a.IsActive), a.CreatedAt.Format("2006-01-02 15:04:05Z"), a.ID)
	}
	return t.flush()
}
