package main

import (
	"database/sql"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/silo-dev/silo/router"
)

// Routes are the notes API, mounted under /api in the tenant group. Silo
// resolves the tenant, authenticates the caller and checks the permission
// before a handler runs.
func Routes() []router.TenantRoute {
	// Doc describes each route in Silo's OpenAPI document (/api/openapi.json)
	// from the Go types the handlers decode and encode.
	return []router.TenantRoute{
		{Method: "GET", Path: "/notes", Permission: "data:read", Handler: listNotes, Doc: &router.Operation{
			Summary: "The newest 100 notes", Answers: map[int]any{http.StatusOK: notesAnswer{}}}},
		{Method: "POST", Path: "/notes", Permission: "data:write", Handler: createNote, Doc: &router.Operation{
			Summary: "Write a note", Body: noteRequest{}, Answers: map[int]any{http.StatusCreated: noteAnswer{}}}},
		{Method: "GET", Path: "/notes/:id", Permission: "data:read", Handler: getNote, Doc: &router.Operation{
			Summary: "Read a note", Answers: map[int]any{http.StatusOK: noteAnswer{}}}},
		{Method: "DELETE", Path: "/notes/:id", Permission: "data:write", Handler: deleteNote, Doc: &router.Operation{
			Summary: "Delete a note", Answers: map[int]any{http.StatusNoContent: nil}}},
	}
}

type noteRequest struct {
	Title string `json:"title" api:"required" doc:"1 to 200 characters"`
	Body  string `json:"body" doc:"at most 10,000 characters"`
}

type noteAnswer struct {
	Note Note `json:"note"`
}

type notesAnswer struct {
	Tenant router.TenantInfo `json:"tenant"`
	Notes  []Note            `json:"notes"`
}

// Note is one note.
type Note struct {
	ID        int64     `db:"id" json:"id"`
	Title     string    `db:"title" json:"title"`
	Body      string    `db:"body" json:"body"`
	AuthorID  string    `db:"author_id" json:"authorId"`
	CreatedAt time.Time `db:"created_at" json:"createdAt"`
}

func createNote(c *gin.Context) {
	var in noteRequest
	if err := router.Decode(c, &in); err != nil {
		router.Fail(c, err)
		return
	}
	in.Title = strings.TrimSpace(in.Title)
	var bad []router.FieldError
	if in.Title == "" || len(in.Title) > 200 {
		bad = append(bad, router.FieldError{Field: "title", Message: "must be 1 to 200 characters"})
	}
	if len(in.Body) > 10000 {
		bad = append(bad, router.FieldError{Field: "body", Message: "must be at most 10,000 characters"})
	}
	if len(bad) > 0 {
		router.Fail(c, router.Invalid(bad...))
		return
	}
	n := Note{Title: in.Title, Body: in.Body, AuthorID: router.Caller(c).ActorID(), CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	// The tenant's own pooled database: this tenant's rows only.
	res, err := router.DB(c).ExecContext(c.Request.Context(),
		"INSERT INTO notes (title, body, author_id, created_at) VALUES (?, ?, ?, ?)", n.Title, n.Body, n.AuthorID, n.CreatedAt)
	if err == nil {
		n.ID, err = res.LastInsertId()
	}
	if err == nil {
		err = router.Audit(c).Log(nil, "note.create", "note", strconv.FormatInt(n.ID, 10), n.Title)
	}
	if err != nil {
		router.Fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, noteAnswer{Note: n})
}

func listNotes(c *gin.Context) {
	notes := []Note{}
	err := router.DB(c).SelectContext(c.Request.Context(), &notes,
		"SELECT id, title, body, author_id, created_at FROM notes ORDER BY id DESC LIMIT 100")
	if err != nil {
		router.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, notesAnswer{Tenant: router.Tenant(c), Notes: notes})
}

// noteID is the :id of the path; anything but a number names no note.
func noteID(c *gin.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, router.NotFound()
	}
	return id, nil
}

func getNote(c *gin.Context) {
	id, err := noteID(c)
	if err != nil {
		router.Fail(c, err)
		return
	}
	var n Note
	err = router.DB(c).GetContext(c.Request.Context(), &n,
		"SELECT id, title, body, author_id, created_at FROM notes WHERE id = ?", id)
	if errors.Is(err, sql.ErrNoRows) {
		err = router.NotFound()
	}
	if err != nil {
		router.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, noteAnswer{Note: n})
}

func deleteNote(c *gin.Context) {
	id, err := noteID(c)
	if err != nil {
		router.Fail(c, err)
		return
	}
	res, err := router.DB(c).ExecContext(c.Request.Context(), "DELETE FROM notes WHERE id = ?", id)
	var n int64
	if err == nil {
		n, err = res.RowsAffected()
	}
	if err == nil && n == 0 {
		err = router.NotFound()
	}
	if err == nil {
		err = router.Audit(c).Log(nil, "note.delete", "note", strconv.FormatInt(id, 10), "")
	}
	if err != nil {
		router.Fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
