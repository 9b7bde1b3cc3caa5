package tenantdb

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/internal/apperr"
	"github.com/silo-dev/silo/internal/dberr"
	"github.com/silo-dev/silo/internal/login"
)

var maxExpiry = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// APIKeyPrefix starts every API key, so that a bearer value is recognised
// as a key rather than a JWT.
const APIKeyPrefix = "silo_"

// APIKey is a stored API key; the key itself is never stored.
type APIKey struct {
	ID          string       `db:"id"`
	Name        string       `db:"name"`
	Prefix      string       `db:"prefix"`
	Permissions string       `db:"permissions"`
	CreatedBy   string       `db:"created_by"`
	CreatedAt   time.Time    `db:"created_at"`
	ExpiresAt   sql.NullTime `db:"expires_at"`
	LastUsedAt  sql.NullTime `db:"last_used_at"`
	RevokedAt   sql.NullTime `db:"revoked_at"`
}

// PermissionList returns the key's permissions.
func (k *APIKey) PermissionList() []string {
	return splitList(sql.NullString{String: k.Permissions, Valid: true})
}

const apiKeyColumns = "id, name, prefix, permissions, created_by, created_at, expires_at, last_used_at, revoked_at"

var (
	ErrAPIKeyNotFound = apperr.New(apperr.NotFound, "NOT_FOUND", "API key not found")
	errBadAPIKey      = apperr.New(apperr.Unauthenticated, "UNAUTHENTICATED", "Invalid API key")
)

func hashSecret(raw string) []byte {
	sum := sha256.Sum256([]byte(raw))
	return sum[:]
}

func randomSecret(prefix string) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// NewAPIKey is the input of CreateAPIKey.
type NewAPIKey struct {
	Name        string
	Permissions []string
	ExpiresAt   *time.Time
}

// CreateAPIKey makes a key whose permissions the caller all holds. The key
// is returned once; only its hash is stored.
func (a *Auth) CreateAPIKey(ctx context.Context, db *sqlx.DB, caller *Caller, in NewAPIKey) (*APIKey, string, error) {
	var v apperr.Validator
	name := strings.TrimSpace(in.Name)
	v.Check(name != "" && login.PlainText(name) && utf8.RuneCountInString(name) <= 100,
		"name", "is required, at most 100 characters")
	v.Check(len(in.Permissions) > 0, "permissions", "must name at least one permission")
	for _, p := range in.Permissions {
		if !ValidPermission(p) {
			v.Add("permissions", "unknown permission: "+p)
		}
	}
	if in.ExpiresAt != nil {
		v.Check(in.ExpiresAt.After(time.Now()), "expiresAt", "must be in the future")
		// DATETIME ends with year 9999 (and the driver refuses later times).
		v.Check(!in.ExpiresAt.After(maxExpiry), "expiresAt", "must be before the year 10000 (UTC)")
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	if !caller.Covers(in.Permissions) {
		return nil, "", ErrEscalation
	}
	raw := randomSecret(APIKeyPrefix)
	k := &APIKey{ID: uuid.Must(uuid.NewV7()).String(), Name: name, Prefix: raw[:len(APIKeyPrefix)+6],
		Permissions: strings.Join(dedupe(in.Permissions), ","), CreatedBy: caller.ActorID(), CreatedAt: nowUTC()}
	if in.ExpiresAt != nil {
		k.ExpiresAt = sql.NullTime{Time: in.ExpiresAt.UTC().Truncate(time.Microsecond), Valid: true}
	}
	err := dberr.InTx(ctx, db, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO api_keys (id, name, key_hash, prefix, permissions, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			k.ID, k.Name, hashSecret(raw), k.Prefix, k.Permissions, k.CreatedBy, k.CreatedAt, k.ExpiresAt)
		if err != nil {
			return dberr.Translate(err)
		}
		return Audit(ctx, tx, caller, "apikey.create", "apikey", k.ID, k.Name+": "+k.Permissions)
	})
	if err != nil {
		return nil, "", err
	}
	return k, raw, nil
}

func dedupe(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// APIKeys lists the tenant's keys, newest first.
func APIKeys(ctx context.Context, db sqlx.QueryerContext) ([]APIKey, error) {
	var out []APIKey
	err := sqlx.SelectContext(ctx, db, &out, "SELECT "+apiKeyColumns+" FROM api_keys ORDER BY id DESC")
	return out, dberr.Translate(err)
}

// RevokeAPIKey revokes a key; it is refused from the next request on.
func (a *Auth) RevokeAPIKey(ctx context.Context, db *sqlx.DB, caller *Caller, id string) error {
	if !isUUID(id) {
		return ErrAPIKeyNotFound
	}
	return dberr.InTx(ctx, db, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", nowUTC(), id)
		if err != nil {
			return dberr.Translate(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var exists int
			if err := tx.GetContext(ctx, &exists, "SELECT COUNT(*) FROM api_keys WHERE id = ?", id); err != nil {
				return dberr.Translate(err)
			}
			if exists == 0 {
				return ErrAPIKeyNotFound
			}
			return nil // already revoked
		}
		return Audit(ctx, tx, caller, "apikey.revoke", "apikey", id, "")
	})
}

// AuthenticateKey checks an API key against the tenant database: it must
// exist here (so another tenant's key is refused), be unrevoked and
// unexpired. The caller it returns holds exactly the key's permissions.
func (a *Auth) AuthenticateKey(ctx context.Context, db *sqlx.DB, raw string) (*Caller, error) {
	if !strings.HasPrefix(raw, APIKeyPrefix) || len(raw) > 100 {
		return nil, errBadAPIKey
	}
	var k APIKey
	err := sqlx.GetContext(ctx, db, &k, "SELECT "+apiKeyColumns+" FROM api_keys WHERE key_hash = ?", hashSecret(raw))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errBadAPIKey
	}
	if err != nil {
		return nil, dberr.Translate(err)
	}
	now := time.Now()
	if k.RevokedAt.Valid || (k.ExpiresAt.Valid && !now.Before(k.ExpiresAt.Time)) {
		return nil, errBadAPIKey
	}
	if !k.LastUsedAt.Valid || now.Sub(k.LastUsedAt.Time) > time.Minute {
		// Recorded at most once a minute per key, to keep requests read-only.
		if _, err := db.ExecContext(ctx, "UPDATE api_keys SET last_used_at = ? WHERE id = ?", nowUTC(), k.ID); err != nil {
			a.log.WarnContext(ctx, "recording API key use failed", "key", k.ID, "err", err)
		}
	}
	return &Caller{APIKey: &k, Roles: []string{}, Permissions: k.PermissionList()}, nil
}
