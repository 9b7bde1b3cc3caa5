// Package records is Silo's built-in record store: JSON records in named
// collections, one table (records) in each tenant's database. It is built
// only on the public tenant-route API of package router (Tenant, DB,
// Caller, Audit, Fail), as an application's routes are.
package records

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/internal/clock"
	"github.com/silo-dev/silo/internal/page"
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

	errDataNotObject = router.Invalid(router.FieldError{Field: "data", Message: "must be a JSON object"})
)

// Routes are the record store's tenant routes and their permissions.
func Routes() []router.TenantRoute {
	return []router.TenantRoute{
		{Method: "GET", Path: "/collections", Permission: "data:read", Handler: listCollections},
		{Method: "POST", Path: "/collections/:collection/records", Permission: "data:write", Handler: create},
		{Method: "GET", Path: "/collections/:collection/records", Permission: "data:read", Handler: list},
		{Method: "GET", Path: "/collections/:collection/records/:id", Permission: "data:read", Handler: get},
		{Method: "PUT", Path: "/collections/:collection/records/:id", Permission: "data:write", Handler: update},
		{Method: "DELETE", Path: "/collections/:collection/records/:id", Permission: "data:write", Handler: remove},
	}
}

// Record is one stored record.
type Record struct {
	ID         string          `db:"id" json:"id"`
	Collection string          `db:"collection" json:"collection"`
	Data       json.RawMessage `db:"data" json:"data"`
	Version    int64           `db:"version" json:"version"`
	CreatedAt  time.Time       `db:"created_at" json:"createdAt"`
	UpdatedAt  time.Time       `db:"updated_at" json:"updatedAt"`
	CreatedBy  string          `db:"created_by" json:"createdBy"`
}

const columns = "id, collection, data, version, created_at, updated_at, created_by"

func collection(c *gin.Context) (string, error) {
	name := c.Param("collection")
	if !collectionPattern.MatchString(name) {
		return "", router.Invalid(router.FieldError{Field: "collection", Message: "must match ^[a-z][a-z0-9_]{0,62}$"})
	}
	return name, nil
}

type body struct {
	Data json.RawMessage `json:"data"`
}

// readData decodes {data: {...}} and returns data in a canonical encoding:
// an object, at most MaxData bytes and MaxDepth levels, with duplicate keys
// resolved (the last wins) so that what is stored is what filters see.
func readData(c *gin.Context) (json.RawMessage, error) {
	var in body
	if err := router.Decode(c, &in); err != nil {
		return nil, err
	}
	if len(in.Data) > MaxData {
		return nil, router.TooLarge("Record data is larger than 256 KiB")
	}
	dec := json.NewDecoder(bytes.NewReader(in.Data))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return nil, errDataNotObject
	}
	if depth(obj) > MaxDepth {
		return nil, router.Invalid(router.FieldError{Field: "data", Message: fmt.Sprintf("is nested more than %d levels deep", MaxDepth)})
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(obj); err != nil {
		return nil, errDataNotObject
	}
	data := bytes.TrimSuffix(out.Bytes(), []byte("\n"))
	if len(data) > MaxData {
		return nil, router.TooLarge("Record data is larger than 256 KiB")
	}
	return data, nil
}

func depth(v any) int {
	deepest := 0
	switch v := v.(type) {
	case map[string]any:
		for _, e := range v {
			deepest = max(deepest, depth(e))
		}
	case []any:
		for _, e := range v {
			deepest = max(deepest, depth(e))
		}
	default:
		return 0
	}
	return deepest + 1
}

// ifMatch reads If-Match: a version, bare or quoted as an ETag; ok is false
// when the header is absent (the write is unconditional).
func ifMatch(c *gin.Context) (version int64, ok bool, err error) {
	raw := strings.TrimSpace(c.GetHeader("If-Match"))
	if raw == "" {
		return 0, false, nil
	}
	v, perr := strconv.ParseInt(strings.Trim(raw, `"`), 10, 64)
	if perr != nil || v < 1 {
		return 0, false, router.Invalid(router.FieldError{Field: "If-Match", Message: "must be a record version (a positive whole number)"})
	}
	return v, true, nil
}

func respond(c *gin.Context, status int, r *Record) {
	c.Header("ETag", strconv.Quote(strconv.FormatInt(r.Version, 10)))
	c.JSON(status, gin.H{"record": r})
}

func create(c *gin.Context) {
	coll, err := collection(c)
	if err != nil {
		router.Fail(c, err)
		return
	}
	data, err := readData(c)
	if err != nil {
		router.Fail(c, err)
		return
	}
	now := clock.Now()
	r := &Record{ID: uuid.Must(uuid.NewV7()).String(), Collection: coll, Data: data, Version: 1,
		CreatedAt: now, UpdatedAt: now, CreatedBy: router.Caller(c).ActorID()}
	err = inTx(c, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(c.Request.Context(), "INSERT INTO records ("+columns+") VALUES (?, ?, ?, ?, ?, ?, ?)",
			r.ID, r.Collection, string(r.Data), r.Version, r.CreatedAt, r.UpdatedAt, r.CreatedBy); err != nil {
			return err
		}
		return router.Audit(c).Log(tx, "record.create", "record", coll+"/"+r.ID, "")
	})
	if err != nil {
		router.Fail(c, err)
		return
	}
	respond(c, http.StatusCreated, r)
}

