package tenantdb

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/silo-dev/silo/internal/lib/clock"
	"github.com/silo-dev/silo/internal/lib/dberr"
)

// Store is the tenant schema of one tenant's database: its users and
// their config (users.go), roles (roles.go), settings (settings.go), audit
// log (audit.go), API keys (apikeys.go), invitations (invitations.go) and
// sign-up, login and sessions (auth.go). Auth.Store binds one to the
// request's pooled database; it holds nothing else of the request, and
// what every tenant shares (token keys, login guard, log, impersonator
// check) it takes from Auth.
//
// Every method runs on the tenant's own database only; a write and its
// audit entry commit together (dberr.InTx, which retries a deadlock
// victim).
type Store struct {
	db   *sqlx.DB
	slug string
	// tenantID is the tenant's catalog id: it scopes the cached callers
	// and names the tenant in announced authorization changes.
	tenantID string
	auth     *Auth
}

// Store binds the tenant schema to db, the pooled database of the tenant
// called slug (the audience of its tokens) whose catalog id is tenantID.
func (a *Auth) Store(db *sqlx.DB, slug, tenantID string) *Store {
	return &Store{db: db, slug: slug, tenantID: tenantID, auth: a}
}

// authzTx runs fn in a transaction (dberr.InTx) that changes what the
// tenant's callers may do: their users, active flags, roles, permissions or
// API keys. Every such change goes through here, so that none forgets to
// end the cached authorization it changes (AuthorizationChanged).
func (st *Store) authzTx(ctx context.Context, fn func(*sqlx.Tx) error) error {
	err := dberr.InTx(ctx, st.db, fn)
	if err == nil {
		st.AuthorizationChanged(ctx)
	} else if st.auth != nil {
		// The commit may have happened even so: drop this instance's
		// entries, which costs one read each.
		st.auth.callers.AuthChanged(st.tenantID)
	}
	return err
}

// AuthorizationChanged ends the cached authorization of the tenant's
// callers: on this instance at once, and on the others through the
// announcement (see Auth.CacheCallers). A change to users, roles,
// permissions or keys made outside this package's methods (by hand, by an
// application's own SQL) must call it, or it is seen only when the cached
// entries expire.
func (st *Store) AuthorizationChanged(ctx context.Context) {
	if st.auth == nil || st.tenantID == "" {
		return
	}
	st.auth.callers.AuthChanged(st.tenantID)
	if st.auth.announce != nil {
		st.auth.announce(ctx, st.tenantID)
	}
}

// now is the time the store stamps what it writes with.
func (st *Store) now() time.Time {
	if st.auth == nil || st.auth.now == nil {
		return clock.Now()
	}
	return st.auth.now()
}

func isUUID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil
}

func splitList(s sql.NullString) []string {
	if !s.Valid || s.String == "" {
		return []string{}
	}
	return strings.Split(s.String, ",")
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
