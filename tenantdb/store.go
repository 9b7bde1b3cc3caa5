package tenantdb

import (
	"database/sql"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/silo-dev/silo/internal/lib/clock"
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
	auth *Auth
}

// Store binds the tenant schema to db, the pooled database of the tenant
// called slug (the audience of its tokens).
func (a *Auth) Store(db *sqlx.DB, slug string) *Store {
	return &Store{db: db, slug: slug, auth: a}
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
