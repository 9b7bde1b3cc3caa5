package silo_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/silo-dev/silo"
	"github.com/silo-dev/silo/internal/assembly/app"
	"github.com/silo-dev/silo/internal/assembly/cli"
	"github.com/silo-dev/silo/internal/testsupport/testdb"
	"github.com/silo-dev/silo/internal/testsupport/testsilo"
	"github.com/silo-dev/silo/migrations"
	"github.com/silo-dev/silo/provisioning"
	"github.com/silo-dev/silo/router"
)

// widgetMigrations is a test application's tenant schema; upgraded adds a
// second migration.
func widgetMigrations(upgraded bool) fstest.MapFS {
	m := fstest.MapFS{
		"00001_widgets.sql": {Data: []byte("-- +goose Up\nCREATE TABLE widgets (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50) NOT NULL);\n" +
			"-- +goose Down\nDROP TABLE widgets;\n")},
	}
	if upgraded {
		m["00002_widget_color.sql"] = &fstest.MapFile{Data: []byte("-- +goose Up\nALTER TABLE widgets ADD COLUMN color VARCHAR(20) NULL;\n" +
			"-- +goose Down\nALTER TABLE widgets DROP COLUMN color;\n")}
	}
	return m
}

// widgetRoutes read and write the widgets table through the public API.
var widgetRoutes = []router.TenantRoute{
	{Method: "GET", Path: "/widgets", Permission: "data:read", Handler: func(c *gin.Context) {
		var names []string
		if err := router.DB(c).SelectContext(c.Request.Context(), &names, "SELECT name FROM widgets ORDER BY id"); err != nil {
			router.Fail(c, err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"tenant": router.Tenant(c), "widgets": names, "caller": router.Caller(c).ActorID()})
	}},
	{Method: "POST", Path: "/widgets", Permission: "data:write", Handler: func(c *gin.Context) {
		var in struct {
			Name string `json:"name"`
		}
		if err := router.Decode(c, &in); err != nil {
			router.Fail(c, err)
			return
		}
		if in.Name == "" {
			router.Fail(c, router.Invalid(router.FieldError{Field: "name", Message: "is required"}))
			return
		}
		if _, err := router.DB(c).ExecContext(c.Request.Context(), "INSERT INTO widgets (name) VALUES (?)", in.Name); err != nil {
			router.Fail(c, err)
			return
		}
		if err := router.Audit(c).Log(nil, "widget.create", "widget", in.Name, ""); err != nil {
			router.Fail(c, err)
			return
		}
		c.JSON(http.StatusCreated, gin.H{"name": in.Name})
	}},
}

