package central

import (
	"context"
	"database/sql"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/internal/lib/clock"
	"github.com/silo-dev/silo/internal/lib/dberr"
	"github.com/silo-dev/silo/internal/lib/login"
	"github.com/silo-dev/silo/internal/lib/page"
	"github.com/silo-dev/silo/internal/lib/ratelimit"
)

// Audit outcomes.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
)

// AuditEntry is one row of the central audit log.
type AuditEntry struct {
	ID         int64          `db:"id"`
	At         time.Time      `db:"at"`
	ActorKind  string         `db:"actor_kind"`
	ActorID    sql.NullString `db:"actor_id"`
	ActorEmail sql.NullString `db:"actor_email"`
	Action     string         `db:"action"`
	TargetType string         `db:"target_type"`
	Target     string         `db:"target"`
	RequestID  sql.NullString `db:"request_id"`
	ClientIP   sql.NullString `db:"client_ip"`
	Outcome    string         `db:"outcome"`
	Detail     sql.NullString `db:"detail"`
}

func nullable(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// audit records a mutation by the actor in ctx, and announces the entry
// (an audit event). Pass the transaction that made the change so that the
// entry commits with it; given the pool, audit makes a transaction of its
// own for the entry and its event.
func audit(ctx context.Context, e sqlx.ExecerContext, at time.Time, action, targetType, target, outcome, detail string) error {
	if db, ok := e.(*sqlx.DB); ok {
		return dberr.InTx(ctx, db, func(tx *sqlx.Tx) error {
			return audit(ctx, tx, at, action, targetType, target, outcome, detail)
		})
	}
	a := ActorFrom(ctx)
	if len(detail) > 1000 {
		detail = detail[:1000]
	}
	res, err := e.ExecContext(ctx,
		"INSERT INTO audit_log (at, actor_kind, actor_id, actor_email, action, target_type, target, request_id, client_ip, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		at, a.Kind, nullable(a.ID), nullable(a.Email), action, targetType, target,
		nullable(a.RequestID), nullable(a.ClientIP), outcome, nullable(detail))
	if err != nil {
		return translate(err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return translate(err)
	}
	tenant := ""
	if targetType == "tenant" {
		tenant = target
	}
	return appendEvent(ctx, e, at, EventAudit, tenant, auditRef{AuditID: id})
}

// Audit is the central audit log.
type Audit struct {
	db  *sqlx.DB
	now clock.Clock
	// Failed logins are recorded at most once a minute per client IP and
	// email, and at most failedLoginsPerMinute times a minute in all, so
	// that a login flood cannot flood the log.
	perSource, overall *ratelimit.Keyed
}

// failedLoginsPerMinute bounds the failed-login entries one instance writes.
const failedLoginsPerMinute = 60

// NewAudit returns the audit log of the central database db.
func NewAudit(db *sqlx.DB) *Audit {
	return &Audit{db: db, now: clock.System, perSource: ratelimit.PerMinute(1, 10_000), overall: ratelimit.PerMinute(failedLoginsPerMinute, 1)}
}

// FailedLogin records a refused central login (wrong email or password)
// by the anonymous actor in ctx, whose client IP the entry carries. The
// email is recorded as sent when it is a plain address, else as
// "(invalid)". Entries beyond the bounds above are dropped.
func (l *Audit) FailedLogin(ctx context.Context, rawEmail string) error {
	email, ok := login.NormalizeEmail(rawEmail)
	if !ok {
		email = "(invalid)"
	}
	if ok, _ := l.perSource.Allow(ActorFrom(ctx).ClientIP + "\x00" + email); !ok {
		return nil
	}
	if ok, _ := l.overall.Allow(""); !ok {
		return nil
	}
	return audit(ctx, l.db, l.now(), "auth.login", "email", email, OutcomeFailure, "wrong email or password")
}

// Record writes an entry outside any other transaction.
func (l *Audit) Record(ctx context.Context, action, targetType, target, outcome, detail string) error {
	return audit(ctx, l.db, l.now(), action, targetType, target, outcome, detail)
}

// List returns up to limit entries, newest first, older than the cursor
// (an entry id), and the cursor of the next page.
func (l *Audit) List(ctx context.Context, limit int, cursor string) ([]AuditEntry, string, error) {
	before, err := page.Before(cursor)
	if err != nil {
		return nil, "", err
	}
	var out []AuditEntry
	err = l.db.SelectContext(ctx, &out, "SELECT * FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT ?", before, limit+1)
	if err != nil {
		return nil, "", translate(err)
	}
	out, next := page.Cut(out, limit, func(e *AuditEntry) string { return strconv.FormatInt(e.ID, 10) })
	return out, next, nil
}
