// Package apperr defines Silo's one error type: a machine-readable code plus
// a message that is safe to show to API callers. Packages that talk to
// databases translate driver errors into it; only the router maps codes to
// HTTP statuses. It must never carry SQL text or secrets in Message.
package apperr

import (
	"errors"
	"fmt"
)

// Kind is the class of an error; the router turns it into an HTTP status.
type Kind string

const (
	Invalid         Kind = "invalid"
	Unauthenticated Kind = "unauthenticated"
	Forbidden       Kind = "forbidden"
	NotFound        Kind = "not_found"
	Conflict        Kind = "conflict"
	TooLarge        Kind = "too_large"
	Stale           Kind = "stale" // a conditional write's precondition (If-Match) failed
	Unsupported     Kind = "unsupported"
	RateLimited     Kind = "rate_limited"
	Unavailable     Kind = "unavailable"
	Internal        Kind = "internal"
)

// FieldError names one invalid input field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is an error that can be shown to an API caller.
type Error struct {
	Kind    Kind
	Code    string // API.md code, e.g. "USER_EXISTS"
	Message string // safe for callers
	Details []FieldError
	// RetryAfter is the number of seconds a caller should wait (rate limits).
	RetryAfter int
	// Err is the underlying cause, logged server-side only.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error of the given kind and code.
func New(kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message}
}

// Wrap returns an error of the given kind and code that keeps cause for logs.
func Wrap(kind Kind, code, message string, cause error) *Error {
	return &Error{Kind: kind, Code: code, Message: message, Err: cause}
}

// Validation returns a VALIDATION_FAILED error listing every bad field.
func Validation(details ...FieldError) *Error {
	return &Error{Kind: Invalid, Code: "VALIDATION_FAILED", Message: "Validation failed", Details: details}
}

// From returns err as an *Error; any other error becomes INTERNAL.
func From(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: Internal, Code: "INTERNAL", Message: "Internal server error", Err: err}
}

// Is reports whether err is an *Error with the given code.
func Is(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// Common errors.
var (
	ErrUnauthenticated = New(Unauthenticated, "UNAUTHENTICATED", "Authentication required")
	ErrForbidden       = New(Forbidden, "FORBIDDEN", "You are not allowed to do this")
	ErrNotFound        = New(NotFound, "NOT_FOUND", "Not found")
)

// Validator collects field errors so that a request reports every bad field at once.
type Validator struct{ details []FieldError }

// Add records a problem with field.
func (v *Validator) Add(field, message string) {
	v.details = append(v.details, FieldError{field, message})
}

// Check records message for field unless ok.
func (v *Validator) Check(ok bool, field, message string) {
	if !ok {
		v.Add(field, message)
	}
}

// Err returns a VALIDATION_FAILED error, or nil when nothing was recorded.
func (v *Validator) Err() error {
	if len(v.details) == 0 {
		return nil
	}
	return Validation(v.details...)
}
