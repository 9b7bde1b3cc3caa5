package tenantdb

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// IdleSession takes one idle shared connection, reads what a tenant would
// inherit from it (the active role, the selected database, whether a
// transaction is open) and gives it back.
func IdleSession(ctx context.Context, s *SharedConns) (role, database string, inTx int64, err error) {
	var c driver.Conn
	select {
	case c = <-s.idle:
	default:
		return "", "", 0, errors.New("no idle shared connection")
	}
	defer s.put(c)
	rows, err := c.(driver.QueryerContext).QueryContext(ctx, "SELECT COALESCE(CURRENT_ROLE(), 'NONE'), COALESCE(DATABASE(), 'NULL'), @@in_transaction", nil)
	if err != nil {
		return "", "", 0, err
	}
	defer rows.Close()
	vals := make([]driver.Value, 3)
	if err := rows.Next(vals); err != nil && err != io.EOF {
		return "", "", 0, err
	}
	str := func(v driver.Value) string {
		if b, ok := v.([]byte); ok {
			return string(b)
		}
		return fmt.Sprint(v)
	}
	n, err := strconv.ParseInt(str(vals[2]), 10, 64)
	return str(vals[0]), str(vals[1]), n, err
}

// SettleShared waits until the connections released so far are reset and
// back (or closed).
func SettleShared(s *SharedConns) { s.returns.Wait() }
