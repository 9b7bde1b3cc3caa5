package central

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/internal/lib/clock"
	"github.com/silo-dev/silo/internal/lib/dberr"
	"github.com/silo-dev/silo/internal/lib/page"
	"github.com/silo-dev/silo/internal/lib/sqllike"
)

// Tenant statuses.
const (
	StatusProvisioning = "provisioning"
	StatusActive       = "active"
	StatusSuspended    = "suspended"
	StatusFailed       = "failed"
	StatusDeleted      = "deleted"
)

// Tenant is a row of the tenant catalog.
type Tenant struct {
	ID            string         `db:"id"`
	Slug          string         `db:"slug"`
	Name          string         `db:"name"`
	Status        string         `db:"status"`
	Step          string         `db:"step"`
	DatabaseName  string         `db:"database_name"`
	DatabaseHost  string         `db:"database_host"`
	Server        string         `db:"server"` // the registered database server holding the database
	DBUser        string         `db:"db_user"`
	DBPasswordEnc []byte         `db:"db_password_enc"`
	SchemaVersion int64          `db:"schema_version"`
	LastError     sql.NullString `db:"last_error"`
	PendingAdmin  sql.NullString `db:"pending_admin"`
	MigrationErr  sql.NullString `db:"migration_error"`
	CreatedAt     time.Time      `db:"created_at"`
	UpdatedAt     time.Time      `db:"updated_at"`
	Domains       []string       `db:"-"`
}

// Catalog errors.
var (
	ErrTenantExists   = apperr.New(apperr.Conflict, "TENANT_EXISTS", "A tenant with this slug already exists")
	ErrTenantNotFound = apperr.New(apperr.NotFound, "TENANT_NOT_FOUND", "Tenant not found")
	ErrDomainTaken    = apperr.New(apperr.Conflict, "CONFLICT", "A domain is already mapped to another tenant")
)

const tenantColumns = "id, slug, name, status, step, database_name, database_host, db_user, db_password_enc, schema_version, last_error, pending_admin, created_at, updated_at, migration_error, server"

// Catalog is the tenant catalog in the central database.
type Catalog struct {
	db     *sqlx.DB
	locks  *sqlx.DB // holds one connection per lock held; db unless UseLockPool
	dbName string   // scopes lock names to this installation
	now    clock.Clock

	mu       sync.Mutex
	onChange []func() // called after each committed catalog change
}

// OnChange registers fn to run after every catalog change this instance
// commits (other instances learn of it through Version).
func (c *Catalog) OnChange(fn func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onChange = append(c.onChange, fn)
}

// mutate runs fn in a transaction that also bumps the catalog version, and
// tells this instance's listeners once it has committed.
func (c *Catalog) mutate(ctx context.Context, fn func(*sqlx.Tx) error) error {
	err := dberr.InTx(ctx, c.db, func(tx *sqlx.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "UPDATE catalog_version SET version = version + 1 WHERE id = 1")
		return translate(err)
	})
	if err == nil {
		c.mu.Lock()
		fns := c.onChange
		c.mu.Unlock()
		for _, fn := range fns {
			fn()
		}
	}
	return err
}

// Version is the catalog's change counter.
func (c *Catalog) Version(ctx context.Context) (int64, error) {
	var v int64
	err := c.db.GetContext(ctx, &v, "SELECT version FROM catalog_version WHERE id = 1")
	return v, translate(err)
}

// NewCatalog returns the catalog of the central database db, named dbName.
func NewCatalog(db *sqlx.DB, dbName string) *Catalog {
	return &Catalog{db: db, locks: db, dbName: dbName, now: clock.System}
}

// SetClock makes the catalog stamp the times it writes with c.
func (c *Catalog) SetClock(clk clock.Clock) { c.now = clk }

// UseLockPool takes named locks on connections of pool rather than of the
// catalog's own pool. A lock holds its connection for as long as it is
// held, while its holder needs catalog connections too: with one bounded
// pool, enough concurrent holders would wait on each other for ever.
func (c *Catalog) UseLockPool(pool *sqlx.DB) { c.locks = pool }

// Tenant returns the tenant with slug, with its domains.
func (c *Catalog) Tenant(ctx context.Context, slug string) (*Tenant, error) {
	var t Tenant
	err := c.db.GetContext(ctx, &t, "SELECT "+tenantColumns+" FROM tenants WHERE slug = ?", slug)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrTenantNotFound
	}
	if err != nil {
		return nil, translate(err)
	}
	if err := c.loadDomains(ctx, []*Tenant{&t}); err != nil {
		return nil, err
	}
	return &t, nil
}

