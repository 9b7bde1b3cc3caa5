package records_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/silo-dev/silo/internal/testsupport/testsilo"
)

type env struct {
	*testsilo.Env
}

func newEnv(t *testing.T) *env {
	return &env{testsilo.Start(t, nil)}
}

// record posts data to collection coll and returns the record.
func (e *env) create(t *testing.T, slug, token, coll string, data any) map[string]any {
	t.Helper()
	r := e.Expect(t, http.StatusCreated, "", testsilo.Request{Method: "POST", Path: "/api/collections/" + coll + "/records",
		Tenant: slug, Token: token, Body: map[string]any{"data": data}})
	return r.JSON["record"].(map[string]any)
}

func path(coll, id string) string { return "/api/collections/" + coll + "/records/" + id }

func TestRecordLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.CreateTenant("acme")
	member := e.Member("acme", "mo@acme.test")

	rec := e.create(t, "acme", member, "tasks", map[string]any{"title": "write docs", "done": false, "n": json.Number("12345678901234567890")})
	id := rec["id"].(string)
	if rec["collection"] != "tasks" || rec["version"] != float64(1) || rec["createdBy"] == "" || rec["createdAt"] == nil {
		t.Fatalf("record %v", rec)
	}
	got := e.Expect(t, http.StatusOK, "", testsilo.Request{Method: "GET", Path: path("tasks", id), Tenant: "acme", Token: member})
	if got.Header.Get("ETag") != `"1"` || !strings.Contains(string(got.Raw), `"n":12345678901234567890`) {
		t.Fatalf("ETag %q body %s", got.Header.Get("ETag"), got.Raw)
	}

	// A stale If-Match is refused and changes nothing.
	upd := testsilo.Request{Method: "PUT", Path: path("tasks", id), Tenant: "acme", Token: member,
		Header: map[string]string{"If-Match": "1"}, Body: map[string]any{"data": map[string]any{"title": "v2"}}}
	r := e.Expect(t, http.StatusOK, "", upd)
	if rec := r.JSON["record"].(map[string]any); rec["version"] != float64(2) || rec["data"].(map[string]any)["title"] != "v2" {
		t.Fatalf("update %s", r.Raw)
	}
	upd.Body = map[string]any{"data": map[string]any{"title": "lost update"}}
	if r := e.Do(t, upd); r.Status != http.StatusPreconditionFailed || r.Code() != "VERSION_MISMATCH" {
		t.Fatalf("stale If-Match: %d %s", r.Status, r.Raw)
	}
	upd.Header["If-Match"] = `"2"` // the ETag form works too
	upd.Body = map[string]any{"data": map[string]any{"title": "v3"}}
	e.Expect(t, http.StatusOK, "", upd)
	got = e.Expect(t, http.StatusOK, "", testsilo.Request{Method: "GET", Path: path("tasks", id), Tenant: "acme", Token: member})
	if rec := got.JSON["record"].(map[string]any); rec["version"] != float64(3) || rec["data"].(map[string]any)["title"] != "v3" {
		t.Fatalf("after updates %s", got.Raw)
	}
	for _, bad := range []string{"abc", "0", "-1", `W/"3"`} {
		upd.Header["If-Match"] = bad
		if r := e.Do(t, upd); r.Status != http.StatusBadRequest {
			t.Fatalf("If-Match %q: %d %s", bad, r.Status, r.Raw)
		}
	}

	colls := e.Expect(t, http.StatusOK, "", testsilo.Request{Method: "GET", Path: "/api/collections", Tenant: "acme", Token: member})
	if !strings.Contains(string(colls.Raw), `{"name":"tasks","count":1}`) {
		t.Fatalf("collections %s", colls.Raw)
	}

	// nextCursor names the next page, and is null (as in every listing) on the last.
	for range 2 {
		e.create(t, "acme", member, "pages", map[string]any{"x": 1})
	}
	first := e.Expect(t, http.StatusOK, "", testsilo.Request{Method: "GET", Path: "/api/collections/pages/records?limit=1", Tenant: "acme", Token: member})
	next, _ := first.JSON["nextCursor"].(string)
	if next == "" {
		t.Fatalf("first of two pages has no nextCursor: %s", first.Raw)
	}
	last := e.Expect(t, http.StatusOK, "", testsilo.Request{Method: "GET", Path: "/api/collections/pages/records?limit=1&cursor=" + next, Tenant: "acme", Token: member})
	if !strings.Contains(string(last.Raw), `"nextCursor":null`) {
		t.Fatalf("last page: nextCursor is not null: %s", last.Raw)
	}

	// Delete with a stale If-Match is refused; then it goes.
	del := testsilo.Request{Method: "DELETE", Path: path("tasks", id), Tenant: "acme", Token: member, Header: map[string]string{"If-Match": "1"}}
	if r := e.Do(t, del); r.Status != http.StatusPreconditionFailed {
		t.Fatalf("stale delete: %d", r.Status)
	}
	del.Header = nil
	e.Expect(t, http.StatusNoContent, "", del)
	e.Expect(t, http.StatusNotFound, "", testsilo.Request{Method: "GET", Path: path("tasks", id), Tenant: "acme", Token: member})
	e.Expect(t, http.StatusNotFound, "", del)

	// Every write is in the tenant's audit log.
	audit := e.Expect(t, http.StatusOK, "", testsilo.Request{Method: "GET", Path: "/api/audit", Tenant: "acme", Token: admin})
	for _, action := range []string{"record.create", "record.update", "record.delete"} {
		if !strings.Contains(string(audit.Raw), `"action":"`+action+`"`) || !strings.Contains(string(audit.Raw), "tasks/"+id) {
			t.Fatalf("audit lacks %s: %s", action, audit.Raw)
		}
	}
	if n := strings.Count(string(audit.Raw), `"action":"record.update"`); n != 2 {
		t.Fatalf("%d update entries, want 2 (the refused one is not a change)", n)
	}
}

