package tenantdb

import (
	"context"
	"database/sql"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/internal/lib/dberr"
	"github.com/silo-dev/silo/internal/lib/page"
)

// Audit records a tenant mutation by caller in the tenant's audit log,
// stamped with the store's clock. Pass the transaction that made the change
// so that the entry commits with it.
func (st *Store) Audit(ctx context.Context, e sqlx.ExecerContext, caller *Caller, action, targetType, target, detail string) error {
	return Audit(ctx, e, st.now(), caller, action, targetType, target, detail)
}

// Audit records a tenant mutation by caller in the tenant's audit log at
// time at; code with a Store calls its Audit method.
func Audit(ctx context.Context, e sqlx.ExecerContext, at time.Time, caller *Caller, action, targetType, target, detail string) error {
	kind, actor, actingAs := caller.actor()
	if len(detail) > 1000 {
		detail = detail[:1000]
	}
	_, err := e.ExecContext(ctx,
		"INSERT INTO audit_log (at, actor_kind, actor_id, acting_as, action, target_type, target, request_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		at, kind, actor, actingAs, action, targetType, target,
		sql.NullString{String: caller.RequestID, Valid: caller.RequestID != ""}, sql.NullString{String: detail, Valid: detail != ""})
	return dberr.Translate(err)
}

// AuditEntry is a row of the tenant audit log.
type AuditEntry struct {
	ID         int64          `db:"id"`
	At         time.Time      `db:"at"`
	ActorKind  string         `db:"actor_kind"`
	ActorID    sql.NullString `db:"actor_id"`
	ActingAs   sql.NullString `db:"acting_as"`
	Action     string         `db:"action"`
	TargetType string         `db:"target_type"`
	Target     string         `db:"target"`
	RequestID  sql.NullString `db:"request_id"`
	Detail     sql.NullString `db:"detail"`
}

// AuditLog lists entries newest first, older than cursor (an entry id).
func (st *Store) AuditLog(ctx context.Context, limit int, cursor string) ([]AuditEntry, string, error) {
	before, err := page.Before(cursor)
	if err != nil {
		return nil, "", err
	}
	var out []AuditEntry
	if err := sqlx.SelectContext(ctx, st.db, &out, "SELECT * FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT ?", before, limit+1); err != nil {
		return nil, "", dberr.Translate(err)
	}
	out, next := page.Cut(out, limit, func(e *AuditEntry) string { return strconv.FormatInt(e.ID, 10) })
	return out, next, nil
}

// AuditAfter returns up to limit entries with an id above after, oldest
// first (what a live stream of the log reads).
func (st *Store) AuditAfter(ctx context.Context, after int64, limit int) ([]AuditEntry, error) {
	var out []AuditEntry
	err := sqlx.SelectContext(ctx, st.db, &out, "SELECT * FROM audit_log WHERE id > ? ORDER BY id LIMIT ?", after, limit)
	return out, dberr.Translate(err)
}

// LastAuditID is the id of the newest entry (0 when the log is empty),
// and how the ids step (the server's auto_increment_increment).
func (st *Store) LastAuditID(ctx context.Context) (last, step int64, err error) {
	row := st.db.QueryRowxContext(ctx, "SELECT IFNULL(MAX(id), 0), @@auto_increment_increment FROM audit_log")
	return last, step, dberr.Translate(row.Scan(&last, &step))
}
