// Package records is Silo's built-in record store: JSON records in named
// collections, one table (records) in each tenant's database. It is built
// only on the public tenant-route API of package router (Tenant, DB,
// Caller, Audit, Fail), as an application's routes are: its handlers
// (records.go) decode and validate the request and make one call to the
// Store (store.go), which holds every SQL statement of the feature and
// commits each change with its audit entry in one transaction
// (dberr.InTx, retried when InnoDB picks it as a deadlock victim).
package records

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/silo-dev/silo/internal/lib/clock"
	"github.com/silo-dev/silo/internal/lib/page"
	"github.com/silo-dev/silo/router"
)

var errDataNotObject = router.Invalid(router.FieldError{Field: "data", Message: "must be a JSON object"})

// Routes are the record store's tenant routes and their permissions; now
// stamps what they write (clock.System when nil).
func Routes(now clock.Clock) []router.TenantRoute {
	h := handlers{now: now}
	one := map[int]any{http.StatusOK: recordAnswer{}}
	return []router.TenantRoute{
		{Method: "GET", Path: "/collections", Permission: "data:read", Handler: h.listCollections, Doc: &router.Operation{
			Summary: "List the collections", Description: "Every collection holding records, with how many it holds.",
			Answers: map[int]any{http.StatusOK: collectionsAnswer{}}}},
		{Method: "POST", Path: "/collections/:collection/records", Permission: "data:write", Handler: h.create, Doc: &router.Operation{
			Summary: "Create a record", Body: body{}, Answers: map[int]any{http.StatusCreated: recordAnswer{}}, ETag: true}},
		{Method: "GET", Path: "/collections/:collection/records", Permission: "data:read", Handler: h.list, Doc: &router.Operation{
			Summary: "List records", Description: "Records oldest first, a page at a time; where[field]=value keeps the records whose field equals value.",
			Answers: map[int]any{http.StatusOK: recordsAnswer{}}, Query: []router.Param{
				{Name: "limit", Type: "integer", Description: "page size, 1 to 200 (default 50)"},
				{Name: "cursor", Description: "the nextCursor of the previous page"},
				{Name: "where", Map: true, Description: "equality filters on top-level fields: where[status]=open"}}}},
		{Method: "GET", Path: "/collections/:collection/records/:id", Permission: "data:read", Handler: h.get, Doc: &router.Operation{
			Summary: "Get a record", Answers: one, ETag: true}},
		{Method: "PUT", Path: "/collections/:collection/records/:id", Permission: "data:write", Handler: h.update, Doc: &router.Operation{
			Summary: "Replace a record's data", Body: body{}, Answers: one, ETag: true, IfMatch: true,
			Errors: []int{http.StatusPreconditionFailed}}},
		{Method: "DELETE", Path: "/collections/:collection/records/:id", Permission: "data:write", Handler: h.remove, Doc: &router.Operation{
			Summary: "Delete a record", Answers: map[int]any{http.StatusNoContent: nil}, IfMatch: true,
			Errors: []int{http.StatusPreconditionFailed}}},
	}
}

func collection(c *gin.Context) (string, error) {
	name := c.Param("collection")
	if !collectionPattern.MatchString(name) {
		return "", router.Invalid(router.FieldError{Field: "collection", Message: "must match ^[a-z][a-z0-9_]{0,62}$"})
	}
	return name, nil
}

type body struct {
	Data json.RawMessage `json:"data" api:"required" type:"object" doc:"the record's fields: a JSON object"`
}

type recordAnswer struct {
	Record *Record `json:"record"`
}

type recordsAnswer struct {
	Records    []Record `json:"records"`
	NextCursor *string  `json:"nextCursor" doc:"the cursor of the next page; null on the last page"`
}

type collectionsAnswer struct {
	Collections []Collection `json:"collections"`
}

// readData decodes {data: {...}} and returns data in a canonical encoding:
// an object, at most MaxData bytes and MaxDepth levels, with duplicate keys
// resolved (the last wins) so that what is stored is what filters see, and
// numbers that MySQL and MariaDB both keep exactly, in Silo's spelling
// (numbers.go).
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
	if _, bad := canonicalNumbers(obj, "data", nil); len(bad) > 0 {
		return nil, router.Invalid(bad...)
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

// ifMatch reads If-Match: a version, bare or quoted as an ETag; Set is
// false when the header is absent (the write is unconditional).
func ifMatch(c *gin.Context) (IfMatch, error) {
	raw := strings.TrimSpace(c.GetHeader("If-Match"))
	if raw == "" {
		return IfMatch{}, nil
	}
	v, perr := strconv.ParseInt(strings.Trim(raw, `"`), 10, 64)
	if perr != nil || v < 1 {
		return IfMatch{}, router.Invalid(router.FieldError{Field: "If-Match", Message: "must be a record version (a positive whole number)"})
	}
	return IfMatch{Version: v, Set: true}, nil
}

func respond(c *gin.Context, status int, r *Record) {
	c.Header("ETag", strconv.Quote(strconv.FormatInt(r.Version, 10)))
	c.JSON(status, recordAnswer{Record: r})
}

// store is the record store of the request's tenant.
// handlers are the record routes, sharing the clock their store stamps with.
type handlers struct{ now clock.Clock }

func (h handlers) store(c *gin.Context) *Store {
	return NewStore(router.DB(c), router.Audit(c), h.now)
}

func (h handlers) create(c *gin.Context) {
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
	r, err := h.store(c).Create(c.Request.Context(), coll, data, router.Caller(c).ActorID())
	if err != nil {
		router.Fail(c, err)
		return
	}
	respond(c, http.StatusCreated, r)
}

func (h handlers) get(c *gin.Context) {
	coll, err := collection(c)
	if err != nil {
		router.Fail(c, err)
		return
	}
	r, err := h.store(c).Get(c.Request.Context(), coll, c.Param("id"))
	if err != nil {
		router.Fail(c, err)
		return
	}
	respond(c, http.StatusOK, r)
}

// target reads a write's collection and If-Match.
func target(c *gin.Context) (string, IfMatch, error) {
	coll, err := collection(c)
	if err != nil {
		return "", IfMatch{}, err
	}
	want, err := ifMatch(c)
	return coll, want, err
}

func (h handlers) update(c *gin.Context) {
	// The body is read before the transaction, so that a slow client never
	// holds a row lock.
	data, err := readData(c)
	if err != nil {
		router.Fail(c, err)
		return
	}
	coll, want, err := target(c)
	if err != nil {
		router.Fail(c, err)
		return
	}
	r, err := h.store(c).Update(c.Request.Context(), coll, c.Param("id"), want, data)
	if err != nil {
		router.Fail(c, err)
		return
	}
	respond(c, http.StatusOK, r)
}

func (h handlers) remove(c *gin.Context) {
	coll, want, err := target(c)
	if err != nil {
		router.Fail(c, err)
		return
	}
	if err := h.store(c).Delete(c.Request.Context(), coll, c.Param("id"), want); err != nil {
		router.Fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (h handlers) list(c *gin.Context) {
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
	q := Query{Limit: limit, Cursor: c.Query("cursor"), Where: c.QueryMap("where")}
	out, next, err := h.store(c).List(c.Request.Context(), coll, q)
	if err != nil {
		router.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, recordsAnswer{Records: out, NextCursor: page.Next(next)})
}

func (h handlers) listCollections(c *gin.Context) {
	out, err := h.store(c).Collections(c.Request.Context())
	if err != nil {
		router.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, collectionsAnswer{Collections: out})
}
