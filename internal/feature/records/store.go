package records

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/internal/lib/clock"
	"github.com/silo-dev/silo/internal/lib/dberr"
	"github.com/silo-dev/silo/internal/lib/page"
	"github.com/silo-dev/silo/router"
)

// Limits of API.md and of the JSON functions of MySQL and MariaDB.
const (
	MaxData    = 256 << 10 // bytes of a record's data
	MaxDepth   = 31        // nesting of a record's data (MariaDB's JSON_VALID accepts 31 below the row)
	MaxFilters = 8         // where[...] filters of one listing
)

var (
	collectionPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
	fieldPattern      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
	idPattern         = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// Record is one stored record.
type Record struct {
	ID         string          `db:"id" json:"id"`
	Collection string          `db:"collection" json:"collection"`
	Data       json.RawMessage `db:"data" json:"data" type:"object"`
	Version    int64           `db:"version" json:"version"`
	CreatedAt  time.Time       `db:"created_at" json:"createdAt"`
	UpdatedAt  time.Time       `db:"updated_at" json:"updatedAt"`
	CreatedBy  string          `db:"created_by" json:"createdBy"`
}

// Collection is a collection's name and how many records it holds.
type Collection struct {
	Name  string `db:"name" json:"name"`
	Count int64  `db:"count" json:"count"`
}

const columns = "id, collection, data, version, created_at, updated_at, created_by"

// Auditor writes the tenant's audit log through the change's transaction
// (router.AuditLogger, attributed to the request's caller).
type Auditor interface {
	Log(tx sqlx.ExecerContext, action, targetType, target, detail string) error
}

// Store is the record store of one tenant's database: every SQL statement
// of the feature is here, and every change commits with its audit entry in
// one transaction (dberr.InTx, which retries a deadlock victim). A handler
// makes one per request from router.DB and router.Audit; an application's
// own store can follow the same shape.
type Store struct {
	db    *sqlx.DB
	audit Auditor
	now   clock.Clock
}

// NewStore returns the record store of db, writing its audit entries to
// audit and stamping records with now (clock.System when nil).
func NewStore(db *sqlx.DB, audit Auditor, now clock.Clock) *Store {
	if now == nil {
		now = clock.System
	}
	return &Store{db: db, audit: audit, now: now}
}

// Collections lists the tenant's collections with their record counts.
func (s *Store) Collections(ctx context.Context) ([]Collection, error) {
	out := []Collection{}
	err := s.db.SelectContext(ctx, &out,
		"SELECT collection AS name, COUNT(*) AS count FROM records GROUP BY collection ORDER BY collection")
	return out, err
}

// Create stores data as a new record of coll, created by createdBy.
func (s *Store) Create(ctx context.Context, coll string, data json.RawMessage, createdBy string) (*Record, error) {
	now := s.now()
	r := &Record{ID: uuid.Must(uuid.NewV7()).String(), Collection: coll, Data: data, Version: 1,
		CreatedAt: now, UpdatedAt: now, CreatedBy: createdBy}
	err := dberr.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO records ("+columns+") VALUES (?, ?, ?, ?, ?, ?, ?)",
			r.ID, r.Collection, string(r.Data), r.Version, r.CreatedAt, r.UpdatedAt, r.CreatedBy); err != nil {
			return err
		}
		return s.audit.Log(tx, "record.create", "record", coll+"/"+r.ID, "")
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Get returns the record id of coll.
func (s *Store) Get(ctx context.Context, coll, id string) (*Record, error) {
	return read(ctx, s.db, coll, id, false)
}

// read loads one record (locking it for update when lock is set, inside a
// transaction).
func read(ctx context.Context, q sqlx.QueryerContext, coll, id string, lock bool) (*Record, error) {
	if !idPattern.MatchString(id) {
		return nil, router.NotFound()
	}
	query := "SELECT " + columns + " FROM records WHERE collection = ? AND id = ?"
	if lock {
		query += " FOR UPDATE"
	}
	var r Record
	err := sqlx.GetContext(ctx, q, &r, query, coll, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, router.NotFound()
	}
	return &r, err
}

// IfMatch is a write's condition: with Set, the record's version must be
// Version (If-Match); without, the write is unconditional.
type IfMatch struct {
	Version int64
	Set     bool
}

// change runs fn on record id of coll, locked in a transaction, once its
// version matches. fn runs again if the transaction is a deadlock victim,
// on the record read afresh.
func (s *Store) change(ctx context.Context, coll, id string, want IfMatch, fn func(tx *sqlx.Tx, r *Record) error) (*Record, error) {
	var r *Record
	err := dberr.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var err error
		if r, err = read(ctx, tx, coll, id, true); err != nil {
			return err
		}
		if want.Set && r.Version != want.Version {
			return router.VersionMismatch()
		}
		return fn(tx, r)
	})
	return r, err
}

