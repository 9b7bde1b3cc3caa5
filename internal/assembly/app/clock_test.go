package app_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/internal/assembly/app"
)

// The clock given to the App is the one the central admin service, the
// tenant catalog, the provisioner and the tenant store stamp their rows with.
func TestOptionsClockStampsRows(t *testing.T) {
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
	tok := tenantsWithTokens(t, a, 1)[0]
	req = httptest.NewRequest("POST", "/api/users", strings.NewReader(`{"email":"v@bench-0.io","password":"`+password+`","firstName":"V","lastName":"U"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-tenant-id", "bench-0")
	req.Header.Set("Authorization", "Bearer "+tok)
	rec = httptest.NewRecorder()
	a.Handler.ServeHTTP(rec, req)
	if rec.Code != 201 && rec.Code != 200 {
		t.Fatalf("add user: %d %s", rec.Code, rec.Body)
	}
	var database string
	if err := db.QueryRow("SELECT database_name, created_at FROM tenants WHERE slug = 'bench-0'").Scan(&database, &created); err != nil || !created.Equal(fixed) {
		t.Fatalf("tenant created_at %v (%v); want %v", created, err, fixed)
	}
	for _, email := range []string{"u@bench-0.io", "v@bench-0.io"} { // the provisioner's admin, the store's user
		q := "SELECT created_at FROM `" + database + "`.users WHERE email = ?"
		if err := db.QueryRow(q, email).Scan(&created); err != nil || !created.Equal(fixed) {
			t.Fatalf("%s created_at %v (%v); want %v", email, created, err, fixed)
		}
	}
	req = httptest.NewRequest("POST", "/api/collections/notes/records", strings.NewReader(`{"data":{"a":1}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-tenant-id", "bench-0")
	req.Header.Set("Authorization", "Bearer "+tok)
	rec = httptest.NewRecorder()
	a.Handler.ServeHTTP(rec, req)
	if rec.Code != 201 {
		t.Fatalf("create record: %d %s", rec.Code, rec.Body)
	}
	req = httptest.NewRequest("POST", "/api/central/auth/login", strings.NewReader(`{"email":"first@example.com","password":"`+password+`"}`))
	req.Header.Set("Content-Type", "application/json")
	rec = httptest.NewRecorder()
	a.Handler.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("central login: %d %s", rec.Code, rec.Body)
	}
	stamped := map[string]string{ // what else the clock stamps: the record store, both planes' refresh tokens
		"record":                "SELECT MIN(created_at) FROM `" + database + "`.records",
		"tenant refresh token":  "SELECT MIN(created_at) FROM `" + database + "`.refresh_tokens",
		"central refresh token": "SELECT MIN(created_at) FROM refresh_tokens",
		"tenant audit entries":  "SELECT MIN(at) FROM `" + database + "`.audit_log",
		"latest audit entry":    "SELECT MAX(at) FROM `" + database + "`.audit_log",
		"tenant settings":       "SELECT updated_at FROM `" + database + "`.settings",
	}
	for what, q := range stamped {
		if err := db.QueryRow(q).Scan(&created); err != nil || !created.Equal(fixed) {
			t.Errorf("%s created_at %v (%v); want %v", what, created, err, fixed)
		}
	}
}
