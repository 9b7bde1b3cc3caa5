package router

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/silo-dev/silo/internal/lib/apperr"
)

// maxBody is the request body limit of API.md.
const maxBody = 1 << 20

var (
	errBodyTooLarge  = apperr.New(apperr.TooLarge, "BODY_TOO_LARGE", "Request body is larger than 1 MiB")
	errNotJSON       = apperr.New(apperr.Unsupported, "UNSUPPORTED_MEDIA_TYPE", "Request body must be JSON (Content-Type: application/json)")
	errMalformedJSON = apperr.New(apperr.Invalid, "MALFORMED_JSON", "Request body is not valid JSON")
	errEmptyBody     = apperr.New(apperr.Invalid, "MALFORMED_JSON", "Request body must be a JSON object")
	errNotUTF8       = apperr.New(apperr.Invalid, "MALFORMED_JSON", "Request body must be UTF-8")
)

// Decode reads the request body (Content-Type: application/json) as one
// JSON object into dst, refusing unknown fields so that a misspelt field is
// reported, not ignored, and bodies that are not UTF-8 (encoding/json would
// quietly replace the bad bytes, and the mangled text would be stored). Its
// errors are for Fail.
func Decode(c *gin.Context, dst any) error {
	if !isJSON(c.GetHeader("Content-Type")) {
		return errNotJSON
	}
	raw, err := io.ReadAll(c.Request.Body)
	if err != nil {
		return jsonError(err)
	}
	if !utf8.Valid(raw) {
		return errNotUTF8
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errMalformedJSON
	}
	return nil
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

func jsonError(err error) error {
	var (
		maxErr    *http.MaxBytesError
		typeErr   *json.UnmarshalTypeError
		syntaxErr *json.SyntaxError
	)
	switch {
	case errors.As(err, &maxErr):
		return errBodyTooLarge
	case errors.Is(err, io.EOF):
		return errEmptyBody
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return errEmptyBody
		}
		return apperr.Validation(apperr.FieldError{Field: typeErr.Field, Message: "must be a " + jsonKind(typeErr.Type.Kind().String())})
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return errMalformedJSON
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return apperr.Validation(apperr.FieldError{Field: field, Message: "is not a known field"})
	}
	return errMalformedJSON
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "struct", "map", "ptr":
		return "object"
	default:
		return "number"
	}
}