// Update replaces the data of record id of coll and bumps its version.
func (s *Store) Update(ctx context.Context, coll, id string, want IfMatch, data json.RawMessage) (*Record, error) {
	return s.change(ctx, coll, id, want, func(tx *sqlx.Tx, r *Record) error {
		r.Data, r.Version, r.UpdatedAt = data, r.Version+1, s.now()
		if _, err := tx.ExecContext(ctx,
			"UPDATE records SET data = ?, version = ?, updated_at = ? WHERE collection = ? AND id = ?",
			string(r.Data), r.Version, r.UpdatedAt, r.Collection, r.ID); err != nil {
			return err
		}
		return s.audit.Log(tx, "record.update", "record", r.Collection+"/"+r.ID, "version "+strconv.FormatInt(r.Version, 10))
	})
}

// Delete removes record id of coll.
func (s *Store) Delete(ctx context.Context, coll, id string, want IfMatch) error {
	_, err := s.change(ctx, coll, id, want, func(tx *sqlx.Tx, r *Record) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM records WHERE collection = ? AND id = ?", r.Collection, r.ID); err != nil {
			return err
		}
		return s.audit.Log(tx, "record.delete", "record", r.Collection+"/"+r.ID, "")
	})
	return err
}

// Query selects a page of a collection: records after Cursor (a record id
// this API returned), whose top-level fields equal Where's values.
type Query struct {
	Limit  int
	Cursor string
	Where  map[string]string
}

// List pages through a collection in id order (ids are time-ordered), so
// that every record present when the listing starts is returned exactly
// once, however many are inserted meanwhile. It returns the next page's
// cursor, or "" after the last page.
func (s *Store) List(ctx context.Context, coll string, q Query) ([]Record, string, error) {
	query := "SELECT " + columns + " FROM records WHERE collection = ?"
	args := []any{coll}
	if q.Cursor != "" {
		if !idPattern.MatchString(q.Cursor) {
			return nil, "", router.Invalid(router.FieldError{Field: "cursor", Message: "is not a cursor this API returned"})
		}
		query += " AND id > ?"
		args = append(args, q.Cursor)
	}
	if len(q.Where) > MaxFilters {
		return nil, "", router.Invalid(router.FieldError{Field: "where", Message: fmt.Sprintf("at most %d filters", MaxFilters)})
	}
	for field, value := range q.Where {
		if !fieldPattern.MatchString(field) {
			return nil, "", router.Invalid(router.FieldError{Field: "where[" + field + "]", Message: "filters name a top-level field: ^[A-Za-z_][A-Za-z0-9_]{0,63}$"})
		}
		cond, condArgs := filter(field, value)
		query += " AND " + cond
		args = append(args, condArgs...)
	}
	query += " ORDER BY id LIMIT ?"
	args = append(args, q.Limit+1)
	out := []Record{}
	if err := s.db.SelectContext(ctx, &out, query, args...); err != nil {
		return nil, "", err
	}
	out, next := page.Cut(out, q.Limit, func(r *Record) string { return r.ID })
	return out, next, nil
}

// filter is the condition of where[field]=value: the field's text is
// value (a string's characters; true, false or null; a number as stored),
// or, when value is a number with a fraction or exponent, the field is
// such a number of the same value. That second test compares values, not
// text, because MySQL stores such numbers as doubles and spells them its
// own way, while MariaDB returns the text Silo stored.
func filter(field, value string) (string, []any) {
	// The path is a value, not SQL: the field name is quoted inside it.
	path := `$."` + field + `"`
	text := "JSON_UNQUOTE(JSON_EXTRACT(data, ?)) COLLATE utf8mb4_bin = ?"
	if jsonNumber.MatchString(value) {
		if n, kind, _ := canonicalNumber(value); kind == doubleNumber {
			return "(" + text + " OR (JSON_TYPE(JSON_EXTRACT(data, ?)) = 'DOUBLE' AND JSON_EXTRACT(data, ?) = CAST(? AS DOUBLE)))",
				[]any{path, value, path, path, n}
		}
	}
	return text, []any{path, value}
}
