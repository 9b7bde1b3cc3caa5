package tenantdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/internal/lib/dberr"
	"github.com/silo-dev/silo/internal/lib/sqllike"
	"github.com/silo-dev/silo/migrations"
)

// Identifier patterns. Names are checked against them before they are
// quoted into DDL, which cannot take placeholders for identifiers.
var (
	databasePattern = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)
	userPattern     = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)
)

// ValidDatabase reports whether name is a tenant database name Silo accepts.
func ValidDatabase(name string) bool { return databasePattern.MatchString(name) }

// ValidUser reports whether name is a tenant DB user name Silo accepts
// (MySQL 8 allows at most 32 characters).
func ValidUser(name string) bool { return userPattern.MatchString(name) }

// TenantPrivileges are all a tenant's DB user may do, and only on its own
// database: read and write rows. Schema changes run as the admin account.
const TenantPrivileges = "SELECT, INSERT, UPDATE, DELETE"

// Server administers tenant databases and users on one MySQL server through
// the tenant admin account (SILO_TENANT_ADMIN_DSN).
type Server struct {
	cfg *mysql.Config
	db  *sqlx.DB
	// UserHost is the host part of tenant DB accounts ('%' by default, so
	// that Silo may connect from another host or container).
	userHost string
}

// OpenServer connects to the server in cfg (no database selected).
func OpenServer(ctx context.Context, cfg *mysql.Config) (*Server, error) {
	c := cfg.Clone()
	c.DBName = ""
	// DDL cannot use server-side placeholders; client-side interpolation
	// escapes the values instead.
	c.InterpolateParams = true
	db, err := open(c)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(20)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to the tenant database server %s: %w", c.Addr, dberr.Translate(err))
	}
	return &Server{cfg: c, db: db, userHost: "%"}, nil
}

func open(cfg *mysql.Config) (*sqlx.DB, error) {
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	return sqlx.NewDb(sql.OpenDB(conn), "mysql"), nil
}

// Close closes the admin connections.
func (s *Server) Close() error { return s.db.Close() }

// Addr is the server's address, recorded as each tenant's database host.
func (s *Server) Addr() string { return s.cfg.Addr }

// NewPassword returns a random DB password (192 bits, URL-safe characters).
func NewPassword() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func checkDatabase(name string) error {
	if !ValidDatabase(name) {
		return fmt.Errorf("invalid tenant database name %q", name)
	}
	return nil
}

func checkUser(name string) error {
	if !ValidUser(name) {
		return fmt.Errorf("invalid tenant DB user name %q", name)
	}
	return nil
}