// TenantFilter selects tenants to list.
type TenantFilter struct {
	Status string // exact status, or empty
	Query  string // substring of slug or name, or empty
	Limit  int
	Cursor string // id of the last tenant of the previous page
}

// Tenants lists tenants in creation order and returns the next page's cursor.
func (c *Catalog) Tenants(ctx context.Context, f TenantFilter) ([]Tenant, string, error) {
	q := "SELECT " + tenantColumns + " FROM tenants WHERE id > ?"
	args := []any{f.Cursor}
	if f.Status != "" {
		q += " AND status = ?"
		args = append(args, f.Status)
	}
	if f.Query != "" {
		like := sqllike.Contains(f.Query)
		q += " AND (slug LIKE ? OR name LIKE ?)"
		args = append(args, like, like)
	}
	q += " ORDER BY id LIMIT ?"
	args = append(args, f.Limit+1)
	var out []Tenant
	if err := c.db.SelectContext(ctx, &out, q, args...); err != nil {
		return nil, "", translate(err)
	}
	out, next := page.Cut(out, f.Limit, func(t *Tenant) string { return t.ID })
	ptrs := make([]*Tenant, len(out))
	for i := range out {
		ptrs[i] = &out[i]
	}
	return out, next, c.loadDomains(ctx, ptrs)
}

// TenantsByStatus returns every tenant in one of statuses.
func (c *Catalog) TenantsByStatus(ctx context.Context, statuses ...string) ([]Tenant, error) {
	q, args, err := sqlx.In("SELECT "+tenantColumns+" FROM tenants WHERE status IN (?) ORDER BY id", statuses)
	if err != nil {
		return nil, err
	}
	var out []Tenant
	return out, translate(c.db.SelectContext(ctx, &out, q, args...))
}

func (c *Catalog) loadDomains(ctx context.Context, ts []*Tenant) error {
	if len(ts) == 0 {
		return nil
	}
	byID := map[string]*Tenant{}
	ids := make([]string, 0, len(ts))
	for _, t := range ts {
		t.Domains = []string{}
		byID[t.ID] = t
		ids = append(ids, t.ID)
	}
	q, args, err := sqlx.In("SELECT tenant_id, domain FROM tenant_domains WHERE tenant_id IN (?) ORDER BY domain", ids)
	if err != nil {
		return err
	}
	rows, err := c.db.QueryxContext(ctx, q, args...)
	if err != nil {
		return translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, domain string
		if err := rows.Scan(&id, &domain); err != nil {
			return translate(err)
		}
		byID[id].Domains = append(byID[id].Domains, domain)
	}
	return translate(rows.Err())
}

// NewTenantID returns a fresh, time-ordered tenant id.
func NewTenantID() string { return uuid.Must(uuid.NewV7()).String() }

// CreateTenant inserts a new tenant (status provisioning) with its domains,
// placed on a database server as want asks (see place): t.Server is set.
// When claimSpare is set and a ready spare database exists on that server,
// the tenant takes it over: t's database fields and step become the
// spare's, and the spare leaves the pool in the same transaction. It
// reports whether it did.
func (c *Catalog) CreateTenant(ctx context.Context, t *Tenant, want Placement, claimSpare bool) (claimed bool, err error) {
	err = c.mutate(ctx, func(tx *sqlx.Tx) error {
		claimed = false
		server, err := place(ctx, tx, want)
		if err != nil {
			return err
		}
		t.Server, t.DatabaseHost = server.Name, server.Addr
		if claimSpare {
			var s Spare
			err := tx.GetContext(ctx, &s, "SELECT "+spareColumns+" FROM spare_databases WHERE status = 'ready' AND server = ? ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED", server.Name)
			switch {
			case err == nil:
				claimed = true
				t.DatabaseName, t.DatabaseHost, t.DBUser, t.DBPasswordEnc = s.DatabaseName, s.DatabaseHost, s.DBUser, s.DBPasswordEnc
				t.SchemaVersion, t.Step = s.SchemaVersion, "migrated"
				if _, err := tx.ExecContext(ctx, "DELETE FROM spare_databases WHERE database_name = ?", s.DatabaseName); err != nil {
					return translate(err)
				}
			case !errors.Is(err, sql.ErrNoRows):
				return translate(err)
			}
		}
		t.CreatedAt, t.UpdatedAt = c.now(), c.now()
		_, err = tx.ExecContext(ctx, "INSERT INTO tenants ("+tenantColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			t.ID, t.Slug, t.Name, t.Status, t.Step, t.DatabaseName, t.DatabaseHost, t.DBUser, t.DBPasswordEnc,
			t.SchemaVersion, t.LastError, t.PendingAdmin, t.CreatedAt, t.UpdatedAt, t.MigrationErr, t.Server)
		if isDuplicate(err) {
			return ErrTenantExists
		}
		if err != nil {
			return translate(err)
		}
		if err := insertDomains(ctx, tx, t.ID, t.Domains, c.now()); err != nil {
			return err
		}
		detail := "database " + t.DatabaseName + " on server " + t.Server
		if claimed {
			detail += " (spare)"
		}
		if err := tenantEvent(ctx, tx, c.now(), t.ID, "created"); err != nil {
			return err
		}
		return audit(ctx, tx, c.now(), "tenant.create", "tenant", t.Slug, OutcomeSuccess, detail)
	})
	return claimed, err
}

