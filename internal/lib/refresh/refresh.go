// Package refresh implements Silo's refresh tokens for both planes: opaque
// random tokens stored as SHA-256 hashes in a `refresh_tokens` table (the
// central database and every tenant database have the same one), grouped
// in families that rotate on every use; presenting a spent token revokes
// its whole family.
package refresh

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/internal/lib/clock"
	"github.com/silo-dev/silo/internal/lib/dberr"
	"github.com/silo-dev/silo/internal/lib/opaque"
)

// Errors a refresh can be refused with.
var (
	ErrInvalid = apperr.New(apperr.Unauthenticated, "UNAUTHENTICATED", "Invalid refresh token")
	ErrReused  = apperr.New(apperr.Unauthenticated, "UNAUTHENTICATED", "Refresh token already used; the session has been revoked")
	ErrExpired = apperr.New(apperr.Unauthenticated, "TOKEN_EXPIRED", "Refresh token expired")
	errMissing = apperr.Validation(apperr.FieldError{Field: "refresh_token", Message: "is required"})
)

// CheckFormat refuses an empty or absurdly long token before any query.
func CheckFormat(raw string) error {
	if raw == "" || len(raw) > 256 {
		return errMissing
	}
	return nil
}

// token is a stored refresh token.
type token struct {
	ID        string       `db:"id"`
	FamilyID  string       `db:"family_id"`
	UserID    string       `db:"user_id"`
	ExpiresAt time.Time    `db:"expires_at"`
	UsedAt    sql.NullTime `db:"used_at"`
	RevokedAt sql.NullTime `db:"revoked_at"`
}

// newToken returns a random opaque token and the hash stored for it.
func newToken() (raw string, hash []byte) {
	raw = opaque.New("")
	return raw, opaque.Hash(raw)
}

// Tokens issues, rotates and revokes refresh tokens that live TTL, stamped
// with Now (clock.System when nil). Each plane's service holds one.
type Tokens struct {
	TTL time.Duration
	Now clock.Clock
}

func (k Tokens) now() time.Time {
	if k.Now == nil {
		return clock.Now()
	}
	return k.Now()
}

func (k Tokens) insert(ctx context.Context, e sqlx.ExecerContext, familyID, userID string, hash []byte) error {
	t := k.now()
	_, err := e.ExecContext(ctx,
		"INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?)",
		uuid.NewString(), familyID, userID, hash, t.Add(k.TTL), t)
	return dberr.Translate(err)
}

// Start begins a new family for userID and returns its first token.
func (k Tokens) Start(ctx context.Context, e sqlx.ExecerContext, userID string) (string, error) {
	raw, hash := newToken()
	return raw, k.insert(ctx, e, uuid.NewString(), userID, hash)
}

// forUpdate locks the token with raw's hash; nil, nil when there is none.
func forUpdate(ctx context.Context, q sqlx.QueryerContext, raw string) (*token, error) {
	var t token
	err := sqlx.GetContext(ctx, q, &t,
		"SELECT id, family_id, user_id, expires_at, used_at, revoked_at FROM refresh_tokens WHERE token_hash = ? FOR UPDATE", opaque.Hash(raw))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return &t, dberr.Translate(err)
}

func (k Tokens) revokeFamily(ctx context.Context, e sqlx.ExecerContext, familyID string) error {
	_, err := e.ExecContext(ctx, "UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL", k.now(), familyID)
	return dberr.Translate(err)
}

// RevokeUser revokes every family of userID (deactivation, removal).
func (k Tokens) RevokeUser(ctx context.Context, e sqlx.ExecerContext, userID string) error {
	_, err := e.ExecContext(ctx, "UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL", k.now(), userID)
	return dberr.Translate(err)
}

// Outcome is the result of Rotate. When Refused is set the transaction must
// still be committed (it may hold a revocation) and the refresh fails with it.
type Outcome struct {
	UserID  string
	Next    string
	Refused error
}

// Rotate spends raw inside tx and adds the next token to its family. active
// says whether the token's user may still have sessions; if not, the family
// is revoked. A token that was already spent revokes its whole family.
func (k Tokens) Rotate(ctx context.Context, tx *sqlx.Tx, raw string, active func(userID string) (bool, error)) (Outcome, error) {
	t, err := forUpdate(ctx, tx, raw)
	switch {
	case err != nil:
		return Outcome{}, err
	case t == nil || t.RevokedAt.Valid:
		return Outcome{Refused: ErrInvalid}, nil
	case t.UsedAt.Valid:
		return Outcome{UserID: t.UserID, Refused: ErrReused}, k.revokeFamily(ctx, tx, t.FamilyID)
	case !k.now().Before(t.ExpiresAt):
		return Outcome{Refused: ErrExpired}, nil
	}
	ok, err := active(t.UserID)
	if err != nil {
		return Outcome{}, err
	}
	if !ok {
		return Outcome{Refused: ErrInvalid}, k.revokeFamily(ctx, tx, t.FamilyID)
	}
	if _, err := tx.ExecContext(ctx, "UPDATE refresh_tokens SET used_at = ? WHERE id = ?", k.now(), t.ID); err != nil {
		return Outcome{}, dberr.Translate(err)
	}
	next, hash := newToken()
	return Outcome{UserID: t.UserID, Next: next}, k.insert(ctx, tx, t.FamilyID, t.UserID, hash)
}

// Revoke revokes the family of raw (logout) and returns its user, or ""
// when the token is unknown.
func (k Tokens) Revoke(ctx context.Context, tx *sqlx.Tx, raw string) (string, error) {
	t, err := forUpdate(ctx, tx, raw)
	if err != nil || t == nil {
		return "", err
	}
	return t.UserID, k.revokeFamily(ctx, tx, t.FamilyID)
}
