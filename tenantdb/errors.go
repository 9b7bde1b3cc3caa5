package tenantdb

import (
	"errors"

	"github.com/go-sql-driver/mysql"

	"github.com/silo-dev/silo/internal/lib/apperr"
)

// ErrUserNotFound is returned when no tenant user has the id.
var ErrUserNotFound = apperr.New(apperr.NotFound, "NOT_FOUND", "User not found")

// AccountError is a tenant database refusing the tenant's own DB user: the
// account is missing, has another password, is locked or lacks its grants
// (or the database itself is gone). Such a tenant cannot serve until
// `silo tenant repair` or POST /api/central/tenants/:slug/provision puts its
// account right; requests answer 503 TENANT_UNAVAILABLE meanwhile.
type AccountError struct {
	Reason string // access_denied, database_denied, privilege_missing, account_locked, database_missing
	Err    error  // the driver's error, for logs
}

func (e *AccountError) Error() string { return "tenant DB account: " + e.Reason + ": " + e.Err.Error() }

func (e *AccountError) Unwrap() error { return e.Err }

// accountReasons maps the server's error numbers for a refused account.
var accountReasons = map[uint16]string{
	1045: "access_denied",     // unknown user or wrong password
	1698: "access_denied",     // MariaDB, for a user dropped while its login was cached (ER_ACCESS_DENIED_NO_PASSWORD_ERROR)
	1044: "database_denied",   // no grant on the database
	1142: "privilege_missing", // table privilege missing
	1143: "privilege_missing", // column privilege missing
	3118: "account_locked",    // MySQL
	4151: "account_locked",    // MariaDB
	1049: "database_missing",  // unknown database
}

// errTenantAccount is the error callers see for an AccountError.
var errTenantAccount = apperr.New(apperr.Unavailable, "TENANT_UNAVAILABLE", "This tenant is not available, retry later")

// accountError returns err as TENANT_UNAVAILABLE with an AccountError
// cause when the server refused the tenant's account, else err unchanged.
func accountError(err error) error {
	var me *mysql.MySQLError
	if err == nil || !errors.As(err, &me) {
		return err
	}
	reason, ok := accountReasons[me.Number]
	if !ok {
		return err
	}
	e := *errTenantAccount
	e.Err = &AccountError{Reason: reason, Err: err}
	return &e
}

// AccountReason returns the AccountError reason in err's chain, or "".
func AccountReason(err error) string {
	var ae *AccountError
	if errors.As(err, &ae) {
		return ae.Reason
	}
	return ""
}
