// Package dberr classifies MySQL/MariaDB driver errors for the packages
// that own SQL (central, tenantdb, refresh) and for router's Fail: a lost or
// refused connection becomes DATABASE_UNAVAILABLE; duplicate keys and
// deadlocks are recognised so callers can answer 409 or retry. InTx is the
// transaction helper that retries a deadlock victim. It holds no table's SQL
// and imports no plane.
package dberr

import (
	"context"
	"database/sql/driver"
	"errors"
	"net"

	"github.com/go-sql-driver/mysql"

	"github.com/silo-dev/silo/internal/lib/apperr"
)

// ErrUnavailable is returned when the database cannot be reached.
var ErrUnavailable = apperr.New(apperr.Unavailable, "DATABASE_UNAVAILABLE", "The database is unavailable, retry later")

// Translate turns connection failures into ErrUnavailable (keeping the
// driver error as the cause, for logs) and returns other errors unchanged.
func Translate(err error) error {
	if err == nil {
		return nil
	}
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return err
	}
	if IsUnavailable(err) {
		return Unavailable(err)
	}
	return err
}

// Unavailable returns ErrUnavailable with cause attached.
func Unavailable(cause error) error {
	e := *ErrUnavailable
	e.Err = cause
	return &e
}

// IsUnavailable reports a lost, refused or timed-out connection, or a
// server that is shutting down or out of connections.
func IsUnavailable(err error) bool {
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

// IsDuplicate reports a duplicate-key error (1062).
func IsDuplicate(err error) bool { return hasNumber(err, 1062) }

// IsDeadlock reports InnoDB choosing this transaction as a deadlock victim (1213).
func IsDeadlock(err error) bool { return hasNumber(err, 1213) }

// IsMissingParent reports a foreign key whose parent row does not exist.
func IsMissingParent(err error) bool { return hasNumber(err, 1452) }

func hasNumber(err error, n uint16) bool {
	var myErr *mysql.MySQLError
	return errors.As(err, &myErr) && myErr.Number == n
}
