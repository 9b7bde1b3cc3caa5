package central

import (
	"context"
	"database/sql"
)

// SetVersion is one application migration set's recorded state in one
// tenant (or spare) database.
type SetVersion struct {
	Version int64
	Error   string // the last run's error; "" after a success
}

// RecordSetVersion stores the version an application migration set reached
// in database, and the run's error ("" for none).
func (c *Catalog) RecordSetVersion(ctx context.Context, database, set string, version int64, errMsg string) error {
	if len(errMsg) > 1000 {
		errMsg = errMsg[:1000]
	}
	msg, now := sql.NullString{String: errMsg, Valid: errMsg != ""}, c.now()
	_, err := c.db.ExecContext(ctx, `INSERT INTO schema_sets (database_name, set_name, version, migration_error, updated_at)
		VALUES (?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE version = ?, migration_error = ?, updated_at = ?`,
		database, set, version, msg, now, version, msg, now)
	return translate(err)
}

// SetVersions returns every recorded application set version, by database
// then set name: one query for a whole fleet run.
func (c *Catalog) SetVersions(ctx context.Context) (map[string]map[string]SetVersion, error) {
	var rows []struct {
		Database string         `db:"database_name"`
		Set      string         `db:"set_name"`
		Version  int64          `db:"version"`
		Error    sql.NullString `db:"migration_error"`
	}
	if err := c.db.SelectContext(ctx, &rows, "SELECT database_name, set_name, version, migration_error FROM schema_sets"); err != nil {
		return nil, translate(err)
	}
	out := map[string]map[string]SetVersion{}
	for _, r := range rows {
		if out[r.Database] == nil {
			out[r.Database] = map[string]SetVersion{}
		}
		out[r.Database][r.Set] = SetVersion{Version: r.Version, Error: r.Error.String}
	}
	return out, nil
}

// SetVersionsOf returns the recorded application set versions of one database.
func (c *Catalog) SetVersionsOf(ctx context.Context, database string) (map[string]SetVersion, error) {
	var rows []struct {
		Set     string         `db:"set_name"`
		Version int64          `db:"version"`
		Error   sql.NullString `db:"migration_error"`
	}
	if err := c.db.SelectContext(ctx, &rows, "SELECT set_name, version, migration_error FROM schema_sets WHERE database_name = ?", database); err != nil {
		return nil, translate(err)
	}
	out := make(map[string]SetVersion, len(rows))
	for _, r := range rows {
		out[r.Set] = SetVersion{Version: r.Version, Error: r.Error.String}
	}
	return out, nil
}
