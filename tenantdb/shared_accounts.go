package tenantdb

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/silo-dev/silo/internal/lib/dberr"
)

// The accounts of the shared connection mode (see SharedConns): one login
// per server that owns no data, and per tenant a role holding exactly the
// tenant privileges on the tenant's database, granted to the login. The
// syntax below is the same on MariaDB 10.11 and MySQL 8.4 (a role is
// `name`@'' on MariaDB and `name`@'%' on MySQL; both accept the bare name).

// ErrRolesActiveOnLogin is returned by EnsureSharedLogin on a MySQL server
// with activate_all_roles_on_login ON: every connection of the shared
// login would start with every tenant's role active.
var ErrRolesActiveOnLogin = errors.New("the shared connection mode needs activate_all_roles_on_login=OFF on the tenant server")

// EnsureSharedLogin creates the shared login if needed and sets its
// password, and checks that the server does not activate its roles on
// login (MySQL's activate_all_roles_on_login; MariaDB has no such
// setting).
func (s *Server) EnsureSharedLogin(ctx context.Context, login, password string) error {
	if err := checkUser(login); err != nil {
		return err
	}
	var name, value string
	err := s.db.QueryRowxContext(ctx, "SHOW GLOBAL VARIABLES LIKE 'activate_all_roles_on_login'").Scan(&name, &value)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return dberr.Translate(err)
	case strings.EqualFold(value, "ON"):
		return ErrRolesActiveOnLogin
	}
	return s.CreateUser(ctx, login, password)
}

// SharedLoginConfig returns the DSN the shared login connects with.
func (s *Server) SharedLoginConfig(login, password string) *mysql.Config {
	return s.TenantConfig(neutralDatabase, login, password)
}

// roleGrantees are the forms information_schema shows role as a grantee
// in: MariaDB's and MySQL's.
func roleGrantees(role string) []any {
	return []any{"'" + role + "'@''", "'" + role + "'@'%'"}
}

// RoleProblems compares role's privileges with the tenant privileges on
// exactly database, like GrantProblems; a missing role lacks them all.
func (s *Server) RoleProblems(ctx context.Context, role, database string) ([]string, error) {
	if err := checkRole(role); err != nil {
		return nil, err
	}
	if err := checkDatabase(database); err != nil {
		return nil, err
	}
	return s.privilegeProblems(ctx, roleGrantees(role), database)
}

// FixRole leaves role (created if missing) with exactly the tenant
// privileges on database and granted to login, and reports whether it
// changed the role's privileges.
func (s *Server) FixRole(ctx context.Context, role, database, login string) (bool, error) {
	if err := checkUser(login); err != nil {
		return false, err
	}
	problems, err := s.RoleProblems(ctx, role, database)
	if err != nil {
		return false, err
	}
	if len(problems) > 0 {
		if err := s.fixRolePrivileges(ctx, role, database); err != nil {
			return true, err
		}
	}
	_, err = s.db.ExecContext(ctx, "GRANT `"+role+"` TO ?@?", login, s.userHost)
	return len(problems) > 0, dberr.Translate(err)
}

func (s *Server) fixRolePrivileges(ctx context.Context, role, database string) error {
	grant := func() error {
		_, err := s.db.ExecContext(ctx, "GRANT "+TenantPrivileges+" ON "+GrantTarget(database)+" TO `"+role+"`")
		return dberr.Translate(err)
	}
	if _, err := s.db.ExecContext(ctx, "CREATE ROLE IF NOT EXISTS `"+role+"`"); err != nil {
		return dberr.Translate(err)
	}
	if err := grant(); err != nil {
		return err
	}
	problems, err := s.RoleProblems(ctx, role, database)
	if err != nil || len(problems) == 0 {
		return err
	}
	if _, err := s.db.ExecContext(ctx, "REVOKE ALL PRIVILEGES, GRANT OPTION FROM `"+role+"`"); err != nil {
		return dberr.Translate(err)
	}
	return grant()
}

// RevokeRole takes role from login, if granted (a deleted tenant's).
func (s *Server) RevokeRole(ctx context.Context, role, login string) error {
	if err := checkRole(role); err != nil {
		return err
	}
	if err := checkUser(login); err != nil {
		return err
	}
	granted, err := s.SharedRoles(ctx, login)
	if err != nil || !granted[role] {
		return err
	}
	_, err = s.db.ExecContext(ctx, "REVOKE `"+role+"` FROM ?@?", login, s.userHost)
	return dberr.Translate(err)
}

// DropRole drops role if it exists.
func (s *Server) DropRole(ctx context.Context, role string) error {
	if err := checkRole(role); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, "DROP ROLE IF EXISTS `"+role+"`")
	return dberr.Translate(err)
}

// SharedRoles lists the roles granted to login (none if login does not
// exist), read from SHOW GRANTS: MariaDB prints `GRANT `r` TO ...` per
// role, MySQL `GRANT `r1`@`%`,`r2`@`%` TO ...`.
func (s *Server) SharedRoles(ctx context.Context, login string) (map[string]bool, error) {
	if err := checkUser(login); err != nil {
		return nil, err
	}
	var lines []string
	err := s.db.SelectContext(ctx, &lines, "SHOW GRANTS FOR ?@?", login, s.userHost)
	var me *mysql.MySQLError
	if errors.As(err, &me) && me.Number == 1141 { // no such grant: no login
		return map[string]bool{}, nil
	}
	if err != nil {
		return nil, dberr.Translate(err)
	}
	return parseRoleGrants(lines), nil
}

func parseRoleGrants(lines []string) map[string]bool {
	roles := map[string]bool{}
	for _, l := range lines {
		rest, ok := strings.CutPrefix(l, "GRANT ")
		list, _, found := strings.Cut(rest, " TO ")
		if !ok || !found || strings.Contains(list, " ON ") || !strings.HasPrefix(list, "`") {
			continue
		}
		for _, r := range strings.Split(list, ",") {
			name, _, _ := strings.Cut(strings.TrimSpace(r), "@")
			roles[strings.Trim(name, "`")] = true
		}
	}
	return roles
}

// SharedLoginName is the shared login of the tenant server whose tenant
// names start with prefix (at most 22 characters: prefixes have at most
// 16). Tenant DB users are prefix, "u", hex digits, so it is none of them.
func SharedLoginName(prefix string) string { return prefix + "shared" }
