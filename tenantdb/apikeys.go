package tenantdb

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/internal/lib/dberr"
	"github.com/silo-dev/silo/internal/lib/login"
	"github.com/silo-dev/silo/internal/lib/opaque"
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
	ErrAPIKeyNotFound    = apperr.New(apperr.NotFound, "NOT_FOUND", "API key not found")
	ErrKeyByImpersonator = apperr.New(apperr.Forbidden, "FORBIDDEN", "API keys cannot be created while impersonating a user")
	ErrKeyChainTooDeep   = apperr.New(apperr.Forbidden, "FORBIDDEN", "This API key cannot create keys: its chain of creators is at the limit")
	errBadAPIKey         = apperr.New(apperr.Unauthenticated, "UNAUTHENTICATED", "Invalid API key")
)

// maxKeyChain bounds the keys between a request's key and the user at the
// root of its creators (the request's key included): a key may create keys,
// which may create keys, this deep and no deeper.
const maxKeyChain = 5

// usable reports whether the key is neither revoked nor expired at now.
func (k *APIKey) usable(now time.Time) bool {
	return !k.RevokedAt.Valid && (!k.ExpiresAt.Valid || now.Before(k.ExpiresAt.Time))
}

// NewAPIKey is the input of CreateAPIKey.
type NewAPIKey struct {
	Name        string
	Permissions []string
	ExpiresAt   *time.Time
}

// CreateAPIKey makes a key whose permissions the caller all holds (a key
// creating a key: the permissions it may use now). The key is returned once;
// only its hash is stored. It acts on its creator's authority: see
// AuthenticateKey. A central admin impersonating a user may not create keys,
// which would outlive the impersonation.
func (st *Store) CreateAPIKey(ctx context.Context, caller *Caller, in NewAPIKey) (*APIKey, string, error) {
	var v apperr.Validator
	name := strings.TrimSpace(in.Name)
	v.Check(name != "" && login.PlainText(name) && utf8.RuneCountInString(name) <= 100,
		"name", "is required, at most 100 characters")
	v.Check(len(in.Permissions) > 0, "permissions", "must name at least one permission")
	checkPermissions(&v, in.Permissions)
	if in.ExpiresAt != nil {
		v.Check(in.ExpiresAt.After(st.now()), "expiresAt", "must be in the future")
		// DATETIME ends with year 9999 (and the driver refuses later times).
		v.Check(!in.ExpiresAt.After(maxExpiry), "expiresAt", "must be before the year 10000 (UTC)")
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	switch {
	case caller.ImpersonatedBy != "":
		return nil, "", ErrKeyByImpersonator
	case caller.User == nil && caller.APIKey == nil:
		return nil, "", apperr.ErrForbidden // a key needs a creator of this tenant
	case caller.APIKey != nil && caller.keyChain >= maxKeyChain:
		return nil, "", ErrKeyChainTooDeep
	case !caller.Covers(in.Permissions):
		return nil, "", ErrEscalation
	}
	raw := opaque.New(APIKeyPrefix)
	k := &APIKey{ID: uuid.Must(uuid.NewV7()).String(), Name: name, Prefix: raw[:len(APIKeyPrefix)+6],
		Permissions: strings.Join(dedupe(in.Permissions), ","), CreatedBy: caller.ActorID(), CreatedAt: st.now()}
	if in.ExpiresAt != nil {
		k.ExpiresAt = sql.NullTime{Time: in.ExpiresAt.UTC().Truncate(time.Microsecond), Valid: true}
	}
	err := dberr.InTx(ctx, st.db, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO api_keys (id, name, key_hash, prefix, permissions, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			k.ID, k.Name, opaque.Hash(raw), k.Prefix, k.Permissions, k.CreatedBy, k.CreatedAt, k.ExpiresAt)
		if err != nil {
			return dberr.Translate(err)
		}
		return st.Audit(ctx, tx, caller, "apikey.create", "apikey", k.ID, k.Name+": "+k.Permissions)
	})
	if err != nil {
		return nil, "", err
	}
	return k, raw, nil
}

