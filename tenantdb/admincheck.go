package tenantdb

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// AdminCheckTimeout bounds CheckAdmin's connection and each of its reads.
const AdminCheckTimeout = 5 * time.Second

// AdminPrivileges are the global privileges (ON *.*) the tenant admin
// account of a database server needs, each with what Silo does with it:
// it creates and drops tenant databases and DB users, grants each DB user
// TenantPrivileges on its database (so it must hold them with GRANT
// OPTION), runs the tenant migrations (tables with indexes and foreign
// keys, altered and dropped later) and reads mysql.user and
// information_schema for repair.
var AdminPrivileges = []struct{ Name, Why string }{
	{"SELECT", "granted to tenant DB users; reads mysql.user for repair"},
	{"INSERT", "granted to tenant DB users; tenant migrations record their version"},
	{"UPDATE", "granted to tenant DB users"},
	{"DELETE", "granted to tenant DB users"},
	{"CREATE", "creates tenant databases and their tables"},
	{"DROP", "drops purged tenant databases and tables of migrations rolled back"},
	{"ALTER", "tenant migrations alter tables"},
	{"INDEX", "tenant migrations create indexes"},
	{"REFERENCES", "tenant migrations create foreign keys"},
	{"CREATE USER", "creates, locks and drops tenant DB users and roles"},
	{"GRANT OPTION", "grants tenant DB users their privileges"},
}

// mysqlRoleAdmin is the dynamic privilege MySQL wants to grant a role to a
// login (the shared connection mode); MariaDB's role creator may grant it.
const mysqlRoleAdmin = "ROLE_ADMIN"

// allIncludes are what ALL PRIVILEGES at the global level includes
// among AdminPrivileges (everything but GRANT OPTION).
var allIncludes = map[string]bool{
	"SELECT": true, "INSERT": true, "UPDATE": true, "DELETE": true, "CREATE": true, "DROP": true,
	"ALTER": true, "INDEX": true, "REFERENCES": true, "CREATE USER": true,
}

// CheckAdmin connects to the server of cfg as its account (within
// AdminCheckTimeout) and reports the server's version and what keeps the
// account from being a tenant admin account: a server version Silo does
// not support (MariaDB before 10.6, MySQL before 8.0), and each missing
// global privilege of AdminPrivileges (on MySQL also ROLE_ADMIN), by name.
// Privileges of the account's active roles count. err is a failure to
// connect or read, never a missing privilege; its text carries the
// driver's reason but never the password.
func CheckAdmin(ctx context.Context, cfg *mysql.Config) (version string, missing []string, err error) {
	c := cfg.Clone()
	c.DBName = ""
	c.Timeout, c.ReadTimeout, c.WriteTimeout = AdminCheckTimeout, AdminCheckTimeout, AdminCheckTimeout
	ctx, cancel := context.WithTimeout(ctx, 2*AdminCheckTimeout)
	defer cancel()
	connector, err := mysql.NewConnector(c)
	if err != nil {
		return "", nil, err
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return "", nil, scrub(err, cfg.Passwd)
	}
	defer conn.Close()
	if err := conn.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		return "", nil, scrub(err, cfg.Passwd)
	}
	mariadb := strings.Contains(strings.ToLower(version), "mariadb")
	if msg := unsupportedVersion(version, mariadb); msg != "" {
		missing = append(missing, msg)
	}
	global, err := globalGrants(ctx, conn, mariadb)
	if err != nil {
		return version, nil, scrub(err, cfg.Passwd)
	}
	for _, p := range AdminPrivileges {
		if !global[p.Name] && !(global["ALL PRIVILEGES"] && allIncludes[p.Name]) {
			missing = append(missing, p.Name)
		}
	}
	if !mariadb && !global[mysqlRoleAdmin] {
		missing = append(missing, mysqlRoleAdmin)
	}
	return version, missing, nil
}

// scrub takes the password out of a driver error's text, should it ever
// be there.
func scrub(err error, password string) error {
	if password == "" || !strings.Contains(err.Error(), password) {
		return err
	}
	return fmt.Errorf("%s", strings.ReplaceAll(err.Error(), password, "***"))
}

var versionNumber = regexp.MustCompile(`^(\d+)\.(\d+)`)

// unsupportedVersion describes why Silo refuses a server of version, or
// is "" when it supports it.
func unsupportedVersion(version string, mariadb bool) string {
	m := versionNumber.FindStringSubmatch(version)
	if m == nil {
		return "server version " + version + " is not understood: Silo needs MariaDB 10.6 or later, or MySQL 8.0 or later"
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	switch {
	case mariadb && (major < 10 || major == 10 && minor < 6):
		return "server version " + version + " is not supported: Silo needs MariaDB 10.6 or later"
	case !mariadb && major < 8:
		return "server version " + version + " is not supported: Silo needs MySQL 8.0 or later"
	}
	return ""
}

// grantLine is one line of SHOW GRANTS at the global level.
var grantLine = regexp.MustCompile(`^GRANT (.+?) ON \*\.\* TO `)

// globalGrants reads the global privileges of the connection's account and
// active roles from SHOW GRANTS, GRANT OPTION included when granted.
func globalGrants(ctx context.Context, conn *sql.Conn, mariadb bool) (map[string]bool, error) {
	var role sql.NullString
	if err := conn.QueryRowContext(ctx, "SELECT CURRENT_ROLE()").Scan(&role); err != nil {
		return nil, err
	}
	queries := []string{"SHOW GRANTS FOR CURRENT_USER()"}
	switch {
	case mariadb && role.Valid && role.String != "":
		queries = append(queries, "SHOW GRANTS FOR CURRENT_ROLE")
	case !mariadb && role.Valid && role.String != "" && role.String != "NONE":
		// MySQL prints the active roles quoted (`r`@`%`,`s`@`%`), as USING wants them.
		queries = []string{"SHOW GRANTS FOR CURRENT_USER() USING " + role.String}
	}
	out := map[string]bool{}
	for _, q := range queries {
		lines, err := queryStrings(ctx, conn, q)
		if err != nil {
			return nil, err
		}
		for _, l := range lines {
			m := grantLine.FindStringSubmatch(l)
			if m == nil {
				continue
			}
			for _, p := range strings.Split(m[1], ",") {
				out[strings.ToUpper(strings.TrimSpace(p))] = true
			}
			if strings.Contains(l, " WITH GRANT OPTION") {
				out["GRANT OPTION"] = true
			}
		}
	}
	return out, nil
}

func queryStrings(ctx context.Context, conn *sql.Conn, q string) ([]string, error) {
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
