package tenantdb

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/internal/lib/dberr"
	"github.com/silo-dev/silo/internal/lib/login"
)

var colorPattern = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// logoURLPattern is an https URL with a host name, port, path, query and
// fragment of URL characters only: no space, quote, angle bracket,
// backslash, backtick, parenthesis, brace or control character, so the
// value is inert in an HTML attribute, a CSS url() or a script string.
var logoURLPattern = regexp.MustCompile(`^https://[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~!$&+,;=:@%/-]*)?(?:\?[A-Za-z0-9._~!$&+,;=:@%/?-]*)?(?:#[A-Za-z0-9._~!$&+,;=:@%/?-]*)?$`)

// Settings are a tenant's settings.
type Settings struct {
	DisplayName       string `db:"display_name" json:"displayName"`
	LogoURL           string `db:"logo_url" json:"logoUrl"`
	PrimaryColor      string `db:"primary_color" json:"primaryColor"`
	AllowPublicSignup bool   `db:"allow_public_signup" json:"allowPublicSignup"`
}

// getSettings returns the tenant's settings.
func getSettings(ctx context.Context, db sqlx.QueryerContext) (*Settings, error) {
	var s Settings
	err := sqlx.GetContext(ctx, db, &s, "SELECT display_name, logo_url, primary_color, allow_public_signup FROM settings WHERE id = 1")
	if errors.Is(err, sql.ErrNoRows) {
		return &Settings{}, nil
	}
	return &s, dberr.Translate(err)
}

// validLogoURL accepts "" or a strict https URL (see logoURLPattern).
func validLogoURL(raw string) bool {
	if raw == "" {
		return true
	}
	if len(raw) > 2048 || !logoURLPattern.MatchString(raw) {
		return false
	}
	u, err := url.Parse(raw)
	return err == nil && u.Scheme == "https" && u.Hostname() != "" && u.User == nil && u.Opaque == ""
}

// SettingsPatch changes settings; nil fields are left alone.
type SettingsPatch struct {
	DisplayName       *string
	LogoURL           *string
	PrimaryColor      *string
	AllowPublicSignup *bool
}

// UpdateSettings validates and applies p, naming every bad field.
func (st *Store) UpdateSettings(ctx context.Context, caller *Caller, p SettingsPatch) (*Settings, error) {
	s, err := getSettings(ctx, st.db)
	if err != nil {
		return nil, err
	}
	var v apperr.Validator
	if p.DisplayName != nil {
		v.Check(login.PlainText(*p.DisplayName) && utf8.RuneCountInString(*p.DisplayName) <= 200,
			"displayName", "must be at most 200 characters without control or invisible formatting characters")
		s.DisplayName = *p.DisplayName
	}
	if p.LogoURL != nil {
		v.Check(validLogoURL(*p.LogoURL), "logoUrl",
			"must be an https URL with a host, at most 2048 bytes, without spaces, quotes, angle brackets, parentheses, backslashes or control characters (or empty)")
		s.LogoURL = *p.LogoURL
	}
	if p.PrimaryColor != nil {
		v.Check(*p.PrimaryColor == "" || colorPattern.MatchString(*p.PrimaryColor), "primaryColor", "must be #rrggbb (or empty)")
		s.PrimaryColor = strings.ToLower(*p.PrimaryColor)
	}
	if p.AllowPublicSignup != nil {
		s.AllowPublicSignup = *p.AllowPublicSignup
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	err = dberr.InTx(ctx, st.db, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE settings SET display_name = ?, logo_url = ?, primary_color = ?, allow_public_signup = ?, updated_at = ? WHERE id = 1",
			s.DisplayName, s.LogoURL, s.PrimaryColor, s.AllowPublicSignup, st.now())
		if err != nil {
			return dberr.Translate(err)
		}
		return st.Audit(ctx, tx, caller, "settings.update", "settings", "settings", "")
	})
	return s, err
}

// publicSignup reports whether the tenant allows anyone to register (not
// without a settings row).
func publicSignup(ctx context.Context, db sqlx.QueryerContext) (bool, error) {
	var allow bool
	err := sqlx.GetContext(ctx, db, &allow, "SELECT allow_public_signup FROM settings WHERE id = 1")
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return allow, dberr.Translate(err)
}

// SetPublicSignup sets whether the tenant allows public sign-up, as a new
// tenant's default (the schema's own default is the historical "on"), at
// time at.
func SetPublicSignup(ctx context.Context, db sqlx.ExecerContext, allow bool, at time.Time) error {
	_, err := db.ExecContext(ctx, "UPDATE settings SET allow_public_signup = ?, updated_at = ? WHERE id = 1", allow, at)
	return dberr.Translate(err)
}

// Settings returns the tenant's settings.
func (st *Store) Settings(ctx context.Context) (*Settings, error) { return getSettings(ctx, st.db) }