func TestRecordInputIsValidated(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.CreateTenant("acme")
	id := e.create(t, "acme", tok, "things", map[string]any{"a": 1})["id"].(string)
	deep := strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40)
	big := `{"data":{"blob":"` + strings.Repeat("x", 256<<10) + `"}}`
	cases := []struct {
		name   string
		req    testsilo.Request
		status int
		code   string
	}{
		{"bad collection", testsilo.Request{Method: "POST", Path: "/api/collections/Bad-Name/records", Body: map[string]any{"data": map[string]any{}}}, 400, "VALIDATION_FAILED"},
		{"backtick collection", testsilo.Request{Method: "GET", Path: "/api/collections/a%60b/records"}, 400, "VALIDATION_FAILED"},
		{"long collection", testsilo.Request{Method: "GET", Path: "/api/collections/" + strings.Repeat("a", 64) + "/records"}, 400, "VALIDATION_FAILED"},
		{"data not object", testsilo.Request{Method: "POST", Path: "/api/collections/things/records", Body: `{"data":[1,2]}`}, 400, "VALIDATION_FAILED"},
		{"data missing", testsilo.Request{Method: "POST", Path: "/api/collections/things/records", Body: `{}`}, 400, "VALIDATION_FAILED"},
		{"data null", testsilo.Request{Method: "POST", Path: "/api/collections/things/records", Body: `{"data":null}`}, 400, "VALIDATION_FAILED"},
		{"unknown field", testsilo.Request{Method: "POST", Path: "/api/collections/things/records", Body: `{"data":{},"id":"x"}`}, 400, "VALIDATION_FAILED"},
		{"too deep", testsilo.Request{Method: "POST", Path: "/api/collections/things/records", Body: `{"data":` + deep + `}`}, 400, "VALIDATION_FAILED"},
		{"too large", testsilo.Request{Method: "POST", Path: "/api/collections/things/records", Body: big}, 413, "BODY_TOO_LARGE"},
		{"malformed", testsilo.Request{Method: "POST", Path: "/api/collections/things/records", Body: `{"data":{`}, 400, "MALFORMED_JSON"},
		{"bad cursor", testsilo.Request{Method: "GET", Path: "/api/collections/things/records?cursor=%27%20OR%201%3D1"}, 400, "VALIDATION_FAILED"},
		{"bad filter", testsilo.Request{Method: "GET", Path: "/api/collections/things/records?where[a.b]=1"}, 400, "VALIDATION_FAILED"},
		{"quote filter", testsilo.Request{Method: "GET", Path: `/api/collections/things/records?where[a"]=1`}, 400, "VALIDATION_FAILED"},
		{"bad limit", testsilo.Request{Method: "GET", Path: "/api/collections/things/records?limit=0"}, 400, "VALIDATION_FAILED"},
		{"unknown id", testsilo.Request{Method: "GET", Path: path("things", "0190c3c4-0000-7000-8000-000000000000")}, 404, "NOT_FOUND"},
		{"sql id", testsilo.Request{Method: "GET", Path: path("things", "x'%20OR%20'1'='1")}, 404, "NOT_FOUND"},
		{"other collection", testsilo.Request{Method: "GET", Path: path("others", id)}, 404, "NOT_FOUND"},
		{"put unknown", testsilo.Request{Method: "PUT", Path: path("things", "0190c3c4-0000-7000-8000-000000000000"), Body: map[string]any{"data": map[string]any{}}}, 404, "NOT_FOUND"},
	}
	for _, c := range cases {
		c.req.Tenant, c.req.Token = "acme", tok
		r := e.Do(t, c.req)
		if r.Status != c.status || r.Code() != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, r.Status, r.Raw, c.status, c.code)
		}
	}
	list := e.Expect(t, http.StatusOK, "", testsilo.Request{Method: "GET", Path: "/api/collections", Tenant: "acme", Token: tok})
	if !strings.Contains(string(list.Raw), `{"name":"things","count":1}`) || strings.Count(string(list.Raw), `"name"`) != 1 {
		t.Fatalf("refused requests changed the store: %s", list.Raw)
	}
}

