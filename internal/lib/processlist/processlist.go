// Package processlist counts a MySQL/MariaDB server's connections, for the
// tests and the load tool that watch how many connections Silo holds.
//
// It reads SHOW FULL PROCESSLIST, not information_schema.PROCESSLIST, which
// the server fills into an on-disk temporary table (its INFO column is
// LONGTEXT) on every poll.
package processlist

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// Count returns how many of the server's connections match(user, info)
// accepts; info is the statement running, or "" when idle. db needs the
// PROCESS privilege to see other users' connections.
func Count(ctx context.Context, db *sql.DB, match func(user, info string) bool) (int, error) {
	rows, err := db.QueryContext(ctx, "SHOW FULL PROCESSLIST")
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	userCol, infoCol := -1, -1
	for i, c := range cols {
		ptrs[i] = &vals[i]
		switch strings.ToLower(c) {
		case "user":
			userCol = i
		case "info":
			infoCol = i
		}
	}
	if userCol < 0 || infoCol < 0 {
		return 0, fmt.Errorf("SHOW FULL PROCESSLIST has no User or Info column: %v", cols)
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return 0, err
		}
		if match(string(vals[userCol]), string(vals[infoCol])) {
			n++
		}
	}
	return n, rows.Err()
}

// UserPrefix matches the connections of DB users whose names start with prefix.
func UserPrefix(prefix string) func(user, info string) bool {
	return func(user, _ string) bool { return strings.HasPrefix(user, prefix) }
}