// CreateDatabase creates the database if it does not exist.
func (s *Server) CreateDatabase(ctx context.Context, name string) error {
	if err := checkDatabase(name); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS `"+name+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
	return dberr.Translate(err)
}

// CreateUser creates the DB user if needed and sets its password, so that a
// rerun after a crash leaves the user with exactly this password.
func (s *Server) CreateUser(ctx context.Context, user, password string) error {
	if err := checkUser(user); err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, "CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?", user, s.userHost, password); err != nil {
		return dberr.Translate(err)
	}
	_, err := s.db.ExecContext(ctx, "ALTER USER ?@? IDENTIFIED BY ? ACCOUNT UNLOCK", user, s.userHost, password)
	return dberr.Translate(err)
}

// Grant gives user the tenant privileges on database, and nothing else.
func (s *Server) Grant(ctx context.Context, user, database string) error {
	if err := checkUser(user); err != nil {
		return err
	}
	if err := checkDatabase(database); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, "GRANT "+TenantPrivileges+" ON "+GrantTarget(database)+" TO ?@?", user, s.userHost)
	return dberr.Translate(err)
}

// grantPattern escapes the LIKE wildcards of a database name: GRANT and
// REVOKE read `_` and `%` in a database name as wildcards, so an unescaped
// `silo_t_ab_cd` would also grant on `silo_tXabYcd` (another tenant's
// database, or the central one). It is also the form the server stores and
// information_schema.SCHEMA_PRIVILEGES shows.
func grantPattern(database string) string {
	return sqllike.Escape(database)
}

// GrantTarget is the privilege level "`db`.*" naming exactly database, its
// wildcards escaped. Every GRANT and REVOKE on a tenant database uses it.
func GrantTarget(database string) string { return "`" + grantPattern(database) + "`.*" }

// privilegeRow is one row of information_schema's privilege tables.
type privilegeRow struct {
	Schema    string `db:"schema_name"`
	Privilege string `db:"privilege"`
	Grantable string `db:"grantable"`
}

// GrantProblems compares user's privileges with the only ones a tenant DB
// user may hold (TenantPrivileges on exactly database, escaped, without
// GRANT OPTION) and describes every difference; none when they match. It
// reads information_schema (USER_PRIVILEGES, SCHEMA_PRIVILEGES,
// TABLE_PRIVILEGES, COLUMN_PRIVILEGES), which MariaDB and MySQL both have.
func (s *Server) GrantProblems(ctx context.Context, user, database string) ([]string, error) {
	if err := checkUser(user); err != nil {
		return nil, err
	}
	if err := checkDatabase(database); err != nil {
		return nil, err
	}
	grantee := "'" + user + "'@'" + s.userHost + "'"
	return s.privilegeProblems(ctx, []any{grantee, grantee}, database)
}

// privilegeProblems describes how the privileges of the grantees (two
// spellings of one account) differ from the tenant privileges on database.
func (s *Server) privilegeProblems(ctx context.Context, grantees []any, database string) ([]string, error) {
	var rows []privilegeRow
	in := "GRANTEE IN (?, ?)"
	err := s.db.SelectContext(ctx, &rows, `
SELECT '*' AS schema_name, PRIVILEGE_TYPE AS privilege, IS_GRANTABLE AS grantable FROM information_schema.USER_PRIVILEGES WHERE `+in+`
UNION ALL SELECT TABLE_SCHEMA, PRIVILEGE_TYPE, IS_GRANTABLE FROM information_schema.SCHEMA_PRIVILEGES WHERE `+in+`
UNION ALL SELECT CONCAT(TABLE_SCHEMA, '.', TABLE_NAME), PRIVILEGE_TYPE, IS_GRANTABLE FROM information_schema.TABLE_PRIVILEGES WHERE `+in+`
UNION ALL SELECT CONCAT(TABLE_SCHEMA, '.', TABLE_NAME, '.', COLUMN_NAME), PRIVILEGE_TYPE, IS_GRANTABLE FROM information_schema.COLUMN_PRIVILEGES WHERE `+in,
		slices.Concat(grantees, grantees, grantees, grantees)...)
	if err != nil {
		return nil, dberr.Translate(err)
	}
	return grantDifferences(rows, grantPattern(database)), nil
}

// grantDifferences describes how rows differ from TenantPrivileges on the
// escaped database pattern own.
func grantDifferences(rows []privilegeRow, own string) []string {
	var problems []string
	want := map[string]bool{}
	for _, p := range strings.Split(TenantPrivileges, ", ") {
		want[p] = true
	}
	got := map[string]bool{}
	for _, r := range rows {
		if r.Grantable == "YES" {
			problems = append(problems, "GRANT OPTION on "+r.Schema)
		}
		switch {
		case r.Schema == "*":
			if r.Privilege != "USAGE" {
				problems = append(problems, "global privilege "+r.Privilege)
			}
		case r.Schema != own:
			problems = append(problems, r.Privilege+" on "+r.Schema)
		case !want[r.Privilege]:
			problems = append(problems, "extra privilege "+r.Privilege+" on "+r.Schema)
		default:
			got[r.Privilege] = true
		}
	}
	for _, p := range strings.Split(TenantPrivileges, ", ") {
		if !got[p] {
			problems = append(problems, "missing "+p+" on "+own)
		}
	}
	slices.Sort(problems)
	return slices.Compact(problems)
}

// FixGrants leaves user with exactly the tenant privileges on database and
// reports whether it changed anything. Missing privileges are granted;
// anything more (the wildcard grants of older versions, other databases,
// global privileges, GRANT OPTION) is revoked, all of it at once, and the
// tenant privileges granted again.
func (s *Server) FixGrants(ctx context.Context, user, database string) (bool, error) {
	problems, err := s.GrantProblems(ctx, user, database)
	if err != nil || len(problems) == 0 {
		return false, err
	}
	if err := s.Grant(ctx, user, database); err != nil {
		return false, err
	}
	if problems, err = s.GrantProblems(ctx, user, database); err != nil || len(problems) == 0 {
		return true, err
	}
	if _, err := s.db.ExecContext(ctx, "REVOKE ALL PRIVILEGES, GRANT OPTION FROM ?@?", user, s.userHost); err != nil {
		return true, dberr.Translate(err)
	}
	return true, s.Grant(ctx, user, database)
}

// LockUser stops user from logging in, keeping it and its grants.
func (s *Server) LockUser(ctx context.Context, user string) error {
	if err := checkUser(user); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, "ALTER USER IF EXISTS ?@? ACCOUNT LOCK", user, s.userHost)
	return dberr.Translate(err)
}

// DropDatabase drops the database if it exists.
func (s *Server) DropDatabase(ctx context.Context, name string) error {
	if err := checkDatabase(name); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+name+"`")
	return dberr.Translate(err)
}

// DropUser drops the DB user if it exists.
func (s *Server) DropUser(ctx context.Context, user string) error {
	if err := checkUser(user); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, "DROP USER IF EXISTS ?@?", user, s.userHost)
	return dberr.Translate(err)
}

// Migrate applies every pending migration of set to database and returns
// the set's version there.
func (s *Server) Migrate(ctx context.Context, database string, set migrations.Set) (int64, error) {
	return s.MigrateTo(ctx, database, set, true, 0)
}