// Every record route needs its permission, from a user or an API key.
func TestRecordPermissions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.CreateTenant("acme")
	id := e.create(t, "acme", admin, "things", map[string]any{"a": 1})["id"].(string)
	readKey := e.APIKey("acme", admin, "data:read")
	writeKey := e.APIKey("acme", admin, "data:write")
	noneKey := e.APIKey("acme", admin, "users:read")
	routes := []struct {
		method, path, perm string
		body               any
	}{
		{"GET", "/api/collections", "data:read", nil},
		{"GET", "/api/collections/things/records", "data:read", nil},
		{"GET", path("things", id), "data:read", nil},
		{"POST", "/api/collections/things/records", "data:write", map[string]any{"data": map[string]any{"b": 2}}},
		{"PUT", path("things", id), "data:write", map[string]any{"data": map[string]any{"a": 3}}},
		{"DELETE", path("things", id), "data:write", nil},
	}
	for _, rt := range routes {
		for _, k := range []struct{ key, perm string }{{"", ""}, {noneKey, "users:read"}, {readKey, "data:read"}, {writeKey, "data:write"}} {
			if rt.method == "DELETE" && k.perm == rt.perm {
				continue // checked last, below
			}
			r := e.Do(t, testsilo.Request{Method: rt.method, Path: rt.path, Tenant: "acme", Header: map[string]string{"X-API-Key": k.key}, Body: rt.body})
			want := http.StatusForbidden
			switch {
			case k.key == "":
				want = http.StatusUnauthorized
			case k.perm == rt.perm && rt.method == "POST":
				want = http.StatusCreated
			case k.perm == rt.perm:
				want = http.StatusOK
			}
			if r.Status != want {
				t.Errorf("%s %s with %q: %d, want %d: %s", rt.method, rt.path, k.perm, r.Status, want, r.Raw)
			}
		}
	}
	e.Expect(t, http.StatusNoContent, "", testsilo.Request{Method: "DELETE", Path: path("things", id), Tenant: "acme", Header: map[string]string{"X-API-Key": writeKey}})
}

