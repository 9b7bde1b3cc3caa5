package testdb

import (
	"context"
	"database/sql"
	"strings"
	"testing"
)

// Queryer is a connection to the test server: a *sql.DB or *sqlx.DB.
type Queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Like is the LIKE pattern of the names that start with prefix (its `_`
// and `%` escaped).
func Like(prefix string) string {
	return strings.NewReplacer(`\`, `\\`, "_", `\_`, "%", `\%`).Replace(prefix) + "%"
}

// DatabaseExists reports whether database name exists on db's server.
func DatabaseExists(tb testing.TB, db Queryer, name string) bool {
	tb.Helper()
	return count(tb, db, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", name) == 1
}

// UserExists reports whether a DB account named name exists on db's
// server, on any host.
func UserExists(tb testing.TB, db Queryer, name string) bool {
	tb.Helper()
	return count(tb, db, "SELECT COUNT(*) FROM mysql.user WHERE User = ?", name) > 0
}

// Databases lists, sorted, the databases on db's server whose names start
// with prefix.
func Databases(tb testing.TB, db Queryer, prefix string) []string {
	tb.Helper()
	return strs(tb, db, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE ? ORDER BY 1", Like(prefix))
}

// Users lists, sorted, the DB account names on db's server that start
// with prefix (an account on several hosts once per host).
func Users(tb testing.TB, db Queryer, prefix string) []string {
	tb.Helper()
	return strs(tb, db, "SELECT User FROM mysql.user WHERE User LIKE ? ORDER BY 1", Like(prefix))
}

// GrantedSchemas lists the database patterns (as stored: `_` and `%`
// escaped when the grant names one database) on which DB user user@'%'
// holds privileges.
func GrantedSchemas(tb testing.TB, db Queryer, user string) []string {
	tb.Helper()
	return strs(tb, db, "SELECT DISTINCT TABLE_SCHEMA FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = ?", "'"+user+"'@'%'")
}

func count(tb testing.TB, db Queryer, query string, args ...any) int {
	tb.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		tb.Fatalf("testdb: %s: %v", query, err)
	}
	return n
}

func strs(tb testing.TB, db Queryer, query string, args ...any) []string {
	tb.Helper()
	rows, err := db.QueryContext(context.Background(), query, args...)
	if err != nil {
		tb.Fatalf("testdb: %s: %v", query, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			tb.Fatalf("testdb: %s: %v", query, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		tb.Fatalf("testdb: %s: %v", query, err)
	}
	return out
}
