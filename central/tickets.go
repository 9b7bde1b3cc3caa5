package central

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/internal/lib/clock"
	"github.com/silo-dev/silo/internal/lib/dberr"
	"github.com/silo-dev/silo/internal/lib/opaque"
	"github.com/silo-dev/silo/internal/lib/secretbox"
)

// TicketTTL is how long an event-stream ticket may wait for its stream.
const TicketTTL = 30 * time.Second

// TicketPrefix starts every ticket.
const TicketPrefix = "evt_"

// ErrTicketInvalid refuses a ticket that is unknown, spent, expired, or
// for another plane or tenant.
var ErrTicketInvalid = apperr.New(apperr.Unauthenticated, "TICKET_INVALID",
	"The ticket is unknown, spent or expired, or for another tenant; ask for a new one")

// Tickets are the single-use tickets that open an event stream in place of
// an Authorization header (a browser's EventSource cannot send one). A
// ticket stands for the credential it was asked with, which it keeps
// sealed with the master key, so that the stream authenticates and
// re-checks the caller exactly as a request with that credential would;
// it is good for one plane (and tenant), once, within TicketTTL. The
// table is central, so a ticket asked of one instance opens a stream on
// any other.
type Tickets struct {
	db  *sqlx.DB
	box *secretbox.Box
	now clock.Clock
}

// NewTickets returns the tickets of the central database db, sealed with
// box.
func NewTickets(db *sqlx.DB, box *secretbox.Box) *Tickets {
	return &Tickets{db: db, box: box, now: clock.System}
}

// SetClock makes the tickets expire by c.
func (t *Tickets) SetClock(c clock.Clock) { t.now = c }

// Ticket is what a ticket was issued for.
type Ticket struct {
	Plane      string // "central" or "tenant"
	TenantID   string // the tenant's catalog id; "" on the central plane
	TenantSlug string
	Credential string // the access token or API key it stands for
}

// Issue returns a new ticket for tk.
func (t *Tickets) Issue(ctx context.Context, tk Ticket) (string, error) {
	raw := opaque.New(TicketPrefix)
	hash := opaque.Hash(raw)
	sealed := t.box.Seal([]byte(tk.Credential), ticketAAD(hash, tk.Plane, tk.TenantID))
	_, err := t.db.ExecContext(ctx, "INSERT INTO event_tickets (hash, plane, tenant_id, tenant_slug, credential_enc, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
		hash, tk.Plane, tk.TenantID, tk.TenantSlug, sealed, t.now().Add(TicketTTL))
	if err != nil {
		return "", translate(err)
	}
	return raw, nil
}

// Redeem spends a ticket of plane and returns what it was issued for, or
// ErrTicketInvalid. A ticket is spent by its first redemption, whatever
// its outcome; the caller checks the tenant.
func (t *Tickets) Redeem(ctx context.Context, raw, plane string) (*Ticket, error) {
	if len(raw) != len(TicketPrefix)+43 || raw[:len(TicketPrefix)] != TicketPrefix {
		return nil, ErrTicketInvalid
	}
	hash := opaque.Hash(raw)
	var row struct {
		Plane    string    `db:"plane"`
		TenantID string    `db:"tenant_id"`
		Slug     string    `db:"tenant_slug"`
		Sealed   []byte    `db:"credential_enc"`
		Expires  time.Time `db:"expires_at"`
	}
	err := dberr.InTx(ctx, t.db, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &row, "SELECT plane, tenant_id, tenant_slug, credential_enc, expires_at FROM event_tickets WHERE hash = ? FOR UPDATE", hash)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrTicketInvalid
		}
		if err != nil {
			return translate(err)
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM event_tickets WHERE hash = ?", hash)
		return translate(err)
	})
	if err != nil {
		return nil, err
	}
	if row.Plane != plane || !t.now().Before(row.Expires) {
		return nil, ErrTicketInvalid
	}
	cred, err := t.box.Open(row.Sealed, ticketAAD(hash, row.Plane, row.TenantID))
	if err != nil {
		return nil, ErrTicketInvalid
	}
	return &Ticket{Plane: row.Plane, TenantID: row.TenantID, TenantSlug: row.Slug, Credential: string(cred)}, nil
}

// ticketAAD binds a sealed credential to its ticket, plane and tenant.
func ticketAAD(hash []byte, plane, tenantID string) []byte {
	return append(append([]byte(nil), hash...), plane+"\x00"+tenantID...)
}

// Prune deletes the tickets that expired unused.
func (t *Tickets) Prune(ctx context.Context) (int64, error) {
	res, err := t.db.ExecContext(ctx, "DELETE FROM event_tickets WHERE expires_at < ?", t.now())
	if err != nil {
		return 0, translate(err)
	}
	return res.RowsAffected()
}