// Tenant A's records are never visible or writable at tenant B, with B's
// token, B's key, A's ids, or A's token at B.
func TestRecordsAreIsolatedByTenant(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.CreateTenant("alpha")
	b := e.CreateTenant("bravo")
	bKey := e.APIKey("bravo", b, "data:read", "data:write")
	aKey := e.APIKey("alpha", a, "data:read", "data:write")
	rec := e.create(t, "alpha", a, "secrets", map[string]any{"owner": "alpha"})
	id := rec["id"].(string)
	e.create(t, "bravo", b, "secrets", map[string]any{"owner": "bravo"})

	type try struct {
		name, tenant, token, key string
		status                   int
	}
	for _, c := range []try{
		{"B's token at A", "alpha", b, "", 401},
		{"B's key at A", "alpha", "", bKey, 401},
		{"A's token at B", "bravo", a, "", 401},
		{"A's key at B", "bravo", "", aKey, 401},
		{"A's id at B with B's token", "bravo", b, "", 404},
		{"A's id at B with B's key", "bravo", "", bKey, 404},
	} {
		for _, req := range []testsilo.Request{
			{Method: "GET", Path: path("secrets", id)},
			{Method: "PUT", Path: path("secrets", id), Body: map[string]any{"data": map[string]any{"owner": "mallory"}}},
			{Method: "DELETE", Path: path("secrets", id)},
		} {
			req.Tenant, req.Token = c.tenant, c.token
			if c.key != "" {
				req.Header = map[string]string{"X-API-Key": c.key}
			}
			if r := e.Do(t, req); r.Status != c.status {
				t.Errorf("%s: %s: %d, want %d: %s", c.name, req.Method, r.Status, c.status, r.Raw)
			}
		}
	}
	// B's listing shows only B's record.
	list := e.Expect(t, http.StatusOK, "", testsilo.Request{Method: "GET", Path: "/api/collections/secrets/records", Tenant: "bravo", Token: b})
	if strings.Contains(string(list.Raw), "alpha") || strings.Count(string(list.Raw), `"owner"`) != 1 {
		t.Fatalf("B sees %s", list.Raw)
	}
	got := e.Expect(t, http.StatusOK, "", testsilo.Request{Method: "GET", Path: path("secrets", id), Tenant: "alpha", Token: a})
	if r := got.JSON["record"].(map[string]any); r["version"] != float64(1) || r["data"].(map[string]any)["owner"] != "alpha" {
		t.Fatalf("A's record changed: %s", got.Raw)
	}
}

// Filtered pages return every matching record present at the start exactly
// once while other records are being inserted.
func TestRecordPagingWhileInserting(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.CreateTenant("acme")
	want := map[string]bool{}
	for i := 0; i < 60; i++ {
		kind := []string{"a", "b"}[i%2]
		rec := e.create(t, "acme", tok, "items", map[string]any{"kind": kind, "i": i})
		if kind == "a" {
			want[rec["id"].(string)] = true
		}
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 40; i++ {
			e.create(t, "acme", tok, "items", map[string]any{"kind": []string{"a", "b"}[i%2], "i": 1000 + i})
		}
	}()
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("paging does not end")
		}
		r := e.Expect(t, http.StatusOK, "", testsilo.Request{Method: "GET", Tenant: "acme", Token: tok,
			Path: "/api/collections/items/records?limit=7&where[kind]=a&cursor=" + cursor})
		for _, x := range r.JSON["records"].([]any) {
			rec := x.(map[string]any)
			id := rec["id"].(string)
			if seen[id] {
				t.Fatalf("record %s returned twice", id)
			}
			seen[id] = true
			if rec["data"].(map[string]any)["kind"] != "a" {
				t.Fatalf("filter let through %v", rec)
			}
		}
		cursor, _ = r.JSON["nextCursor"].(string)
		if cursor == "" {
			break
		}
	}
	wg.Wait()
	for id := range want {
		if !seen[id] {
			t.Errorf("record %s missing from the listing", id)
		}
	}
	// Filters compare exactly (case and type as text).
	for q, n := range map[string]int{"where[kind]=A": 0, "where[kind]=a&where[i]=7": 0, "where[i]=8": 1, "where[kind]=b&where[i]=9": 1, "where[nope]=x": 0} {
		r := e.Expect(t, http.StatusOK, "", testsilo.Request{Method: "GET", Tenant: "acme", Token: tok, Path: "/api/collections/items/records?" + q})
		if got := len(r.JSON["records"].([]any)); got != n {
			t.Errorf("%s: %d records, want %d", q, got, n)
		}
	}
}