// APIKeys lists the tenant's keys, newest first.
func (st *Store) APIKeys(ctx context.Context) ([]APIKey, error) {
	var out []APIKey
	err := sqlx.SelectContext(ctx, st.db, &out, "SELECT "+apiKeyColumns+" FROM api_keys ORDER BY id DESC")
	return out, dberr.Translate(err)
}

// RevokeAPIKey revokes a key; it is refused from the next request on.
func (st *Store) RevokeAPIKey(ctx context.Context, caller *Caller, id string) error {
	if !isUUID(id) {
		return ErrAPIKeyNotFound
	}
	return st.authzTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", st.now(), id)
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
		if err := st.Audit(ctx, tx, caller, "apikey.revoke", "apikey", id, ""); err != nil {
			return err
		}
		return st.revokeKeysOf(ctx, tx, caller, "the key that created it was revoked", id)
	})
}

// revokeKeysOf revokes, in tx, the keys that any of creators (users or
// keys) created and, down their chains, every key those keys created, and
// audits each revocation with why. AuthenticateKey would refuse them anyway;
// revoking them makes it final and visible in the key list.
func (st *Store) revokeKeysOf(ctx context.Context, tx *sqlx.Tx, caller *Caller, why string, creators ...string) error {
	seen := map[string]bool{}
	for len(creators) > 0 {
		q, args, err := sqlx.In("SELECT id, revoked_at FROM api_keys WHERE created_by IN (?) ORDER BY id", creators)
		if err != nil {
			return err
		}
		var keys []struct {
			ID        string       `db:"id"`
			RevokedAt sql.NullTime `db:"revoked_at"`
		}
		if err := tx.SelectContext(ctx, &keys, tx.Rebind(q), args...); err != nil {
			return dberr.Translate(err)
		}
		creators = nil
		for _, k := range keys {
			if seen[k.ID] {
				continue
			}
			seen[k.ID] = true
			creators = append(creators, k.ID)
			if k.RevokedAt.Valid {
				continue
			}
			if _, err := tx.ExecContext(ctx, "UPDATE api_keys SET revoked_at = ? WHERE id = ?", st.now(), k.ID); err != nil {
				return dberr.Translate(err)
			}
			if err := st.Audit(ctx, tx, caller, "apikey.revoke", "apikey", k.ID, why); err != nil {
				return err
			}
		}
	}
	return nil
}

// AuthenticateKey checks an API key against the tenant database (or the
// cache of callers, which every change made through a Store ends; see
// CallerCache): it must exist here (so another tenant's key is refused), be
// unrevoked and unexpired, and so must its creators (see keyAuthority). The
// caller it returns holds the key's permissions as far as its creators
// still hold them now.
func (st *Store) AuthenticateKey(ctx context.Context, raw string) (*Caller, error) {
	if !strings.HasPrefix(raw, APIKeyPrefix) || len(raw) > 100 {
		return nil, errBadAPIKey
	}
	now := st.now()
	key := cacheKey{tenant: st.tenantID, kind: 'k', id: string(opaque.Hash(raw))}
	e, gen, use := st.auth.callers.lookup(key)
	var ck *cachedKey
	if e != nil {
		ck = e.apiKey
	} else {
		var expires time.Time
		var err error
		if ck, expires, err = st.readKey(ctx, []byte(key.id), now); err != nil {
			return nil, err
		}
		if use {
			st.auth.callers.store(&cacheEntry{key: key, apiKey: ck}, gen, expires)
		}
	}
	st.recordUse(ctx, ck, now)
	k := ck.key
	return &Caller{APIKey: &k, Roles: []string{}, Permissions: ck.perms, keyChain: ck.chain}, nil
}

