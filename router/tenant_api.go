package router

import (
	"context"

	"github.com/gin-gonic/gin"
	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/tenantdb"
)

// The tenant-route API: inside a TenantRoute's handler (Silo's own and an
// application's), one call each gives the request's tenant, its pooled
// database, the caller and the audit log, and reports errors in API.md's
// envelope.

// TenantInfo names the request's tenant.
type TenantInfo struct {
	ID   string `json:"id"`
	Slug string `json:"slug"`
	Name string `json:"name"`
}

// Tenant is the request's tenant (resolved from x-tenant-id, the subdomain
// or a custom domain, and active).
func Tenant(c *gin.Context) TenantInfo {
	t := currentTenant(c)
	return TenantInfo{ID: t.ID, Slug: t.Slug, Name: t.Name}
}

// DB is the tenant's pooled database, connected as the tenant's own DB
// user: it can read and write rows of this tenant's database only. Do not
// close it; the lease ends with the request.
func DB(c *gin.Context) *sqlx.DB { return c.MustGet(ctxTenantDB).(*tenantdb.Lease).DB }

// Caller is the authenticated user or API key, with the roles and
// permissions read from the tenant database for this request.
func Caller(c *gin.Context) *tenantdb.Caller { return c.MustGet(ctxCaller).(*tenantdb.Caller) }

// AuditLogger writes the tenant's audit log, attributed to the caller and
// the request id.
type AuditLogger struct {
	ctx    context.Context
	db     *sqlx.DB
	store  *tenantdb.Store
	caller *tenantdb.Caller
}

// Audit is the tenant's audit log for this request.
func Audit(c *gin.Context) AuditLogger {
	return AuditLogger{ctx: c.Request.Context(), db: DB(c), store: tenantStore(c), caller: Caller(c)}
}

// Log records that the caller did action (e.g. "note.create") to the
// target (type and id), with an optional detail. It writes through tx when
// given (so the entry commits with the change), or the tenant database.
func (a AuditLogger) Log(tx sqlx.ExecerContext, action, targetType, target, detail string) error {
	if tx == nil {
		tx = a.db
	}
	return a.store.Audit(a.ctx, tx, a.caller, action, targetType, target, detail)
}

// FieldError names one invalid input field of a 400 VALIDATION_FAILED.
type FieldError = apperr.FieldError

// Invalid is a 400 VALIDATION_FAILED naming the invalid fields.
func Invalid(fields ...FieldError) error { return apperr.Validation(fields...) }

// NotFound is a 404 NOT_FOUND.
func NotFound() error { return apperr.ErrNotFound }

// Forbidden is a 403 FORBIDDEN.
func Forbidden() error { return apperr.ErrForbidden }

// Conflict is a 409 with code (e.g. "NOTE_EXISTS") and a message for the caller.
func Conflict(code, message string) error { return apperr.New(apperr.Conflict, code, message) }

// TooLarge is a 413 BODY_TOO_LARGE with a message for the caller.
func TooLarge(message string) error { return apperr.New(apperr.TooLarge, "BODY_TOO_LARGE", message) }

// VersionMismatch is a 412 VERSION_MISMATCH: a write's If-Match is stale.
func VersionMismatch() error {
	return apperr.New(apperr.Stale, "VERSION_MISMATCH", "The record has changed since you read it (If-Match is stale)")
}