// Numbers keep their value on MySQL (whose JSON type keeps integers only
// within 64 bits and turns other numbers into doubles) and on MariaDB
// (which keeps the text): Silo refuses, before any SQL, what a double or a
// 64-bit integer cannot hold, naming the field, and stores the rest in one
// spelling. Filters on such numbers find the same records on both.
func TestRecordNumbersKeepTheirValue(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.CreateTenant("acme")
	post := func(body string) *testsilo.Response {
		return e.Do(t, testsilo.Request{Method: "POST", Path: "/api/collections/nums/records", Tenant: "acme", Token: tok, Body: body})
	}

	r := post(`{"data":{"max":18446744073709551615,"min":-9223372036854775808,"z":-0,"p":0.1,"f":1.50,"h":1e2,"tiny":1e-7,"huge":1E300,` +
		`"s":"123456789012345678901234567890","list":[1,2.5e-1]}}`)
	r.Require(t, http.StatusCreated, "")
	want := `{"f":1.5,"h":100.0,"huge":1.0e300,"list":[1,0.25],"max":18446744073709551615,"min":-9223372036854775808,` +
		`"p":0.1,"s":"123456789012345678901234567890","tiny":1.0e-7,"z":0}`
	if !strings.Contains(string(r.Raw), `"data":`+want) {
		t.Fatalf("created %s, want data %s", r.Raw, want)
	}
	id := r.JSON["record"].(map[string]any)["id"].(string)
	got := e.Expect(t, http.StatusOK, "", testsilo.Request{Method: "GET", Path: path("nums", id), Tenant: "acme", Token: tok})
	if !strings.Contains(string(got.Raw), `"data":`+want) {
		t.Fatalf("read back %s, want data %s", got.Raw, want)
	}

	refused := map[string]string{
		`{"data":{"n":18446744073709551616}}`:                       "data.n", // 2^64
		`{"data":{"n":-9223372036854775809}}`:                       "data.n", // -2^63 - 1
		`{"data":{"a":{"b":[1,123456789012345678901234567890]}}}`:   "data.a.b[1]",
		`{"data":{"x":0.12345678901234567890}}`:                     "data.x",
		`{"data":{"x":1e400}}`:                                      "data.x",
		`{"data":{"x":1e-400}}`:                                     "data.x",
		`{"data":{"ok":1,"x":123456789012345678901234567890.0}}`:    "data.x",
		`{"data":{"x":12345678901234567890123456789e-10,"y":true}}`: "data.x",
	}
	for body, field := range refused {
		r := post(body)
		r.Require(t, http.StatusBadRequest, "VALIDATION_FAILED")
		if d := r.Details(); !d[field] || len(d) != 1 {
			t.Errorf("%s: details %v, want %s alone", body, d, field)
		}
		r = e.Do(t, testsilo.Request{Method: "PUT", Path: path("nums", id), Tenant: "acme", Token: tok, Body: body})
		r.Require(t, http.StatusBadRequest, "VALIDATION_FAILED")
	}
	after := e.Expect(t, http.StatusOK, "", testsilo.Request{Method: "GET", Path: path("nums", id), Tenant: "acme", Token: tok})
	if !strings.Contains(string(after.Raw), `"data":`+want) || after.JSON["record"].(map[string]any)["version"] != float64(1) {
		t.Fatalf("refused writes changed the record: %s", after.Raw)
	}
	colls := e.Expect(t, http.StatusOK, "", testsilo.Request{Method: "GET", Path: "/api/collections", Tenant: "acme", Token: tok})
	if !strings.Contains(string(colls.Raw), `{"name":"nums","count":1}`) {
		t.Fatalf("refused creates stored records: %s", colls.Raw)
	}

	other := e.create(t, "acme", tok, "nums", map[string]any{"max": "18446744073709551615", "p": 0.2})["id"].(string)
	for q, ids := range map[string][]string{
		"where[max]=18446744073709551615":         {id, other}, // the number and the string
		"where[min]=-9223372036854775808":         {id},
		"where[s]=123456789012345678901234567890": {id}, // a string of digits beyond 64 bits
		"where[max]=18446744073709551616":         nil,
		"where[p]=0.1":                            {id},
		"where[p]=0.10":                           {id}, // the same double
		"where[p]=1e-1":                           {id},
		"where[p]=0.1000000000000000000001":       nil, // not a double: compared as text
		"where[tiny]=1e-7":                        {id},
		"where[huge]=1e300":                       {id},
		"where[h]=100.0":                          {id},
		"where[h]=100":                            nil, // an integer is not the double 100.0
		"where[z]=0":                              {id},
	} {
		r := e.Expect(t, http.StatusOK, "", testsilo.Request{Method: "GET", Tenant: "acme", Token: tok, Path: "/api/collections/nums/records?" + q})
		var found []string
		for _, rec := range r.List("records") {
			found = append(found, rec["id"].(string))
		}
		if strings.Join(found, ",") != strings.Join(ids, ",") {
			t.Errorf("%s: records %v, want %v", q, found, ids)
		}
	}
}
