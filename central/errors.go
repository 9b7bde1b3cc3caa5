package central

import (
	"context"
	"database/sql/driver"
	"errors"
	"net"

	"github.com/go-sql-driver/mysql"

	"github.com/silo-dev/silo/internal/apperr"
)

// ErrDatabaseUnavailable is returned when the central database cannot be reached.
var ErrDatabaseUnavailable = apperr.New(apperr.Unavailable, "DATABASE_UNAVAILABLE", "The database is unavailable, retry later")

// translate turns driver errors into apperr errors: a lost or refused
// connection becomes DATABASE_UNAVAILABLE; anything else stays internal.
// The driver error is kept as the cause for server-side logs.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return err
	}
	if isUnavailable(err) {
		e := *ErrDatabaseUnavailable
		e.Err = err
		return &e
	}
	return err
}

func isUnavailable(err error) bool {
	var netErr net.Error
	var myErr *mysql.MySQLError
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, mysql.ErrInvalidConn),
		errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr):
		return true
	case errors.As(err, &myErr):
		// 1040 too many connections, 1053 shutdown in progress, 1205 lock
		// wait timeout, 2002/2003/2006/2013 connection lost or refused.
		switch myErr.Number {
		case 1040, 1053, 1205, 2002, 2003, 2006, 2013:
			return true
		}
	}
	return false
}

// isDuplicate reports a MySQL duplicate-key error (1062).
func isDuplicate(err error) bool {
	var myErr *mysql.MySQLError
	return errors.As(err, &myErr) && myErr.Number == 1062
}

// isDeadlock reports InnoDB choosing this transaction as a deadlock victim (1213).
func isDeadlock(err error) bool {
	var myErr *mysql.MySQLError
	return errors.As(err, &myErr) && myErr.Number == 1213
}