func insertDomains(ctx context.Context, tx *sqlx.Tx, tenantID string, domains []string, at time.Time) error {
	for _, d := range domains {
		_, err := tx.ExecContext(ctx, "INSERT INTO tenant_domains (domain, tenant_id, created_at) VALUES (?, ?, ?)", d, tenantID, at)
		if isDuplicate(err) {
			return ErrDomainTaken
		}
		if err != nil {
			return translate(err)
		}
	}
	return nil
}

// SetStep records that provisioning step completed (and the schema version).
func (c *Catalog) SetStep(ctx context.Context, id, step string, schemaVersion int64) error {
	return dberr.InTx(ctx, c.db, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE tenants SET step = ?, schema_version = GREATEST(schema_version, ?), updated_at = ? WHERE id = ?",
			step, schemaVersion, c.now(), id)
		if err != nil {
			return translate(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // no such tenant: nothing to announce
		}
		return tenantEvent(ctx, tx, c.now(), id, "step")
	})
}

// SetProvisioning marks a tenant as being provisioned again (a retry).
func (c *Catalog) SetProvisioning(ctx context.Context, id string) error {
	return c.mutate(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE tenants SET status = 'provisioning', updated_at = ? WHERE id = ? AND status IN ('provisioning', 'failed')", c.now(), id)
		if err != nil {
			return translate(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return tenantEvent(ctx, tx, c.now(), id, "provisioning")
	})
}

// FinishProvisioning marks the tenant active and forgets the pending admin.
func (c *Catalog) FinishProvisioning(ctx context.Context, t *Tenant) error {
	return c.mutate(ctx, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE tenants SET status = 'active', step = 'done', last_error = NULL, pending_admin = NULL, updated_at = ? WHERE id = ?", c.now(), t.ID)
		if err != nil {
			return translate(err)
		}
		if err := tenantEvent(ctx, tx, c.now(), t.ID, "active"); err != nil {
			return err
		}
		return audit(ctx, tx, c.now(), "tenant.provision", "tenant", t.Slug, OutcomeSuccess, "")
	})
}

// FailProvisioning marks the tenant failed with a message that must hold no secret.
func (c *Catalog) FailProvisioning(ctx context.Context, t *Tenant, lastError string) error {
	if len(lastError) > 1000 {
		lastError = lastError[:1000]
	}
	return c.mutate(ctx, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE tenants SET status = 'failed', last_error = ?, updated_at = ? WHERE id = ?", lastError, c.now(), t.ID)
		if err != nil {
			return translate(err)
		}
		if err := tenantEvent(ctx, tx, c.now(), t.ID, "failed"); err != nil {
			return err
		}
		return audit(ctx, tx, c.now(), "tenant.provision", "tenant", t.Slug, OutcomeFailure, lastError)
	})
}

// ErrWrongStatus is returned when a lifecycle change does not apply to the
// tenant's current status.
func ErrWrongStatus(status string) error {
	return apperr.New(apperr.Conflict, "CONFLICT", "Not possible while the tenant is "+status)
}