// MigrateTo moves database up (to version to, or the latest when to is 0)
// or down to version to, and returns the version it is at, also after a
// failure part-way; -1 when the database could not be asked. goose runs on a pool of its own, which it closes, and
// holds the database's GET_LOCK session lock while it works.
func (s *Server) MigrateTo(ctx context.Context, database string, set migrations.Set, up bool, to int64) (int64, error) {
	p, err := s.provider(database, set)
	if err != nil {
		return 0, err
	}
	defer p.Close()
	return migrateTo(ctx, p, up, to)
}

// migrateTo runs p up or down and reads the version it reached. A
// cancelled ctx lets the migration in flight finish and record its version
// (migrations.Uncancelled), for up to migrations.Grace.
func migrateTo(ctx context.Context, p *migrations.Provider, up bool, to int64) (int64, error) {
	ctx, stop := migrations.Uncancelled(ctx, migrations.Grace)
	defer stop()
	var err error
	switch {
	case up && to == 0:
		_, err = migrations.Up(ctx, p)
	case up:
		_, err = p.UpTo(ctx, to)
	default:
		_, err = p.DownTo(ctx, to)
	}
	v, verr := p.GetDBVersion(ctx)
	if verr != nil {
		v = -1
	}
	if err != nil {
		return v, dberr.Translate(err)
	}
	return v, dberr.Translate(verr)
}

// Version reads database's goose version (for operators who distrust the catalog).
func (s *Server) Version(ctx context.Context, database string, set migrations.Set) (int64, error) {
	p, err := s.provider(database, set)
	if err != nil {
		return 0, err
	}
	defer p.Close()
	v, err := p.GetDBVersion(ctx)
	return v, dberr.Translate(err)
}

// provider opens goose for set on database, on a pool of its own that
// closing the provider closes, locked by the database's GET_LOCK.
func (s *Server) provider(database string, set migrations.Set) (*migrations.Provider, error) {
	if err := checkDatabase(database); err != nil {
		return nil, err
	}
	cfg := s.cfg.Clone()
	cfg.DBName = database
	cfg.MultiStatements = false
	db, err := open(cfg)
	if err != nil {
		return nil, err
	}
	p, err := migrations.NewProvider(db.DB, set.FS, set.Table, s.lockKey(database))
	if err != nil {
		db.Close()
		return nil, err
	}
	return p, nil
}

// lockKey names database's migration lock: every runner, of any release,
// must derive the same.
func (s *Server) lockKey(database string) string { return "tenant:" + s.cfg.Addr + "/" + database }

// Databases lists the databases whose names start with prefix.
func (s *Server) Databases(ctx context.Context, prefix string) ([]string, error) {
	var names []string
	err := s.db.SelectContext(ctx, &names,
		"SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE ? ORDER BY SCHEMA_NAME", sqllike.Prefix(prefix))
	return names, dberr.Translate(err)
}

// Users lists the DB users (on the tenant host) whose names start with prefix.
func (s *Server) Users(ctx context.Context, prefix string) ([]string, error) {
	var names []string
	err := s.db.SelectContext(ctx, &names,
		"SELECT User FROM mysql.user WHERE User LIKE ? AND Host = ? ORDER BY User", sqllike.Prefix(prefix), s.userHost)
	return names, dberr.Translate(err)
}

// TenantConfig returns the DSN a tenant's own DB user connects with.
func (s *Server) TenantConfig(database, user, password string) *mysql.Config {
	return TenantConfig(s.cfg, database, user, password)
}

// TenantConfig returns the DSN a tenant's own DB user connects with to
// the server whose admin DSN is server (its address, TLS and timeouts).
func TenantConfig(server *mysql.Config, database, user, password string) *mysql.Config {
	cfg := server.Clone()
	cfg.DBName = database
	cfg.User = user
	cfg.Passwd = password
	cfg.InterpolateParams = true
	return cfg
}

// Open connects to a tenant database with cfg (normally TenantConfig).
func Open(ctx context.Context, cfg *mysql.Config) (*sqlx.DB, error) {
	db, err := open(cfg)
	if err != nil {
		return nil, err
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, dberr.Translate(err)
	}
	return db, nil
}

// CreateTenantUser connects to database as its own DB user (proving the
// account and its grants work) and creates a tenant user with roles.
func (s *Server) CreateTenantUser(ctx context.Context, database, user, password string, u *User, roles ...string) error {
	db, err := Open(ctx, s.TenantConfig(database, user, password))
	if err != nil {
		return accountError(err)
	}
	defer db.Close()
	return CreateUser(ctx, db, u, roles...)
}

// WithTenantDB runs fn on a short-lived connection to database as its own
// DB user (for central-plane work inside one tenant). A refused account is
// TENANT_UNAVAILABLE with an AccountError cause.
func (s *Server) WithTenantDB(ctx context.Context, database, user, password string, fn func(*sqlx.DB) error) error {
	db, err := Open(ctx, s.TenantConfig(database, user, password))
	if err != nil {
		return accountError(err)
	}
	defer db.Close()
	return fn(db)
}
