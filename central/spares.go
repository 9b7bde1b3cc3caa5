package central

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/internal/lib/dberr"
)

// Spare is a pre-provisioned database waiting to be claimed by a new tenant.
type Spare struct {
	DatabaseName  string    `db:"database_name"`
	DatabaseHost  string    `db:"database_host"`
	Server        string    `db:"server"`
	DBUser        string    `db:"db_user"`
	DBPasswordEnc []byte    `db:"db_password_enc"`
	Status        string    `db:"status"`
	SchemaVersion int64     `db:"schema_version"`
	CreatedAt     time.Time `db:"created_at"`
}

const spareColumns = "database_name, database_host, db_user, db_password_enc, status, schema_version, created_at, server"

// AddSpare records a spare being built (status provisioning), before any of
// its database objects exist, so the reconciliation check knows them.
func (c *Catalog) AddSpare(ctx context.Context, s *Spare) error {
	s.Status, s.CreatedAt = StatusProvisioning, c.now()
	_, err := c.db.ExecContext(ctx, "INSERT INTO spare_databases ("+spareColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		s.DatabaseName, s.DatabaseHost, s.DBUser, s.DBPasswordEnc, s.Status, s.SchemaVersion, s.CreatedAt, s.Server)
	return translate(err)
}

// SpareReady puts a fully built spare in the pool.
func (c *Catalog) SpareReady(ctx context.Context, name string, schemaVersion int64) error {
	_, err := c.db.ExecContext(ctx, "UPDATE spare_databases SET status = 'ready', schema_version = ? WHERE database_name = ?", schemaVersion, name)
	return translate(err)
}

// RemoveSpare forgets a spare whose database objects were dropped.
func (c *Catalog) RemoveSpare(ctx context.Context, name string) error {
	return dberr.InTx(ctx, c.db, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM spare_databases WHERE database_name = ?", name); err != nil {
			return translate(err)
		}
		_, err := tx.ExecContext(ctx, "DELETE FROM schema_sets WHERE database_name = ?", name)
		return translate(err)
	})
}

// Spares lists every spare, ready or being built.
func (c *Catalog) Spares(ctx context.Context) ([]Spare, error) {
	var out []Spare
	return out, translate(c.db.SelectContext(ctx, &out, "SELECT "+spareColumns+" FROM spare_databases ORDER BY created_at"))
}
