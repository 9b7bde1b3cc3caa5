// Package page cuts keyset listings into pages. A listing reads limit+1
// rows after (or before) the cursor; the extra row only says that another
// page follows, and the cursor of that page is the key of the last row
// kept. The answer carries it as nextCursor, null on the last page. It
// imports only internal/lib/apperr.
package page

import (
	"strconv"

	"github.com/google/uuid"

	"github.com/silo-dev/silo/internal/lib/apperr"
)

const badCursor = "is not a valid cursor"

// CheckAfter records in v that cursor, of a listing in id order, is
// neither empty (the first page) nor an id (a UUID).
func CheckAfter(v *apperr.Validator, cursor string) {
	if cursor != "" {
		_, err := uuid.Parse(cursor)
		v.Check(err == nil, "cursor", badCursor)
	}
}

// Before parses the cursor of a newest-first listing keyed by a positive
// integer id: the first page ("") starts below the largest int64.
func Before(cursor string) (int64, error) {
	if cursor == "" {
		return 1<<63 - 1, nil
	}
	n, err := strconv.ParseInt(cursor, 10, 64)
	if err != nil || n < 1 {
		return 0, apperr.Validation(apperr.FieldError{Field: "cursor", Message: badCursor})
	}
	return n, nil
}

// Cut keeps the first limit of rows, read with a LIMIT of limit+1, and
// returns the next page's cursor: the key of the last row kept, or "" when
// rows held no more than limit.
func Cut[T any](rows []T, limit int, key func(*T) string) ([]T, string) {
	if len(rows) <= limit {
		return rows, ""
	}
	rows = rows[:limit]
	return rows, key(&rows[limit-1])
}

// Next is cursor as an answer's nextCursor: null on the last page.
func Next(cursor string) *string {
	if cursor == "" {
		return nil
	}
	return &cursor
}