// readKey reads the usable key with hash and what it may do from the
// tenant database, and when that must be read again at the latest (the
// first expiry on its chain).
func (st *Store) readKey(ctx context.Context, hash []byte, now time.Time) (*cachedKey, time.Time, error) {
	k, err := getKey(ctx, st.db, keyByHash, hash)
	if err != nil {
		return nil, time.Time{}, err
	}
	if k == nil || !k.usable(now) {
		return nil, time.Time{}, errBadAPIKey
	}
	a, err := keyAuthority(ctx, st.db, k, now)
	if err != nil {
		return nil, time.Time{}, err
	}
	ck := &cachedKey{key: *k, perms: slices.Clip(a.perms), chain: a.chain}
	if k.LastUsedAt.Valid {
		ck.lastUsed.Store(k.LastUsedAt.Time.UnixNano())
	}
	return ck, a.expires, nil
}

// recordUse records the key's use at most once a minute, to keep requests
// read-only; of concurrent requests, one writes.
func (st *Store) recordUse(ctx context.Context, ck *cachedKey, now time.Time) {
	last := ck.lastUsed.Load()
	if last != 0 && now.Sub(time.Unix(0, last)) <= time.Minute {
		return
	}
	at := st.now()
	if !ck.lastUsed.CompareAndSwap(last, at.UnixNano()) {
		return
	}
	if _, err := st.db.ExecContext(ctx, "UPDATE api_keys SET last_used_at = ? WHERE id = ?", at, ck.key.ID); err != nil {
		st.auth.log.WarnContext(ctx, "recording API key use failed", "key", ck.key.ID, "err", err)
	}
}

// The queries getKey runs.
const (
	keyByHash = "SELECT " + apiKeyColumns + " FROM api_keys WHERE key_hash = ?"
	keyByID   = "SELECT " + apiKeyColumns + " FROM api_keys WHERE id = ?"
)

// getKey returns the key query (keyByHash, keyByID) finds for arg, or nil.
func getKey(ctx context.Context, db sqlx.QueryerContext, query string, arg any) (*APIKey, error) {
	var k APIKey
	err := sqlx.GetContext(ctx, db, &k, query, arg)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, dberr.Translate(err)
	}
	return &k, nil
}

// authority is what keyAuthority finds: the permissions a key may use, the
// length of its chain, and when the first key on the chain expires.
type authority struct {
	perms   []string
	chain   int
	expires time.Time
}

// keyAuthority walks a key's creators up to the user who made the first key
// of its chain and returns the permissions the key may use now: its own, as
// far as every key up the chain and that user (with the roles they have
// now) hold them, and the chain's length. A creator that is removed,
// deactivated, revoked or expired, or not of this tenant (a central admin),
// refuses the key: a key never acts beyond what its creator may do now.
func keyAuthority(ctx context.Context, db sqlx.QueryerContext, k *APIKey, now time.Time) (authority, error) {
	a := authority{perms: k.PermissionList(), expires: expiry(k)}
	creator := k.CreatedBy
	for chain := 1; chain <= maxKeyChain; chain++ {
		u, _, held, err := userWithRoles(ctx, db, creator)
		switch {
		case err == nil && !u.IsActive:
			return authority{}, errBadAPIKey
		case err == nil:
			a.perms, a.chain = intersect(a.perms, held), chain
			return a, nil
		case !errors.Is(err, ErrUserNotFound):
			return authority{}, err
		}
		parent, err := getKey(ctx, db, keyByID, creator)
		if err != nil {
			return authority{}, err
		}
		if parent == nil || !parent.usable(now) {
			return authority{}, errBadAPIKey
		}
		a.perms = intersect(a.perms, parent.PermissionList())
		a.expires = earliest(a.expires, expiry(parent))
		creator = parent.CreatedBy
	}
	return authority{}, errBadAPIKey
}

// expiry is when k expires (maxExpiry: never).
func expiry(k *APIKey) time.Time {
	if k.ExpiresAt.Valid {
		return k.ExpiresAt.Time
	}
	return maxExpiry
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// intersect returns the elements of a that b holds, in a's order.
func intersect(a, b []string) []string {
	out := []string{}
	for _, p := range a {
		if slices.Contains(b, p) {
			out = append(out, p)
		}
	}
	return out
}
