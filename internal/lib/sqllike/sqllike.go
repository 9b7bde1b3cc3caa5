// Package sqllike escapes text for MySQL's LIKE patterns, which GRANT and
// REVOKE also apply to database names: `_` and `%` are wildcards and `\`
// escapes them. It imports nothing of Silo's.
package sqllike

import "strings"

var escaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// Escape makes every character of s match only itself.
func Escape(s string) string { return escaper.Replace(s) }

// Contains is a pattern matching text that contains s.
func Contains(s string) string { return "%" + Escape(s) + "%" }

// Prefix is a pattern matching text that starts with s.
func Prefix(s string) string { return Escape(s) + "%" }