// ChangeStatus moves the tenant with slug from one of from to status to,
// recording action in the audit log.
func (c *Catalog) ChangeStatus(ctx context.Context, slug string, from []string, to, action string) (*Tenant, error) {
	err := c.mutate(ctx, func(tx *sqlx.Tx) error {
		var cur struct {
			ID     string `db:"id"`
			Status string `db:"status"`
		}
		err := tx.GetContext(ctx, &cur, "SELECT id, status FROM tenants WHERE slug = ? FOR UPDATE", slug)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrTenantNotFound
		}
		if err != nil {
			return translate(err)
		}
		status := cur.Status
		if !slices.Contains(from, status) {
			return ErrWrongStatus(status)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE tenants SET status = ?, updated_at = ? WHERE slug = ?", to, c.now(), slug); err != nil {
			return translate(err)
		}
		if err := tenantEvent(ctx, tx, c.now(), cur.ID, statusChange(status, to)); err != nil {
			return err
		}
		return audit(ctx, tx, c.now(), action, "tenant", slug, OutcomeSuccess, status+" -> "+to)
	})
	if err != nil {
		return nil, err
	}
	return c.Tenant(ctx, slug)
}

// statusChange names a status change for a tenant.status event.
func statusChange(from, to string) string {
	if to == StatusActive && from == StatusSuspended {
		return "resumed"
	}
	return to // suspended, deleted
}

// UpdateTenant changes a tenant's name and/or replaces its domains.
func (c *Catalog) UpdateTenant(ctx context.Context, slug string, name *string, domains []string, setDomains bool) (*Tenant, error) {
	err := c.mutate(ctx, func(tx *sqlx.Tx) error {
		var id string
		err := tx.GetContext(ctx, &id, "SELECT id FROM tenants WHERE slug = ? AND status <> 'deleted' FOR UPDATE", slug)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrTenantNotFound
		}
		if err != nil {
			return translate(err)
		}
		var changed []string
		if name != nil {
			if _, err := tx.ExecContext(ctx, "UPDATE tenants SET name = ?, updated_at = ? WHERE id = ?", *name, c.now(), id); err != nil {
				return translate(err)
			}
			changed = append(changed, "name")
		}
		if setDomains {
			if _, err := tx.ExecContext(ctx, "DELETE FROM tenant_domains WHERE tenant_id = ?", id); err != nil {
				return translate(err)
			}
			if err := insertDomains(ctx, tx, id, domains, c.now()); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "UPDATE tenants SET updated_at = ? WHERE id = ?", c.now(), id); err != nil {
				return translate(err)
			}
			changed = append(changed, "domains ["+strings.Join(domains, " ")+"]")
		}
		if err := tenantEvent(ctx, tx, c.now(), id, "updated"); err != nil {
			return err
		}
		return audit(ctx, tx, c.now(), "tenant.update", "tenant", slug, OutcomeSuccess, strings.Join(changed, ", "))
	})
	if err != nil {
		return nil, err
	}
	return c.Tenant(ctx, slug)
}

// RemoveTenant deletes a purged tenant's catalog row and domains.
func (c *Catalog) RemoveTenant(ctx context.Context, t *Tenant) error {
	return c.mutate(ctx, func(tx *sqlx.Tx) error {
		if err := tenantEvent(ctx, tx, c.now(), t.ID, "purged"); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM tenants WHERE id = ?", t.ID)
		if err != nil {
			return translate(err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			if _, err := tx.ExecContext(ctx, "UPDATE db_servers SET tenants = GREATEST(tenants - 1, 0) WHERE name = ?", t.Server); err != nil {
				return translate(err)
			}
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM schema_sets WHERE database_name = ?", t.DatabaseName); err != nil {
			return translate(err)
		}
		return audit(ctx, tx, c.now(), "tenant.purge", "tenant", t.Slug, OutcomeSuccess, "dropped database "+t.DatabaseName+" and DB user "+t.DBUser)
	})
}

// RecordEvent writes a live event on its own (a fleet run's progress).
func (c *Catalog) RecordEvent(ctx context.Context, typ, tenant string, data any) error {
	return appendEvent(ctx, c.db, c.now(), typ, tenant, data)
}

// RecordMigration stores the schema version a fleet run left a tenant at,
// and its error (empty after a success).
func (c *Catalog) RecordMigration(ctx context.Context, id string, version int64, errMsg string) error {
	if len(errMsg) > 1000 {
		errMsg = errMsg[:1000]
	}
	_, err := c.db.ExecContext(ctx, "UPDATE tenants SET schema_version = ?, migration_error = ?, updated_at = ? WHERE id = ?",
		version, sql.NullString{String: errMsg, Valid: errMsg != ""}, c.now(), id)
	return translate(err)
}

// RecordSpareVersion stores a spare's schema version after a fleet run.
func (c *Catalog) RecordSpareVersion(ctx context.Context, name string, version int64) error {
	_, err := c.db.ExecContext(ctx, "UPDATE spare_databases SET schema_version = ? WHERE database_name = ?", version, name)
	return translate(err)
}
