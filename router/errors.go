package router

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/internal/lib/dberr"
	"github.com/silo-dev/silo/tenantdb"
)

// ctxAccountFailure holds the AccountError reason of a failed request.
const ctxAccountFailure = "silo.accountFailure"

// statusOf is the one table from error kinds to HTTP statuses.
var statusOf = map[apperr.Kind]int{
	apperr.Invalid:         http.StatusBadRequest,
	apperr.Unauthenticated: http.StatusUnauthorized,
	apperr.Forbidden:       http.StatusForbidden,
	apperr.NotFound:        http.StatusNotFound,
	apperr.Conflict:        http.StatusConflict,
	apperr.TooLarge:        http.StatusRequestEntityTooLarge,
	apperr.Stale:           http.StatusPreconditionFailed,
	apperr.Unsupported:     http.StatusUnsupportedMediaType,
	apperr.RateLimited:     http.StatusTooManyRequests,
	apperr.Unavailable:     http.StatusServiceUnavailable,
	apperr.Internal:        http.StatusInternalServerError,
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code      string              `json:"code"`
	Message   string              `json:"message"`
	RequestID string              `json:"requestId"`
	Details   []apperr.FieldError `json:"details,omitempty"`
}

// Fail answers with err in API.md's error envelope and stops the request:
// errors made by NotFound, Invalid, Conflict and the other constructors of
// tenant_api.go, and Silo's own, keep their status and code; driver errors
// of an unreachable database are 503 DATABASE_UNAVAILABLE; any other error
// is a 500 INTERNAL. Internal and unavailable errors are logged with their
// cause; callers only ever see the safe message.
func Fail(c *gin.Context, err error) {
	e := apperr.From(dberr.Translate(err))
	if errors.Is(err, c.Request.Context().Err()) && c.Request.Context().Err() != nil {
		e = errTimeout
	}
	status, ok := statusOf[e.Kind]
	if !ok {
		status = http.StatusInternalServerError
	}
	if reason := tenantdb.AccountReason(err); reason != "" {
		// Counted by the metrics middleware: silo_tenant_unavailable_total.
		c.Set(ctxAccountFailure, reason)
		logFrom(c).ErrorContext(c.Request.Context(), "request failed: the tenant's DB account is refused", "code", e.Code, "reason", reason, "err", err)
	} else if status >= 500 {
		logFrom(c).ErrorContext(c.Request.Context(), "request failed", "code", e.Code, "err", err)
	} else {
		logFrom(c).DebugContext(c.Request.Context(), "request refused", "code", e.Code, "err", err)
	}
	if e.RetryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	if status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Bearer realm="silo"`)
	}
	c.AbortWithStatusJSON(status, errorBody{Error: errorDetail{
		Code: e.Code, Message: e.Message, RequestID: requestID(c), Details: e.Details,
	}})
}

var (
	errTimeout          = apperr.New(apperr.Unavailable, "TIMEOUT", "The request took too long, retry later")
	errRouteNotFound    = apperr.New(apperr.NotFound, "NOT_FOUND", "No such route")
	errMethodNotAllowed = &apperr.Error{Kind: "method_not_allowed", Code: "METHOD_NOT_ALLOWED", Message: "Method not allowed on this route"}
	errInternal         = apperr.New(apperr.Internal, "INTERNAL", "Internal server error")
)

func init() { statusOf["method_not_allowed"] = http.StatusMethodNotAllowed }

// logFrom is the request's logger, carrying its request id.
func logFrom(c *gin.Context) *slog.Logger {
	if id := requestID(c); id != "" {
		return baseLog(c).With("requestId", id)
	}
	return baseLog(c)
}

// baseLog is the logger requestIDs kept for the request, without the id.
func baseLog(c *gin.Context) *slog.Logger {
	if l, ok := c.Get(ctxLogger); ok {
		return l.(*slog.Logger)
	}
	return slog.Default()
}