func TestApplicationMigrationsAndRoutes(t *testing.T) {
	t.Parallel()
	e := testsilo.Start(t, map[string]string{"SILO_SPARE_POOL_SIZE": "1"},
		silo.WithTenantMigrations("widgets", widgetMigrations(false)), silo.WithTenantRoutes(widgetRoutes...))
	a := e.CreateTenant("alpha")
	b := e.CreateTenant("bravo")
	root := testdb.Server(t)
	var v int64
	// The tenant's database, which is a spare's when one was ready in time.
	alpha := e.Expect(t, http.StatusOK, "", testsilo.Request{Method: "GET", Path: "/api/central/tenants/alpha", Token: e.AdminToken()})
	if err := root.QueryRow("SELECT MAX(version_id) FROM `" + alpha.Obj("tenant")["databaseName"].(string) + "`.goose_widgets_version").Scan(&v); err != nil || v != 1 {
		t.Fatalf("widgets set at provisioning: %d %v", v, err)
	}

	// The application's routes get the right tenant's database.
	e.Expect(t, http.StatusCreated, "", testsilo.Request{Method: "POST", Path: "/api/widgets", Tenant: "alpha", Token: a, Body: map[string]string{"name": "sprocket"}})
	r := e.Expect(t, http.StatusOK, "", testsilo.Request{Method: "GET", Path: "/api/widgets", Tenant: "alpha", Token: a})
	if !strings.Contains(string(r.Raw), `"widgets":["sprocket"]`) || !strings.Contains(string(r.Raw), `"slug":"alpha"`) {
		t.Fatalf("alpha: %s", r.Raw)
	}
	r = e.Expect(t, http.StatusOK, "", testsilo.Request{Method: "GET", Path: "/api/widgets", Tenant: "bravo", Token: b})
	if !strings.Contains(string(r.Raw), `"widgets":[]`) && !strings.Contains(string(r.Raw), `"widgets":null`) {
		t.Fatalf("bravo sees %s", r.Raw)
	}
	// Another tenant's token, a key without the permission, no token.
	e.Expect(t, http.StatusUnauthorized, "", testsilo.Request{Method: "GET", Path: "/api/widgets", Tenant: "bravo", Token: a})
	key := e.APIKey("alpha", a, "users:read")
	if r := e.Do(t, testsilo.Request{Method: "POST", Path: "/api/widgets", Tenant: "alpha", Header: map[string]string{"X-API-Key": key},
		Body: map[string]string{"name": "x"}}); r.Status != http.StatusForbidden || r.Code() != "FORBIDDEN" {
		t.Fatalf("key without data:write: %d %s", r.Status, r.Raw)
	}
	e.Expect(t, http.StatusBadRequest, "", testsilo.Request{Method: "POST", Path: "/api/widgets", Tenant: "alpha", Token: a, Body: map[string]string{"name": ""}})
	audit := e.Expect(t, http.StatusOK, "", testsilo.Request{Method: "GET", Path: "/api/audit", Tenant: "alpha", Token: a})
	if !strings.Contains(string(audit.Raw), `"action":"widget.create"`) {
		t.Fatalf("audit: %s", audit.Raw)
	}

	// Status reports each set.
	st := e.Expect(t, http.StatusOK, "", testsilo.Request{Method: "GET", Path: "/api/central/migrations/status", Token: e.AdminToken()})
	for _, want := range []string{`{"name":"silo","latestVersion":` + itoa(migrations.Latest(migrations.Tenant())) + `}`, `{"name":"widgets","latestVersion":1}`,
		`"widgets":{"tenants":2,"upToDate":2,"behind":0,"failed":0}`} {
		if !strings.Contains(string(st.Raw), want) {
			t.Fatalf("status lacks %s: %s", want, st.Raw)
		}
	}

	// The spare pool is built with the application's set too.
	var spare string
	for deadline := time.Now().Add(20 * time.Second); spare == ""; {
		_ = root.QueryRow("SELECT database_name FROM `" + e.Config.CentralDSN.DBName + "`.spare_databases WHERE status = 'ready'").Scan(&spare)
		if time.Now().After(deadline) {
			t.Fatal("no spare built")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := root.QueryRow("SELECT MAX(version_id) FROM `" + spare + "`.goose_widgets_version").Scan(&v); err != nil || v != 1 {
		t.Fatalf("widgets set in the spare: %d %v", v, err)
	}

	// A newer application binary: the fleet runner applies its new
	// migration to every tenant and the spare, and reports it per set.
	upgraded := app.Extensions{}
	set, err := migrations.NewSet("widgets", widgetMigrations(true))
	if err != nil {
		t.Fatal(err)
	}
	upgraded.Sets = []migrations.Set{set}
	out := cliRun(t, e, upgraded, "migrate", "tenants", "status")
	if !strings.Contains(out, "set widgets: 2 tenants, 0 up to date, 2 behind, latest version 2") {
		t.Fatalf("status:\n%s", out)
	}
	out = cliRun(t, e, upgraded, "migrate", "tenants", "up", "--json")
	var rep provisioning.FleetReport
	decodeJSON(t, out, &rep)
	if !rep.OK() || rep.Counts[provisioning.OutcomeMigrated] != 3 || rep.Targets["widgets"] != 2 {
		t.Fatalf("fleet run: %s", out)
	}
	for _, res := range rep.Results {
		if len(res.Sets) != 2 || res.Sets[1].Set != "widgets" || res.Sets[1].From != 1 || res.Sets[1].To != 2 {
			t.Fatalf("result %+v", res)
		}
	}
	var n int
	if err := root.QueryRow("SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA LIKE ? AND TABLE_NAME = 'widgets' AND COLUMN_NAME = 'color'",
		strings.ReplaceAll(e.Config.TenantDBPrefix, "_", `\_`)+"%").Scan(&n); err != nil || n != 3 {
		t.Fatalf("color column in %d databases (want 2 tenants and 1 spare): %v", n, err)
	}
	// Down and up again for one tenant, on the application's set only.
	cliRun(t, e, upgraded, "migrate", "tenants", "down", "--set", "widgets", "--tenant", "alpha", "--to", "1", "--yes")
	out = cliRun(t, e, upgraded, "migrate", "tenants", "status")
	if !strings.Contains(out, "set widgets: 2 tenants, 1 up to date, 1 behind, latest version 2") ||
		!strings.Contains(out, "set silo: 2 tenants, 2 up to date") {
		t.Fatalf("status after down:\n%s", out)
	}
	cliRun(t, e, upgraded, "migrate", "tenants", "up", "--set", "widgets")
	out = cliRun(t, e, upgraded, "migrate", "tenants", "up")
	if !strings.Contains(out, "3 up-to-date") {
		t.Fatalf("second run:\n%s", out)
	}
}

func TestOptionsAreChecked(t *testing.T) {
	t.Parallel()
	h := func(*gin.Context) {}
	for name, opt := range map[string]silo.Option{
		"reserved set":       silo.WithTenantMigrations("silo", widgetMigrations(false)),
		"bad set name":       silo.WithTenantMigrations("Bad-Name", widgetMigrations(false)),
		"empty set":          silo.WithTenantMigrations("empty", fstest.MapFS{}),
		"clash":              silo.WithTenantRoutes(router.TenantRoute{Method: "GET", Path: "/users", Handler: h}),
		"unknown permission": silo.WithTenantRoutes(router.TenantRoute{Method: "GET", Path: "/x", Permission: "x:y", Handler: h}),
		"relative path":      silo.WithTenantRoutes(router.TenantRoute{Method: "GET", Path: "x", Handler: h}),
		"no handler":         silo.WithTenantRoutes(router.TenantRoute{Method: "GET", Path: "/x"}),
		"bad method":         silo.WithTenantRoutes(router.TenantRoute{Method: "BREW", Path: "/x", Handler: h}),
	} {
		if _, err := silo.New(context.Background(), nil, nil, opt); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func cliRun(t *testing.T, e *testsilo.Env, ext app.Extensions, args ...string) string {
	t.Helper()
	var out, errOut strings.Builder
	err := cli.Run(context.Background(), ext, args, func(k string) string { return e.Settings[k] }, strings.NewReader(""), &out, &errOut)
	if err != nil {
		t.Fatalf("silo %s: %v\n%s\n%s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return out.String()
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func decodeJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
}
