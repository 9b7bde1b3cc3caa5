package app_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/internal/app"
	"github.com/silo-dev/silo/provisioning"
)

// The clock given to the App is the one the central admin service, the
// tenant catalog and the provisioner stamp their rows with.
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
	tn, err := a.Provisioner.Create(context.Background(), provisioning.NewTenant{Slug: "clocked", Name: "Clocked",
		Admin: &provisioning.NewAdmin{Email: "u@clocked.io", Password: password, FirstName: "C", LastName: "U"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("SELECT created_at FROM tenants WHERE slug = 'clocked'").Scan(&created); err != nil || !created.Equal(fixed) {
		t.Fatalf("tenant created_at %v (%v); want %v", created, err, fixed)
	}
	q := "SELECT created_at FROM `" + tn.DatabaseName + "`.users WHERE email = 'u@clocked.io'"
	if err := db.QueryRow(q).Scan(&created); err != nil || !created.Equal(fixed) {
		t.Fatalf("tenant admin created_at %v (%v); want %v", created, err, fixed)
	}
}
