package central

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/internal/lib/dberr"
)

// MigrationRecord is where a fleet run left one migration set in one
// tenant (or spare) database, as the database itself reported it.
type MigrationRecord struct {
	TenantID string // "" for a spare
	Database string
	Set      string // "" for Silo's own set (the tenant's schema_version); an application set's name
	Version  int64
	Error    string    // the run's error; "" after a success
	At       time.Time // when the runner read Version, holding the tenant's lock
}

// recordChunk bounds the rows of one statement (and its placeholders).
const recordChunk = 400

// RecordMigrations stores many fleet results at once: one statement per
// kind of row (tenants, spares, application sets) and per recordChunk
// records, in one transaction. A record does not overwrite a row changed
// after its At (by a later run, or any other change of the tenant): that
// row keeps its value, so a record that arrives late never puts back an
// older state; at worst the catalog then understates a version, which the
// next run re-checks against the database.
func (c *Catalog) RecordMigrations(ctx context.Context, recs []MigrationRecord) error {
	var tenants, spares, sets []MigrationRecord
	for _, r := range recs {
		if len(r.Error) > 1000 {
			r.Error = r.Error[:1000]
		}
		r.At = r.At.UTC().Truncate(time.Microsecond)
		switch {
		case r.Set != "":
			sets = append(sets, r)
		case r.TenantID == "":
			spares = append(spares, r)
		default:
			tenants = append(tenants, r)
		}
	}
	// One order for every runner, so that two flushes never deadlock.
	byKey := func(a, b MigrationRecord) int {
		return cmp.Or(cmp.Compare(a.TenantID, b.TenantID), cmp.Compare(a.Database, b.Database), cmp.Compare(a.Set, b.Set))
	}
	for _, s := range [][]MigrationRecord{tenants, spares, sets} {
		slices.SortFunc(s, byKey)
	}
	return translate(dberr.InTx(ctx, c.db, func(tx *sqlx.Tx) error {
		for part := range slices.Chunk(tenants, recordChunk) {
			if err := recordTenants(ctx, tx, part); err != nil {
				return err
			}
		}
		for part := range slices.Chunk(spares, recordChunk) {
			if err := recordSpares(ctx, tx, part); err != nil {
				return err
			}
		}
		for part := range slices.Chunk(sets, recordChunk) {
			if err := recordSets(ctx, tx, part); err != nil {
				return err
			}
		}
		return nil
	}))
}

// caseOf is "CASE key WHEN ? THEN ? ... END" over recs, with its arguments.
func caseOf(key string, recs []MigrationRecord, when func(MigrationRecord) any, then func(MigrationRecord) any) (string, []any) {
	var b strings.Builder
	args := make([]any, 0, 2*len(recs))
	b.WriteString("CASE " + key)
	for _, r := range recs {
		b.WriteString(" WHEN ? THEN ?")
		args = append(args, when(r), then(r))
	}
	b.WriteString(" END")
	return b.String(), args
}

func errorValue(r MigrationRecord) any {
	return sql.NullString{String: r.Error, Valid: r.Error != ""}
}

func recordTenants(ctx context.Context, tx *sqlx.Tx, recs []MigrationRecord) error {
	id := func(r MigrationRecord) any { return r.TenantID }
	at := func(r MigrationRecord) any { return r.At }
	version, vArgs := caseOf("id", recs, id, func(r MigrationRecord) any { return r.Version })
	msg, mArgs := caseOf("id", recs, id, errorValue)
	stamp, sArgs := caseOf("id", recs, id, at)
	q := "UPDATE tenants SET schema_version = " + version + ", migration_error = " + msg + ", updated_at = " + stamp +
		" WHERE id IN (?" + strings.Repeat(", ?", len(recs)-1) + ") AND updated_at <= " + stamp
	args := slices.Concat(vArgs, mArgs, sArgs)
	for _, r := range recs {
		args = append(args, r.TenantID)
	}
	args = append(args, sArgs...)
	_, err := tx.ExecContext(ctx, q, args...)
	return err
}

func recordSpares(ctx context.Context, tx *sqlx.Tx, recs []MigrationRecord) error {
	version, args := caseOf("database_name", recs, func(r MigrationRecord) any { return r.Database },
		func(r MigrationRecord) any { return r.Version })
	q := "UPDATE spare_databases SET schema_version = " + version +
		" WHERE database_name IN (?" + strings.Repeat(", ?", len(recs)-1) + ")"
	for _, r := range recs {
		args = append(args, r.Database)
	}
	_, err := tx.ExecContext(ctx, q, args...)
	return err
}

// recordSets stores application set versions in two statements, valid on
// MySQL and MariaDB alike without VALUES() in ON DUPLICATE KEY UPDATE
// (deprecated by MySQL): the insert creates the missing rows and locks the
// existing ones (its update changes nothing), then the update applies each
// record to the rows not changed after its At. The rows stay locked in
// between, so the pair does what one conditional upsert did.
func recordSets(ctx context.Context, tx *sqlx.Tx, recs []MigrationRecord) error {
	args := make([]any, 0, 5*len(recs))
	for _, r := range recs {
		args = append(args, r.Database, r.Set, r.Version, errorValue(r), r.At)
	}
	q := "INSERT INTO schema_sets (database_name, set_name, version, migration_error, updated_at) VALUES (?, ?, ?, ?, ?)" +
		strings.Repeat(", (?, ?, ?, ?, ?)", len(recs)-1) + " ON DUPLICATE KEY UPDATE database_name = database_name"
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return err
	}
	at := func(r MigrationRecord) any { return r.At }
	version, vArgs := caseOfSet(recs, func(r MigrationRecord) any { return r.Version })
	msg, mArgs := caseOfSet(recs, errorValue)
	stamp, sArgs := caseOfSet(recs, at)
	q = "UPDATE schema_sets SET version = " + version + ", migration_error = " + msg + ", updated_at = " + stamp +
		" WHERE (database_name, set_name) IN ((?, ?)" + strings.Repeat(", (?, ?)", len(recs)-1) + ") AND updated_at <= " + stamp
	args = slices.Concat(vArgs, mArgs, sArgs)
	for _, r := range recs {
		args = append(args, r.Database, r.Set)
	}
	args = append(args, sArgs...)
	_, err := tx.ExecContext(ctx, q, args...)
	return err
}

// caseOfSet is caseOf keyed by a schema_sets row's (database_name, set_name).
func caseOfSet(recs []MigrationRecord, then func(MigrationRecord) any) (string, []any) {
	var b strings.Builder
	args := make([]any, 0, 3*len(recs))
	b.WriteString("CASE")
	for _, r := range recs {
		b.WriteString(" WHEN database_name = ? AND set_name = ? THEN ?")
		args = append(args, r.Database, r.Set, then(r))
	}
	b.WriteString(" END")
	return b.String(), args
}
