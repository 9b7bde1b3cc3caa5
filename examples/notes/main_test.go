package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/silo-dev/silo/internal/testsupport/testdb"
	"github.com/silo-dev/silo/internal/testsupport/testsilo"
)

// TestNotes runs the notes application as its users would: provision two
// tenants, write and read notes, and check that tenants never see each
// other's notes and that permissions hold.
func TestNotes(t *testing.T) {
	t.Parallel()
	e := testsilo.Start(t, nil, Options()...)
	acme := e.CreateTenant("acme")
	bolt := e.CreateTenant("bolt")

	// Provisioning applied the notes migration set.
	var v int64
	if err := testdb.Server(t).QueryRow("SELECT MAX(version_id) FROM `" + e.Config.TenantDBPrefix + "acme`.goose_notes_version").Scan(&v); err != nil || v != 1 {
		t.Fatalf("notes migrations at provisioning: %d %v", v, err)
	}

	r := e.Expect(t, http.StatusCreated, "", testsilo.Request{Method: "POST", Path: "/api/notes", Tenant: "acme", Token: acme,
		Body: map[string]string{"title": "Launch plan", "body": "ship it"}})
	id := fmt.Sprint(r.JSON["note"].(map[string]any)["id"])
	got := e.Expect(t, http.StatusOK, "", testsilo.Request{Method: "GET", Path: "/api/notes/" + id, Tenant: "acme", Token: acme})
	if !strings.Contains(string(got.Raw), `"title":"Launch plan"`) {
		t.Fatalf("get: %s", got.Raw)
	}
	list := e.Expect(t, http.StatusOK, "", testsilo.Request{Method: "GET", Path: "/api/notes", Tenant: "acme", Token: acme})
	if !strings.Contains(string(list.Raw), `"slug":"acme"`) || strings.Count(string(list.Raw), `"title"`) != 1 {
		t.Fatalf("list: %s", list.Raw)
	}

	// bolt has its own, empty notes table; acme's note id means nothing there.
	list = e.Expect(t, http.StatusOK, "", testsilo.Request{Method: "GET", Path: "/api/notes", Tenant: "bolt", Token: bolt})
	if !strings.Contains(string(list.Raw), `"notes":[]`) {
		t.Fatalf("bolt sees %s", list.Raw)
	}
	e.Expect(t, http.StatusNotFound, "", testsilo.Request{Method: "GET", Path: "/api/notes/" + id, Tenant: "bolt", Token: bolt})
	e.Expect(t, http.StatusNotFound, "", testsilo.Request{Method: "DELETE", Path: "/api/notes/" + id, Tenant: "bolt", Token: bolt})
	e.Expect(t, http.StatusUnauthorized, "", testsilo.Request{Method: "GET", Path: "/api/notes", Tenant: "bolt", Token: acme})

	// A read-only API key reads but cannot write; bad input is a 400.
	key := map[string]string{"X-API-Key": e.APIKey("acme", acme, "data:read")}
	e.Expect(t, http.StatusOK, "", testsilo.Request{Method: "GET", Path: "/api/notes", Tenant: "acme", Header: key})
	e.Expect(t, http.StatusForbidden, "", testsilo.Request{Method: "POST", Path: "/api/notes", Tenant: "acme", Header: key, Body: map[string]string{"title": "x"}})
	e.Expect(t, http.StatusBadRequest, "", testsilo.Request{Method: "POST", Path: "/api/notes", Tenant: "acme", Token: acme, Body: map[string]string{"title": " "}})
	e.Expect(t, http.StatusNotFound, "", testsilo.Request{Method: "GET", Path: "/api/notes/1%20OR%201=1", Tenant: "acme", Token: acme})

	e.Expect(t, http.StatusNoContent, "", testsilo.Request{Method: "DELETE", Path: "/api/notes/" + id, Tenant: "acme", Token: acme})
	audit := e.Expect(t, http.StatusOK, "", testsilo.Request{Method: "GET", Path: "/api/audit", Tenant: "acme", Token: acme})
	if !strings.Contains(string(audit.Raw), `"action":"note.create"`) || !strings.Contains(string(audit.Raw), `"action":"note.delete"`) {
		t.Fatalf("audit: %s", audit.Raw)
	}
}
