package provisioning

import (
	"unicode/utf8"

	"github.com/google/uuid"
)

func utf8Valid(s string) bool { return utf8.ValidString(s) }

func isUUID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil
}
