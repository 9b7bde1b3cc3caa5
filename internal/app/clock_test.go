package app_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/internal/app"
)

// The clock given to the App is the one the central admin service stamps
// its rows with.
func TestOptionsClockStampsCentralAdmins(t *testing.T) {
	t.Parallel()
	fixed := time.Date(2001, 2, 3, 4, 5, 6, 7000, time.UTC)
	a, cfg := newAppWith(t, app.Options{Clock: func() time.Time { return fixed }})
	body := `{"email":"first@example.com","password":"` + password + `","firstName":"F","lastName":"A"}`
	req := httptest.NewRequest("POST", "/api/central/auth/register", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	a.Handler.ServeHTTP(rec, req)
	if rec.Code != 201 && rec.Code != 200 {
		t.Fatalf("register: %d %s", rec.Code, rec.Body)
	}
	dsn := *cfg.CentralDSN
	dsn.ParseTime, dsn.Loc = true, time.UTC
	db, err := sqlx.Open("mysql", dsn.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var created, updated time.Time
	if err := db.QueryRow("SELECT created_at, updated_at FROM users WHERE email = ?", "first@example.com").Scan(&created, &updated); err != nil {
		t.Fatal(err)
	}
	if !created.Equal(fixed) || !updated.Equal(fixed) {
		t.Fatalf("created_at %v, updated_at %v; want %v", created, updated, fixed)
	}
}
