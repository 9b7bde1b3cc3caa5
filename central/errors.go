package central

import "github.com/silo-dev/silo/internal/lib/dberr"

var (
	translate   = dberr.Translate
	isDuplicate = dberr.IsDuplicate
)
