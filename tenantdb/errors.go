package tenantdb

import "github.com/silo-dev/silo/internal/apperr"

// ErrUserExists is returned when a tenant user's email is taken.
var ErrUserExists = apperr.New(apperr.Conflict, "USER_EXISTS", "User already exists")

// ErrUserNotFound is returned when no tenant user has the id.
var ErrUserNotFound = apperr.New(apperr.NotFound, "NOT_FOUND", "User not found")
