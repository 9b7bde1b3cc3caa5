// Package login holds the rules and protections shared by every login in
// Silo, central and tenant alike: email and password rules, bcrypt hashing
// with bounded concurrency, constant-work checks for unknown emails, and
// per-IP and per-email rate limits.
package login

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/silo-dev/silo/internal/lib/apperr"
)

// Password limits: bcrypt reads at most 72 bytes, so longer passwords are
// refused rather than silently truncated.
const (
	MinPasswordChars = 10
	MaxPasswordBytes = 72
	maxEmailBytes    = 254
)

// NormalizeEmail trims and lower-cases an email address and checks it is a
// plain address (no display name, no comments).
func NormalizeEmail(raw string) (string, bool) {
	email := strings.ToLower(strings.TrimSpace(raw))
	if !PlainText(email) {
		return "", false
	}
	if email == "" || len(email) > maxEmailBytes {
		return "", false
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || addr.Name != "" {
		return "", false
	}
	local, domain, ok := strings.Cut(email, "@")
	if !ok || len(local) > 64 || !strings.Contains(domain, ".") || strings.ContainsAny(email, "\"\\ ") {
		return "", false
	}
	return email, true
}

// Usable is what a login's lookup returns for an account it found: the
// stored hash, and found=false when the account may not log in (inactive).
// Such an account is then answered exactly as an unknown email is, after
// the same bcrypt work against a dummy hash (see Guard.Attempt): 401
// INVALID_CREDENTIALS whether the password is right or wrong, so that a
// login never confirms the password of an account it refuses.
func Usable(hash string, active bool) (string, bool) {
	if !active {
		return "", false
	}
	return hash, true
}

// ErrUserExists is returned when a new account's email is taken, central
// or tenant.
var ErrUserExists = apperr.New(apperr.Conflict, "USER_EXISTS", "User already exists")

// NewUser is what a person gives to open an account, central or tenant.
type NewUser struct {
	Email, Password, FirstName, LastName string
}

// Check adds to v every problem with u as a new account, under the field
// names prefix+"email", prefix+"password", prefix+"firstName" and
// prefix+"lastName", and returns u's email normalised (see NormalizeEmail).
func (u NewUser) Check(v *apperr.Validator, prefix string) (email string) {
	email = CheckEmail(v, prefix+"email", u.Email)
	u.CheckWithoutEmail(v, prefix)
	return email
}

// CheckEmail adds a validation problem to v when raw is not a plain email
// address, and returns it normalised (see NormalizeEmail).
func CheckEmail(v *apperr.Validator, field, raw string) string {
	email, ok := NormalizeEmail(raw)
	v.Check(ok, field, "must be a valid email address")
	return email
}

// CheckWithoutEmail is Check for an account whose email is already known
// (an invitation's): u.Email is ignored.
func (u NewUser) CheckWithoutEmail(v *apperr.Validator, prefix string) {
	CheckNewPassword(v, prefix+"password", u.Password)
	CheckName(v, prefix+"firstName", u.FirstName)
	CheckName(v, prefix+"lastName", u.LastName)
}

// CheckNewPassword adds a validation problem to v when password is not
// acceptable as a new password.
func CheckNewPassword(v *apperr.Validator, field, password string) {
	switch {
	case len(password) > MaxPasswordBytes:
		v.Add(field, "must be at most 72 bytes")
	case utf8.RuneCountInString(password) < MinPasswordChars:
		v.Add(field, "must be at least 10 characters")
	}
}

// CheckName adds a validation problem to v when a person's name is empty,
// too long or contains control characters.
func CheckName(v *apperr.Validator, field, name string) {
	switch {
	case strings.TrimSpace(name) == "":
		v.Add(field, "is required")
	case !utf8.ValidString(name):
		v.Add(field, "must be valid UTF-8")
	case utf8.RuneCountInString(name) > 100:
		v.Add(field, "must be at most 100 characters")
	case !PlainText(name):
		v.Add(field, "must not contain control or invisible formatting characters")
	}
}

// PlainText reports whether s is valid UTF-8 without control characters
// (C0, DEL, C1), invisible format characters (bidi overrides, zero-width
// space, byte-order mark), which let one string pose as another in logs
// and screens, or U+FFFD, the mark of text mangled on its way. The
// zero-width (non-)joiners some scripts need are allowed.
func PlainText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, hidden)
}

func hidden(r rune) bool {
	return unicode.IsControl(r) || r == utf8.RuneError || (unicode.Is(unicode.Cf, r) && r != '\u200c' && r != '\u200d')
}
