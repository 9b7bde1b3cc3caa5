package tenantdb

import "github.com/silo-dev/silo/internal/apperr"

// ErrUserExists is returned when a tenant user's email is taken.
var ErrUserExists = apperr.New(apperr.Conflict, "USER_EXISTS", "User already exists")
