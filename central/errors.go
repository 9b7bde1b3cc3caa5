package central

import "github.com/silo-dev/silo/internal/dberr"

var (
	translate   = dberr.Translate
	isDuplicate = dberr.IsDuplicate
)