func get(c *gin.Context) {
	coll, err := collection(c)
	if err != nil {
		router.Fail(c, err)
		return
	}
	r, err := read(c.Request.Context(), router.DB(c), coll, c.Param("id"), false)
	if err != nil {
		router.Fail(c, err)
		return
	}
	respond(c, http.StatusOK, r)
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

// change runs fn on the path's record, locked in a transaction, once the
// collection name and If-Match are checked and the record's version matches.
func change(c *gin.Context, fn func(tx *sqlx.Tx, r *Record) error) (*Record, error) {
	coll, err := collection(c)
	if err != nil {
		return nil, err
	}
	want, conditional, err := ifMatch(c)
	if err != nil {
		return nil, err
	}
	var r *Record
	err = inTx(c, func(tx *sqlx.Tx) error {
		var err error
		if r, err = read(c.Request.Context(), tx, coll, c.Param("id"), true); err != nil {
			return err
		}
		if conditional && r.Version != want {
			return router.VersionMismatch()
		}
		return fn(tx, r)
	})
	return r, err
}

func update(c *gin.Context) {
	// The body is read before the transaction, so that a slow client never
	// holds a row lock.
	data, err := readData(c)
	if err != nil {
		router.Fail(c, err)
		return
	}
	r, err := change(c, func(tx *sqlx.Tx, r *Record) error {
		r.Data, r.Version, r.UpdatedAt = data, r.Version+1, clock.Now()
		if _, err := tx.ExecContext(c.Request.Context(),
			"UPDATE records SET data = ?, version = ?, updated_at = ? WHERE collection = ? AND id = ?",
			string(r.Data), r.Version, r.UpdatedAt, r.Collection, r.ID); err != nil {
			return err
		}
		return router.Audit(c).Log(tx, "record.update", "record", r.Collection+"/"+r.ID, "version "+strconv.FormatInt(r.Version, 10))
	})
	if err != nil {
		router.Fail(c, err)
		return
	}
	respond(c, http.StatusOK, r)
}

func remove(c *gin.Context) {
	_, err := change(c, func(tx *sqlx.Tx, r *Record) error {
		if _, err := tx.ExecContext(c.Request.Context(), "DELETE FROM records WHERE collection = ? AND id = ?", r.Collection, r.ID); err != nil {
			return err
		}
		return router.Audit(c).Log(tx, "record.delete", "record", r.Collection+"/"+r.ID, "")
	})
	if err != nil {
		router.Fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// list pages through a collection in id order (ids are time-ordered), so
// that every record present when the listing starts is returned exactly
// once, however many are inserted meanwhile.
func list(c *gin.Context) {
	coll, err := collection(c)
	if err != nil {
		router.Fail(c, err)
		return
	}
	limit, err := router.PageLimit(c)
	if err != nil {
		router.Fail(c, err)
		return
	}
	query := "SELECT " + columns + " FROM records WHERE collection = ?"
	args := []any{coll}
	if cursor := c.Query("cursor"); cursor != "" {
		if !idPattern.MatchString(cursor) {
			router.Fail(c, router.Invalid(router.FieldError{Field: "cursor", Message: "is not a cursor this API returned"}))
			return
		}
		query += " AND id > ?"
		args = append(args, cursor)
	}
	filters := c.QueryMap("where")
	if len(filters) > MaxFilters {
		router.Fail(c, router.Invalid(router.FieldError{Field: "where", Message: fmt.Sprintf("at most %d filters", MaxFilters)}))
		return
	}
	for field, value := range filters {
		if !fieldPattern.MatchString(field) {
			router.Fail(c, router.Invalid(router.FieldError{Field: "where[" + field + "]", Message: "filters name a top-level field: ^[A-Za-z_][A-Za-z0-9_]{0,63}$"}))
			return
		}
		// The path is a value, not SQL: the field name is quoted inside it.
		query += " AND JSON_UNQUOTE(JSON_EXTRACT(data, ?)) COLLATE utf8mb4_bin = ?"
		args = append(args, `$."`+field+`"`, value)
	}
	query += " ORDER BY id LIMIT ?"
	args = append(args, limit+1)
	out := []Record{}
	if err := sqlx.SelectContext(c.Request.Context(), router.DB(c), &out, query, args...); err != nil {
		router.Fail(c, err)
		return
	}
	out, next := page.Cut(out, limit, func(r *Record) string { return r.ID })
	c.JSON(http.StatusOK, gin.H{"records": out, "nextCursor": page.Next(next)})
}

func listCollections(c *gin.Context) {
	out := []struct {
		Name  string `db:"name" json:"name"`
		Count int64  `db:"count" json:"count"`
	}{}
	err := sqlx.SelectContext(c.Request.Context(), router.DB(c), &out,
		"SELECT collection AS name, COUNT(*) AS count FROM records GROUP BY collection ORDER BY collection")
	if err != nil {
		router.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"collections": out})
}

func inTx(c *gin.Context, fn func(*sqlx.Tx) error) error {
	tx, err := router.DB(c).BeginTxx(c.Request.Context(), nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}
