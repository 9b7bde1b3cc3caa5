package central

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/internal/lib/clock"
)

// Types of the central plane's live events (the events table).
const (
	// EventTenantStatus: a tenant was created, moved a provisioning step,
	// became active, failed, was suspended, resumed, renamed, deleted or
	// purged. Its data is a TenantState.
	EventTenantStatus = "tenant.status"
	// EventMigrationProgress: a fleet migration run started, went on or
	// finished (provisioning.FleetProgress).
	EventMigrationProgress = "migration.progress"
	// EventAudit: a new central audit entry ({"auditId": n}).
	EventAudit = "audit"
)

// EventRetention is how long events are kept: a stream resumes without
// losing anything only from an event at most this old.
const EventRetention = 24 * time.Hour

// maxEventData bounds an event's data (a fleet run's progress carries
// results): the column holds 16 MiB, a stream's reader far less.
const maxEventData = 256 << 10

// Event is a row of the events table. Audit is the entry of an audit
// event, as After found it (nil for other types, and when the entry is
// gone).
type Event struct {
	ID     int64          `db:"id"`
	Type   string         `db:"type"`
	Tenant sql.NullString `db:"tenant"`
	Data   string         `db:"data"`
	At     time.Time      `db:"created_at"`
	Audit  *AuditEntry    `db:"-"`
}

// TenantState is a tenant.status event's data: the tenant as its change
// left it, and the change.
type TenantState struct {
	ID        string `db:"id" json:"id"`
	Slug      string `db:"slug" json:"slug"`
	Name      string `db:"name" json:"name"`
	Status    string `db:"status" json:"status"`
	Step      string `db:"step" json:"step"`
	LastError string `db:"last_error" json:"lastError,omitempty"`
	// Change is what happened: created, step, active, failed,
	// provisioning (a retry), suspended, resumed, updated, deleted,
	// purged.
	Change string `db:"-" json:"change"`
}

// auditRef is an audit event's data.
type auditRef struct {
	AuditID int64 `json:"auditId"`
}

// appendEvent writes an event in e: pass the transaction of the change it
// announces, so that both commit together.
func appendEvent(ctx context.Context, e sqlx.ExecerContext, at time.Time, typ, tenant string, data any) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return err
	}
	if len(raw) > maxEventData {
		return errors.New("event data too large")
	}
	_, err = e.ExecContext(ctx, "INSERT INTO events (type, tenant, data, created_at) VALUES (?, ?, ?, ?)",
		typ, nullable(tenant), string(raw), at)
	return translate(err)
}

// tenantEvent announces the change of tenant id in tx, with the tenant's
// row as the change left it.
func tenantEvent(ctx context.Context, tx *sqlx.Tx, at time.Time, id, change string) error {
	var s TenantState
	err := tx.GetContext(ctx, &s, "SELECT id, slug, name, status, step, IFNULL(last_error, '') AS last_error FROM tenants WHERE id = ?", id)
	if err != nil {
		return translate(err)
	}
	s.Change = change
	return appendEvent(ctx, tx, at, EventTenantStatus, s.Slug, s)
}

// Events reads and prunes the events table.
type Events struct {
	db  *sqlx.DB
	now clock.Clock
}

// NewEvents returns the events of the central database db.
func NewEvents(db *sqlx.DB) *Events { return &Events{db: db, now: clock.System} }

// SetClock makes the events stamped, and pruned, by c.
func (e *Events) SetClock(c clock.Clock) { e.now = c }

// Record writes an event on its own (not part of another change).
func (e *Events) Record(ctx context.Context, typ, tenant string, data any) error {
	return appendEvent(ctx, e.db, e.now(), typ, tenant, data)
}

// After returns up to limit events with an id above after, in id order,
// audit events with their entries.
func (e *Events) After(ctx context.Context, after int64, limit int) ([]Event, error) {
	var out []Event
	err := e.db.SelectContext(ctx, &out, "SELECT id, type, tenant, data, created_at FROM events WHERE id > ? ORDER BY id LIMIT ?", after, limit)
	if err != nil {
		return nil, translate(err)
	}
	return out, e.attachAudit(ctx, out)
}

// attachAudit sets the Audit of the audit events of evs.
func (e *Events) attachAudit(ctx context.Context, evs []Event) error {
	byID := map[int64]*Event{}
	ids := []int64{}
	for i := range evs {
		var ref auditRef
		if evs[i].Type != EventAudit || json.Unmarshal([]byte(evs[i].Data), &ref) != nil {
			continue
		}
		byID[ref.AuditID] = &evs[i]
		ids = append(ids, ref.AuditID)
	}
	if len(ids) == 0 {
		return nil
	}
	q, args, err := sqlx.In("SELECT * FROM audit_log WHERE id IN (?)", ids)
	if err != nil {
		return err
	}
	var entries []AuditEntry
	if err := e.db.SelectContext(ctx, &entries, q, args...); err != nil {
		return translate(err)
	}
	for i := range entries {
		byID[entries[i].ID].Audit = &entries[i]
	}
	return nil
}

// EventBounds are where the events are.
type EventBounds struct {
	Oldest, Newest int64 // the ids of the oldest and the newest event kept (0 when none)
	Step           int64 // the server's auto_increment_increment
}

// Bounds returns the ids of the oldest and the newest event kept, and how
// ids step.
func (e *Events) Bounds(ctx context.Context) (EventBounds, error) {
	var b EventBounds
	row := e.db.QueryRowxContext(ctx, "SELECT IFNULL(MIN(id), 0), IFNULL(MAX(id), 0), @@auto_increment_increment FROM events")
	return b, translate(row.Scan(&b.Oldest, &b.Newest, &b.Step))
}

// pruneBatch bounds the rows one DELETE of Prune removes.
const pruneBatch = 1000

// Prune deletes the events created before before, but the newest event,
// which stays so that a stream started on an otherwise empty table knows
// where the ids are; it returns how many it deleted.
func (e *Events) Prune(ctx context.Context, before time.Time) (int64, error) {
	b, err := e.Bounds(ctx)
	newest := b.Newest
	if err != nil || newest == 0 {
		return 0, err
	}
	var total int64
	for {
		res, err := e.db.ExecContext(ctx, "DELETE FROM events WHERE created_at < ? AND id < ? ORDER BY id LIMIT ?", before, newest, pruneBatch)
		if err != nil {
			return total, translate(err)
		}
		n, _ := res.RowsAffected()
		total += n
		if n < pruneBatch {
			return total, nil
		}
	}
}
