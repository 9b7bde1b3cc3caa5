package central

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
)

// refreshToken is a stored refresh token; the raw token is never stored.
type refreshToken struct {
	ID        string       `db:"id"`
	FamilyID  string       `db:"family_id"`
	UserID    string       `db:"user_id"`
	ExpiresAt time.Time    `db:"expires_at"`
	UsedAt    sql.NullTime `db:"used_at"`
	RevokedAt sql.NullTime `db:"revoked_at"`
}

// newRefreshToken returns a random opaque token and the hash stored for it.
func newRefreshToken() (raw string, hash []byte) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	raw = base64.RawURLEncoding.EncodeToString(b)
	return raw, hashRefreshToken(raw)
}

func hashRefreshToken(raw string) []byte {
	sum := sha256.Sum256([]byte(raw))
	return sum[:]
}

func insertRefreshToken(ctx context.Context, e sqlx.ExecerContext, familyID, userID string, hash []byte, ttl time.Duration) error {
	t := now()
	_, err := e.ExecContext(ctx,
		"INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?)",
		uuid.NewString(), familyID, userID, hash, t.Add(ttl), t)
	return translate(err)
}

// refreshTokenForUpdate returns nil, nil when no token has this hash.
func refreshTokenForUpdate(ctx context.Context, q sqlx.QueryerContext, hash []byte) (*refreshToken, error) {
	var t refreshToken
	err := sqlx.GetContext(ctx, q, &t,
		"SELECT id, family_id, user_id, expires_at, used_at, revoked_at FROM refresh_tokens WHERE token_hash = ? FOR UPDATE", hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return &t, translate(err)
}

func markRefreshTokenUsed(ctx context.Context, e sqlx.ExecerContext, id string) error {
	_, err := e.ExecContext(ctx, "UPDATE refresh_tokens SET used_at = ? WHERE id = ?", now(), id)
	return translate(err)
}

func revokeRefreshFamily(ctx context.Context, e sqlx.ExecerContext, familyID string) error {
	_, err := e.ExecContext(ctx, "UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL", now(), familyID)
	return translate(err)
}

func revokeUserRefreshTokens(ctx context.Context, e sqlx.ExecerContext, userID string) error {
	_, err := e.ExecContext(ctx, "UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL", now(), userID)
	return translate(err)
}
