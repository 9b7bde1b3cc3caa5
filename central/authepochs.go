package central

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/internal/lib/clock"
	"github.com/silo-dev/silo/internal/lib/dberr"
)

// AuthEpochs is the central record of changes to what tenants' callers may
// do (tenant_auth_epochs): every instance caches its tenants' callers, a
// change bumps the tenant's epoch here, and Follow tells an instance of the
// bumps made anywhere, reading only the rows that changed since its last
// poll. Tenants are named by their catalog id, so a tenant deleted and
// created again under the same slug shares nothing with its predecessor.
type AuthEpochs struct {
	db  *sqlx.DB
	log *slog.Logger
	now clock.Clock

	mu      sync.Mutex
	pending map[string]bool // bumps that failed, retried by Follow
}

// AuthWatcher is what Follow keeps informed: AuthChanged for each tenant
// whose epoch was bumped since the previous poll, then AuthFollowed with
// the time the poll began, once every bump committed before then has been
// reported.
type AuthWatcher interface {
	AuthChanged(tenantID string)
	AuthFollowed(at time.Time)
}

// NewAuthEpochs returns the epochs of the central database db.
func NewAuthEpochs(db *sqlx.DB, log *slog.Logger) *AuthEpochs {
	return &AuthEpochs{db: db, log: log, now: clock.System, pending: map[string]bool{}}
}

// bumpTimeout bounds one bump, which runs after a change has committed in
// the tenant's database.
const bumpTimeout = 2 * time.Second

// Bump records that what the callers of tenantID may do has changed. The
// tenant-plane change it announces has already committed; if the central
// database cannot take the bump now, it is kept and retried by Follow (the
// error says so), and other instances learn of the change when it lands or
// when their cached entries expire, whichever comes first.
func (e *AuthEpochs) Bump(ctx context.Context, tenantID string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bumpTimeout)
	defer cancel()
	err := e.bump(ctx, tenantID)
	if err != nil {
		e.mu.Lock()
		e.pending[tenantID] = true
		e.mu.Unlock()
	}
	return err
}

func (e *AuthEpochs) bump(ctx context.Context, tenantID string) error {
	return dberr.InTx(ctx, e.db, func(tx *sqlx.Tx) error {
		// The sequence row stays locked until commit: bumps commit in seq
		// order, so a poll that sees seq n has seen every seq below it.
		if _, err := tx.ExecContext(ctx, "UPDATE auth_epoch_sequence SET seq = LAST_INSERT_ID(seq + 1) WHERE id = 1"); err != nil {
			return translate(err)
		}
		// LAST_INSERT_ID() is the seq just taken (this table has no
		// AUTO_INCREMENT column, so the insert does not change it).
		now := e.now()
		_, err := tx.ExecContext(ctx, `INSERT INTO tenant_auth_epochs (tenant_id, epoch, seq, changed_at) VALUES (?, 1, LAST_INSERT_ID(), ?)
			ON DUPLICATE KEY UPDATE epoch = epoch + 1, seq = LAST_INSERT_ID(), changed_at = ?`, tenantID, now, now)
		return translate(err)
	})
}

// retryPending retries the bumps that failed; those that fail again stay.
func (e *AuthEpochs) retryPending(ctx context.Context) {
	e.mu.Lock()
	ids := make([]string, 0, len(e.pending))
	for id := range e.pending {
		ids = append(ids, id)
	}
	e.mu.Unlock()
	for _, id := range ids {
		if err := e.bump(ctx, id); err != nil {
			return // the central database is still away; try next time
		}
		e.mu.Lock()
		delete(e.pending, id)
		e.mu.Unlock()
		e.log.InfoContext(ctx, "delayed authorization change recorded", "tenant", id)
	}
}

// EpochChange is one tenant's epoch as a poll found it.
type EpochChange struct {
	TenantID string `db:"tenant_id"`
	Seq      int64  `db:"seq"`
}

// pollBatch bounds the rows one poll query reads.
const pollBatch = 1000

// ChangedSince returns the tenants whose epoch was bumped after seq, in seq
// order, at most pollBatch of them.
func (e *AuthEpochs) ChangedSince(ctx context.Context, seq int64) ([]EpochChange, error) {
	var out []EpochChange
	err := e.db.SelectContext(ctx, &out,
		"SELECT tenant_id, seq FROM tenant_auth_epochs WHERE seq > ? ORDER BY seq LIMIT ?", seq, pollBatch)
	return out, translate(err)
}

// Seq returns the last seq handed out.
func (e *AuthEpochs) Seq(ctx context.Context) (int64, error) {
	var seq int64
	err := e.db.GetContext(ctx, &seq, "SELECT seq FROM auth_epoch_sequence WHERE id = 1")
	return seq, translate(err)
}

// Follow polls every interval until ctx ends: it retries failed bumps,
// reports each tenant bumped since the last poll to w, then tells w the
// time the poll began. While the central database is away, w hears nothing
// (an AuthWatcher stops trusting what it cached; see tenantdb.CallerCache).
func (e *AuthEpochs) Follow(ctx context.Context, interval time.Duration, w AuthWatcher) {
	t := time.NewTicker(interval)
	defer t.Stop()
	last := int64(-1) // not known yet
	for {
		if ctx.Err() != nil {
			return
		}
		last = e.poll(ctx, last, w)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// poll is one round of Follow; it returns the last seq seen.
func (e *AuthEpochs) poll(ctx context.Context, last int64, w AuthWatcher) int64 {
	e.retryPending(ctx)
	began := time.Now()
	pctx, cancel := context.WithTimeout(ctx, bumpTimeout)
	defer cancel()
	if last < 0 {
		// The first poll: nothing is cached yet (a watcher caches only
		// after a poll), so every earlier bump is already accounted for.
		seq, err := e.Seq(pctx)
		if err != nil {
			return last
		}
		w.AuthFollowed(began)
		return seq
	}
	for {
		changes, err := e.ChangedSince(pctx, last)
		if err != nil {
			return last
		}
		for _, c := range changes {
			w.AuthChanged(c.TenantID)
			last = c.Seq
		}
		if len(changes) < pollBatch {
			w.AuthFollowed(began)
			return last
		}
	}
}
