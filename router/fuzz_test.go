package router_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/config"
	"github.com/silo-dev/silo/internal/testsupport/testdb"
	"github.com/silo-dev/silo/internal/testsupport/testsilo"
)

// Fuzz targets of the HTTP layer, against real MariaDB. Each target sets up
// one server (central database, tenants) before fuzzing and sends every
// input straight to the gin engine in process (no socket, so any header
// bytes reach the handlers, even those net/http's server would refuse), so
// that an iteration costs only the handler's own database work.
//
//	go test -run='^$' -fuzz='^FuzzTenantResolution$' -fuzztime=30s ./router
//
// and likewise FuzzRequestBodies, FuzzLoginEmail and FuzzRecordQuery
// (-fuzzminimizetime=5s leaves more of the time to fuzzing).
//
// Plain `go test` runs the seeds (f.Add and testdata/fuzz/<Name>/).

// fuzzEnv is a test server whose handler also serves in-process requests
// (each bounded by fuzzRequestTimeout).
type fuzzEnv struct {
	*server
	h http.Handler
}

const fuzzTrustedProxy = "192.0.2.0/24"

// fuzzRequestTimeout bounds each fuzzed request: far above what any of
// these requests needs (milliseconds), so that an input that makes the
// server work for seconds shows up as a 503 TIMEOUT.
const fuzzRequestTimeout = 2 * time.Second

// newFuzzEnv bootstraps the superadmin and creates tenants through a
// sibling instance with the usual request timeout (provisioning a tenant
// may take longer than fuzzRequestTimeout on a loaded machine), then starts
// the fuzzed instance of the same installation. It returns the
// superadmin's access token.
func newFuzzEnv(f *testing.F, tenants ...testsilo.NewTenant) (*fuzzEnv, string) {
	f.Helper()
	unlimited := func(o *serverOptions) {
		o.perIP, o.perEmail = 1_000_000, 1_000_000
		o.trustedProxies = []string{fuzzTrustedProxy}
	}
	setup := newServer(f, unlimited)
	trackFuzzWorkerDatabases(f, setup.cfg.DBName, setup.prefix)
	super := setup.AdminToken()
	for _, n := range tenants {
		setup.Tenant(f, n)
	}
	s := setup.instance(f, unlimited, func(o *serverOptions) { o.timeout = fuzzRequestTimeout })
	return &fuzzEnv{server: s, h: s.handler}, super
}

// With -fuzz, the target runs in worker processes that the coordinator
// stops with little grace (1 s, then SIGINT, then SIGKILL), often before
// their cleanups have dropped their databases. So each worker lists its
// central database and tenant prefix in a directory the coordinator names
// in $SILO_FUZZ_LEFTOVERS, and the coordinator drops whatever is left of
// them once all workers have stopped. Plain `go test` does none of this.
const leftoversEnv = "SILO_FUZZ_LEFTOVERS"

var fuzzPrefixPattern = regexp.MustCompile(`^t[0-9a-f]{8}_$`)

func testFlag(name string) string {
	if fl := flag.Lookup(name); fl != nil {
		return fl.Value.String()
	}
	return ""
}

func trackFuzzWorkerDatabases(f *testing.F, centralDB, prefix string) {
	f.Helper()
	switch {
	case testFlag("test.fuzzworker") == "true":
		if dir := os.Getenv(leftoversEnv); dir != "" {
			_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("%d-%s", os.Getpid(), prefix)), []byte(centralDB+"\n"+prefix+"\n"), 0o644)
		}
	case testFlag("test.fuzz") != "":
		dir := f.TempDir()
		f.Setenv(leftoversEnv, dir) // inherited by the workers, started later by f.Fuzz
		f.Cleanup(func() { dropLeftovers(f, dir) })
	}
}

// dropLeftovers drops the databases and DB users the workers listed in dir.
func dropLeftovers(tb testing.TB, dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		centralDB, prefix, _ := strings.Cut(strings.TrimSpace(string(raw)), "\n")
		if config.ValidDatabaseName(centralDB) && strings.HasPrefix(centralDB, "silo_test_") {
			testdb.Drop(tb, centralDB)
		}
		if fuzzPrefixPattern.MatchString(prefix) {
			testdb.DropPrefixed(tb, prefix)
		}
	}
}

// serve runs req through the in-process handler.
func (e *fuzzEnv) serve(req *http.Request) *testsilo.Response {
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	res := rec.Result()
	raw, _ := io.ReadAll(res.Body)
	r := &testsilo.Response{Status: res.StatusCode, Header: res.Header, Raw: raw}
	_ = json.Unmarshal(raw, &r.JSON)
	return r
}

// tenantCall sends a tenant-plane request for acme through the in-process
// handler (which, unlike the helpers' HTTP server, mounts the record store).
func (e *fuzzEnv) tenantCall(method, path, tok, body string) *testsilo.Response {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("X-Tenant-Id", "acme")
	return e.serve(req)
}

// requireWellFormed fails unless r is a 2xx with a JSON body (or none, for
// 204) or a 4xx in the API.md error envelope, whose requestId is the
// X-Request-Id header and whose message shows no SQL error or stack trace.
func requireWellFormed(t *testing.T, r *testsilo.Response) {
	t.Helper()
	if r.Status >= 500 {
		t.Fatalf("status %d: %s", r.Status, r.Raw)
	}
	if r.Status < 300 {
		if r.Status != http.StatusNoContent && !json.Valid(r.Raw) {
			t.Fatalf("status %d with a body that is not JSON: %q", r.Status, r.Raw)
		}
		return
	}
	requireEnvelope(t, r)
}

func requireEnvelope(t *testing.T, r *testsilo.Response) {
	t.Helper()
	var env map[string]json.RawMessage
	if err := json.Unmarshal(r.Raw, &env); err != nil || len(env) != 1 || env["error"] == nil {
		t.Fatalf("status %d without the error envelope: %q", r.Status, r.Raw)
	}
	r.Require(t, r.Status, "")
	msg, _ := r.JSON["error"].(map[string]any)["message"].(string)
	for _, leak := range []string{"Error 1", "SQL", "goroutine ", "panic", ".go:"} {
		if strings.Contains(msg, leak) {
			t.Fatalf("status %d: error message leaks %q: %s", r.Status, leak, r.Raw)
		}
	}
}

// FuzzTenantResolution sends GET /api/auth/me with a fuzzed x-tenant-id
// (and, if second is not empty, a second x-tenant-id value), Host and
// X-Forwarded-Host (from a trusted proxy or not) and a valid token of
// tenant acme. Tenants: acme (active, custom domain acme-corp.example)
// and gone (suspended, custom domain gone.example.org); base domain
// silo.test. Properties: no panic, no 5xx, only the resolution answers of
// API.md (200; 400 TENANT_ID_REQUIRED / TENANT_MISMATCH; 403
// TENANT_SUSPENDED; 404 TENANT_NOT_FOUND), each in the error envelope; a
// tenant is resolved only from the exact slug in the header or from a host
// that names it (and every x-tenant-id value must name it: a second value
// cannot be smuggled past the first); a valid header is never blocked by a
// host naming no tenant.
func FuzzTenantResolution(f *testing.F) {
	e, _ := newFuzzEnv(f, tenantOf("acme", "acme-corp.example"), tenantOf("gone", "gone.example.org"))
	ctx := central.WithActor(context.Background(), central.Actor{Kind: "system"})
	if _, err := e.prov.Suspend(ctx, "gone"); err != nil {
		f.Fatal(err)
	}
	tok := e.TenantLogin(f, "acme", adminOf("acme"), password).Str("access_token")

	for _, s := range []struct {
		header, host, fwd string
		proxy             bool
	}{
		{"acme", "", "", false},
		{"acme", "api.silo.test", "", false},
		{"", "acme.silo.test", "", false},
		{"", "ACME.Silo.Test.:8443", "", false},
		{"", "acme-corp.example", "", false},
		{"", "Acme-Corp.Example.", "", false},
		{"", "gone.silo.test", "", false},
		{"", "gone.example.org", "", false},
		{"", "", "", false},
		{"", "silo.test", "", false},
		{"", "127.0.0.1:8080", "", false},
		{"", "[::1]:8080", "", false},
		{"", "nobody.silo.test", "", false},
		{"", "a.b.silo.test", "", false},
		{"", "acme.silo.test.evil.com", "", false},
		{"", "evilsilo.test", "", false},
		{"", "acme.silo.test:", "", false},
		{"", ":8080", "", false},
		{"", "acme.silo.test:99999999999999999999", "", false},
		{"acme", "gone.silo.test", "", false},
		{"gone", "acme.silo.test", "", false},
		{"acme", "gone.example.org", "", false},
		{"acme", "acme.silo.test", "", false},
		{"ACME", "", "", false},
		{"Acme", "", "", false},
		{" acme", "", "", false},
		{"acme ", "", "", false},
		{"acme\t", "", "", false},
		{"acme\r\n", "", "", false},
		{"acme\nX-Evil: 1", "", "", false},
		{"acme\x00", "", "", false},
		{"\x00", "", "", false},
		{"acme,gone", "", "", false},
		{"acme.silo.test", "", "", false},
		{"acm\u0435", "", "", false},
		{"\u212acme", "", "", false},
		{"ａｃｍｅ", "", "", false},
		{"acme%00", "", "", false},
		{"acme'--", "", "", false},
		{"acme`", "", "", false},
		{"api", "", "", false},
		{"nobody", "", "", false},
		{strings.Repeat("a", 41), "", "", false},
		{strings.Repeat("a", 10000), "", "", false},
		{"", strings.Repeat("a.", 2000) + "silo.test", "", false},
		{"", "acme.silo.test\x00.evil", "", false},
		{"", "acme\x00.silo.test", "", false},
		{"", "acme.silo.test\r\nX: y", "", false},
		{"", " acme.silo.test ", "", false},
		{"", "ACME.SILO.TEST", "", false},
		{"", "acme.silo.test..", "", false},
		{"", "xn--acme.silo.test", "", false},
		{"", "ａｃｍｅ.silo.test", "", false},
		{"", "acme.ſilo.teſt", "", false},
		{"", "user@acme.silo.test", "", false},
		{"", "%61cme.silo.test", "", false},
		{"", "api.silo.test", "acme.silo.test", true},
		{"", "api.silo.test", "acme.silo.test", false},
		{"", "api.silo.test", "acme.silo.test, gone.silo.test", true},
		{"", "api.silo.test", ", acme.silo.test", true},
		{"", "api.silo.test", "gone.example.org:443", true},
		{"acme", "api.silo.test", "gone.silo.test", true},
		{"acme", "gone.silo.test", "acme.silo.test", true},
		{"", "acme.silo.test", "\x00", true},
		{"", "acme.silo.test", strings.Repeat(",", 1000), true},
	} {
		f.Add(s.header, "", s.host, s.fwd, s.proxy)
	}
	f.Add("acme", "gone", "", "", false)
	f.Add("acme", "acme", "", "", false)
	f.Add("", "acme", "", "", false)
	f.Add("gone", "acme", "acme.silo.test", "", false)
	f.Add("acme", "ACME", "", "", false)
	f.Fuzz(func(t *testing.T, header, second, host, fwd string, proxy bool) {
		req := httptest.NewRequest("GET", "/api/auth/me", nil)
		req.Host = host
		req.RemoteAddr = "198.51.100.7:40000"
		if proxy {
			req.RemoteAddr = "192.0.2.10:40000"
		}
		req.Header = http.Header{"Authorization": {"Bearer " + tok}}
		values := []string{header}
		if second != "" {
			values = append(values, second)
		}
		if header != "" || second != "" {
			req.Header["X-Tenant-Id"] = values
		}
		// every reports whether each x-tenant-id value is slug.
		every := func(slug string) bool { return !slices.ContainsFunc(values, func(v string) bool { return v != slug }) }
		if second == header {
			second = "" // one tenant named twice is the same request
		}
		if fwd != "" {
			req.Header["X-Forwarded-Host"] = []string{fwd}
		}
		r := e.serve(req)
		requireWellFormed(t, r)

		effective := host
		if proxy && fwd != "" {
			effective, _, _ = strings.Cut(fwd, ",")
		}
		lower := strings.ToLower(effective)
		names := func(slug string) bool { return strings.Contains(lower, slug) }
		code := r.Code()
		switch {
		case r.Status == 200:
			got, _ := r.Obj("tenant")["slug"].(string)
			if got != "acme" || !(every("acme") || every("") && names("acme")) {
				t.Fatalf("resolved %q from x-tenant-id %q, host %q, forwarded %q (proxy %v)", got, values, host, fwd, proxy)
			}
		case r.Status == 400 && code == "TENANT_ID_REQUIRED":
			if !every("") {
				t.Fatalf("TENANT_ID_REQUIRED with x-tenant-id %q", values)
			}
		case r.Status == 400 && code == "TENANT_MISMATCH":
			if !(header == "acme" && names("gone") || header == "gone" && names("acme") || second != "") {
				t.Fatalf("TENANT_MISMATCH for x-tenant-id %q, host %q, forwarded %q (proxy %v)", values, host, fwd, proxy)
			}
		case r.Status == 403 && code == "TENANT_SUSPENDED":
			if !(every("gone") || every("") && names("gone")) {
				t.Fatalf("resolved the suspended tenant from x-tenant-id %q, host %q, forwarded %q (proxy %v)", values, host, fwd, proxy)
			}
		case r.Status == 404 && code == "TENANT_NOT_FOUND":
		default:
			t.Fatalf("unexpected answer %d %s to x-tenant-id %q, host %q, forwarded %q (proxy %v): %s",
				r.Status, code, values, host, fwd, proxy, r.Raw)
		}
		if second != "" {
			return
		}
		// A well-formed header is not blocked by a host that names no
		// (other) tenant.
		if header == "acme" && !names("gone") && r.Status != 200 {
			t.Fatalf("x-tenant-id acme with host %q, forwarded %q (proxy %v): %d %s", host, fwd, proxy, r.Status, r.Raw)
		}
		if header == "gone" && !names("acme") && code != "TENANT_SUSPENDED" {
			t.Fatalf("x-tenant-id gone with host %q, forwarded %q (proxy %v): %d %s", host, fwd, proxy, r.Status, r.Raw)
		}
	})
}

// FuzzLoginEmail logs in with the right password and a fuzzed spelling of
// the account's email, on the tenant plane (acme's admin@acme.example) or
// the central plane (root@example.com). Property: a login succeeds only
// for the account's own address, up to the normalization login applies
// (trimming, lower-casing); that normalized spelling is the key of the
// per-email rate limit, so any other spelling that reaches the account is
// a fresh rate-limit bucket for guessing its password. Every answer is
// well-formed (no 5xx).
func FuzzLoginEmail(f *testing.F) {
	e, _ := newFuzzEnv(f, tenantOf("acme"))
	for _, s := range []struct {
		email   string
		central bool
	}{
		{"admin@acme.example", false},
		{"  ADMIN@Acme.Example\t", false},
		{"admin@acme.example.", false},
		{"admin@acme.example\x00", false},
		{"\"admin\"@acme.example", false},
		{"admin+x@acme.example", false},
		{"Admin <admin@acme.example>", false},
		{"admin@acme.example, root@example.com", false},
		{"admin@[127.0.0.1]", false},
		{"admin%acme.example@acme.example", false},
		{"root@example.com", true},
		{" ROOT@EXAMPLE.COM ", true},
		{"root@example.com\r\n", true},
		{"root@example.com'--", true},
		{"root@example.co", true},
	} {
		f.Add(s.email, s.central)
	}
	f.Fuzz(func(t *testing.T, email string, centralPlane bool) {
		path, want := "/api/auth/login", adminOf("acme")
		if centralPlane {
			path, want = "/api/central/auth/login", "root@example.com"
		}
		body, _ := json.Marshal(map[string]string{"email": email, "password": password})
		req := httptest.NewRequest("POST", path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if !centralPlane {
			req.Header.Set("X-Tenant-Id", "acme")
		}
		r := e.serve(req)
		requireWellFormed(t, r)
		if r.Status != 200 {
			return
		}
		// What the server saw: email after JSON (invalid UTF-8 replaced).
		var sent struct{ Email string }
		_ = json.Unmarshal(body, &sent)
		if got := strings.ToLower(strings.TrimSpace(sent.Email)); got != want {
			t.Fatalf("login as %q succeeded with email %q (normalized %q): a spelling the per-email rate limit counts apart from the account's", want, email, got)
		}
	})
}

// FuzzRecordQuery lists a record-store collection with a fuzzed collection
// name and raw query string (limit, cursor, where[field]=value filters, which
// reach SQL as JSON paths and values). Properties: no panic, no 5xx, errors
// in the envelope, and a 200 lists only records of the collection asked for.
func FuzzRecordQuery(f *testing.F) {
	e, _ := newFuzzEnv(f, tenantOf("acme"))
	tok := e.TenantLogin(f, "acme", adminOf("acme"), password).Str("access_token")
	for _, d := range []string{
		`{"title":"a","n":1,"ok":true,"tags":["x"],"obj":{"k":"v"}}`,
		`{"title":"b\u0000c","n":1.5e300,"ok":false,"none":null,"q":"'\"` + "`" + `%_\\"}`,
		`{"title":"ü😀","n":-0,"Title":"case"}`,
	} {
		e.tenantCall("POST", "/api/collections/fuzz/records", tok, `{"data":`+d+`}`).Require(f, 201, "")
	}
	for _, s := range []struct{ coll, query string }{
		{"fuzz", ""},
		{"fuzz", "where[title]=a"},
		{"fuzz", "where[n]=1&where[ok]=true&limit=1"},
		{"fuzz", "where[none]=null"},
		{"fuzz", "where[n]=1.5e300"}, {"fuzz", "where[n]=1.50"}, {"fuzz", "where[n]=1e999"}, {"fuzz", "where[n]=-0.0"},
		{"fuzz", "where[n]=1e-400"}, {"fuzz", "where[n]=18446744073709551616"}, {"fuzz", "where[n]=1e99999999999999999999"},
		{"fuzz", "where[tags]=%5B%22x%22%5D"},
		{"fuzz", "where[title]=%FF%FE"},
		{"fuzz", "where[title]=%00"},
		{"fuzz", "where[q]='%22%60%25_%5C"},
		{"fuzz", "where[title\"]=x"},
		{"fuzz", "where[a.b]=x"},
		{"fuzz", "where[$]=x"},
		{"fuzz", "where[]=x"},
		{"fuzz", "where[title]=a&where[title]=b"},
		{"fuzz", "where=x&where[=y&where]=z"},
		{"fuzz", "where[a]=1&where[b]=1&where[c]=1&where[d]=1&where[e]=1&where[f]=1&where[g]=1&where[h]=1&where[i]=1"},
		{"fuzz", "limit=0"}, {"fuzz", "limit=201"}, {"fuzz", "limit=-1"}, {"fuzz", "limit=1e3"},
		{"fuzz", "limit=99999999999999999999"},
		{"fuzz", "cursor=00000000-0000-0000-0000-000000000000"},
		{"fuzz", "cursor=' OR 1=1 --"},
		{"fuzz", "%zz=1&;;&&=="},
		{"FUZZ", ""}, {"fuzz_", ""}, {"a", ""}, {"1fuzz", ""}, {"fu-zz", ""}, {"fuzz%00", ""}, {"fu/zz", ""},
		{"..", ""}, {"", ""}, {strings.Repeat("a", 64), ""}, {"fuzz\r\n", ""}, {"fuzz`", ""},
	} {
		f.Add(s.coll, s.query)
	}
	f.Fuzz(func(t *testing.T, coll, query string) {
		req := httptest.NewRequest("GET", "/api/collections/x/records", nil)
		req.URL.Path = "/api/collections/" + coll + "/records"
		req.URL.RawPath = ""
		req.URL.RawQuery = query
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("X-Tenant-Id", "acme")
		r := e.serve(req)
		requireWellFormed(t, r)
		if r.Status != 200 {
			return
		}
		list, ok := r.JSON["records"].([]any)
		if !ok {
			t.Fatalf("200 without a records list: %s", r.Raw)
		}
		for _, x := range list {
			if c, _ := x.(map[string]any)["collection"].(string); c != coll {
				t.Fatalf("listing collection %q returned a record of %q", coll, c)
			}
		}
	})
}

// fuzzRoute is a JSON route of FuzzRequestBodies.
type fuzzRoute struct {
	name, method, path string
	bearer             string // the token sent, if any
	tenant             bool   // sends x-tenant-id: acme
}

// errNoProvisioning stops tenant creation at its first step: the fuzzer
// would otherwise provision a real database for every valid body.
var errNoProvisioning = errors.New("fuzz: provisioning disabled")

// FuzzRequestBodies posts fuzzed bodies to every route that decodes a JSON
// body, with the credentials the route needs (central superadmin; tenant
// acme's tenant_admin), against real MariaDB. The first input picks the
// route by name (any other string picks one by hash). Properties: no panic,
// no 5xx (except 503 PROVISIONING_FAILED on tenant creation, whose
// provisioning the test disables after validation), every non-2xx answer in
// the error envelope, every 2xx answer JSON.
func FuzzRequestBodies(f *testing.F) {
	e, super := newFuzzEnv(f, tenantOf("acme"))
	otherAdmin, _ := e.AddAdmin(f, super, "other@example.com", "admin")
	tok := e.TenantLogin(f, "acme", adminOf("acme"), password).Str("access_token")
	member := e.SignUp(f, "acme", "member@acme.example", password)
	e.Expect(f, 201, "", testsilo.Request{Method: "POST", Path: "/api/roles", Tenant: "acme", Token: tok, Body: map[string]any{"name": "fuzzer", "permissions": []string{"data:read"}}})
	rec := e.tenantCall("POST", "/api/collections/fuzz/records", tok, `{"data":{"n":1}}`)
	rec.Require(f, 201, "")
	recordID, _ := rec.JSON["record"].(map[string]any)["id"].(string)

	var provisioningStopped atomic.Bool
	e.prov.Hook = func(step string) error {
		provisioningStopped.Store(true)
		return errNoProvisioning
	}

	routes := []fuzzRoute{
		{"central.login", "POST", "/api/central/auth/login", "", false},
		{"central.register", "POST", "/api/central/auth/register", super, false},
		{"central.refresh", "POST", "/api/central/auth/refresh", "", false},
		{"central.logout", "POST", "/api/central/auth/logout", "", false},
		{"central.tenants.create", "POST", "/api/central/tenants", super, false},
		{"central.tenants.patch", "PATCH", "/api/central/tenants/acme", super, false},
		{"central.tenants.invite", "POST", "/api/central/tenants/acme/invitations", super, false},
		{"central.tenants.impersonate", "POST", "/api/central/tenants/acme/impersonate", super, false},
		{"central.admins.patch", "PATCH", "/api/central/admins/" + otherAdmin, super, false},
		{"tenant.register", "POST", "/api/auth/register", "", true},
		{"tenant.login", "POST", "/api/auth/login", "", true},
		{"tenant.refresh", "POST", "/api/auth/refresh", "", true},
		{"tenant.logout", "POST", "/api/auth/logout", "", true},
		{"tenant.config", "PUT", "/api/auth/config", tok, true},
		{"tenant.users.add", "POST", "/api/users", tok, true},
		{"tenant.users.roles", "PUT", "/api/users/" + member + "/roles", tok, true},
		{"tenant.roles.create", "POST", "/api/roles", tok, true},
		{"tenant.roles.update", "PUT", "/api/roles/fuzzer", tok, true},
		{"tenant.settings", "PUT", "/api/settings", tok, true},
		{"tenant.apikeys", "POST", "/api/api-keys", tok, true},
		{"tenant.invitations", "POST", "/api/invitations", tok, true},
		{"tenant.invitations.accept", "POST", "/api/invitations/accept", "", true},
		{"tenant.records.create", "POST", "/api/collections/fuzz/records", tok, true},
		{"tenant.records.update", "PUT", "/api/collections/fuzz/records/" + recordID, tok, true},
	}
	byName := map[string]fuzzRoute{}
	for _, r := range routes {
		byName[r.name] = r
	}
	pick := func(name string) fuzzRoute {
		if r, ok := byName[name]; ok {
			return r
		}
		h := fnv.New32a()
		h.Write([]byte(name))
		return routes[h.Sum32()%uint32(len(routes))]
	}

	// Seeds: a plausible body per route, then hostile bodies for each.
	good := map[string]string{
		"central.login":               `{"email":"root@example.com","password":"wrong password!"}`,
		"central.register":            `{"email":"new@example.com","password":"correct horse battery","firstName":"A","lastName":"B","role":"admin"}`,
		"central.refresh":             `{"refresh_token":"not-a-token"}`,
		"central.logout":              `{"refresh_token":"not-a-token"}`,
		"central.tenants.create":      `{"slug":"fuzz-tenant","name":"Fuzz","domains":["fuzz.example.com"],"admin":{"email":"a@fuzz.example","password":"correct horse battery","firstName":"A","lastName":"B"}}`,
		"central.tenants.patch":       `{"name":"Acme Renamed","domains":["acme.example.net"]}`,
		"central.tenants.invite":      `{"email":"invitee@acme.example","role":"member"}`,
		"central.tenants.impersonate": `{"userId":"` + member + `"}`,
		"central.admins.patch":        `{"firstName":"X","lastName":"Y","role":"admin","isActive":true}`,
		"tenant.register":             `{"email":"new@acme.example","password":"correct horse battery","firstName":"A","lastName":"B"}`,
		"tenant.login":                `{"email":"member@acme.example","password":"wrong password!"}`,
		"tenant.refresh":              `{"refresh_token":"not-a-token"}`,
		"tenant.logout":               `{"refresh_token":"not-a-token"}`,
		"tenant.config":               `{"config":{"theme":"dark","nested":{"a":[1,2,{"b":null}]}}}`,
		"tenant.users.add":            `{"email":"added@acme.example","password":"correct horse battery","firstName":"A","lastName":"B","roles":["member"]}`,
		"tenant.users.roles":          `{"roles":["member","fuzzer"]}`,
		"tenant.roles.create":         `{"name":"auditor","description":"reads the audit log","permissions":["audit:read"]}`,
		"tenant.roles.update":         `{"description":"changed","permissions":["data:read","data:write"]}`,
		"tenant.settings":             `{"displayName":"Acme","logoUrl":"https://acme.example/logo.png","primaryColor":"#112233","allowPublicSignup":true}`,
		"tenant.apikeys":              `{"name":"ci","permissions":["data:read"],"expiresAt":"2099-01-01T00:00:00Z"}`,
		"tenant.invitations":          `{"email":"invitee2@acme.example","role":"member"}`,
		"tenant.invitations.accept":   `{"token":"not-a-token","password":"correct horse battery","firstName":"A","lastName":"B"}`,
		"tenant.records.create":       `{"data":{"title":"x","n":1.5,"tags":["a","b"],"nested":{"ok":true,"none":null}}}`,
		"tenant.records.update":       `{"data":{"title":"y","n":-2,"big":123456789012345678901234567890}}`,
	}
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	deepObj := strings.Repeat(`{"a":`, 5000) + "1" + strings.Repeat("}", 5000)
	hostile := []string{
		``, `{}`, `null`, `[]`, `""`, `0`, `true`, `{"`, `{}{}`, `{} x`, `{},`, "\ufeff{}", "{}\x00",
		`{"email":1,"password":2,"name":3,"slug":4,"roles":5,"permissions":6,"config":7,"token":8,"refresh_token":9,"userId":10}`,
		`{"email":["a"],"roles":"member","permissions":"data:read","domains":"a.io","admin":"x","isActive":"yes","expiresAt":12}`,
		`{"email":"a@b.c","email":"b@c.d","EMAIL":"c@d.e"}`,
		`{"unknown":1}`, `{"Email":"a@b.c"}`, `{"__proto__":{}}`,
		`{"email":"a\u0000b@c.d","password":"\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000","firstName":"\u202e\ud800","lastName":"\r\n"}`,
		"{\"email\":\"\xff\xfe@x.y\",\"name\":\"\xc0\xaf\"}",
		`{"email":"a@b.c'; DROP TABLE users; --","name":"` + "`" + `%_\\","slug":"a%","role":"admin' OR '1'='1"}`,
		`{"expiresAt":"0000-01-01T00:00:00Z"}`, `{"expiresAt":"9999-12-31T23:59:59+14:00"}`, `{"expiresAt":"2030-01-01T00:00:00-23:59"}`,
		`{"expiresAt":"1970-01-01T00:00:00Z"}`, `{"expiresAt":null}`, `{"expiresAt":"not a time"}`,
		`{"roles":[null,1,"",{}]}`, `{"roles":[]}`, `{"roles":null}`, `{"permissions":[]}`,
		`{"config":null}`, `{"config":"string"}`, `{"config":[]}`, `{"config":{"a":1,"a":2}}`, `{"config":1e999}`,
		`{"isActive":null,"role":null,"allowPublicSignup":"true","primaryColor":"#GGGGGG"}`,
		`{"domains":[null]}`, `{"domains":null}`, `{"admin":null}`, `{"admin":{}}`,
		`{"email":"` + strings.Repeat("a", 300) + `@example.com","password":"` + strings.Repeat("p", 100) + `"}`,
		`{"firstName":"` + strings.Repeat("é", 300) + `","name":"` + strings.Repeat("😀", 300) + `","description":"` + strings.Repeat("x", 70000) + `"}`,
		`{"email":1e400,"password":-0,"userId":123456789012345678901234567890}`,
		deep, deepObj,
	}
	// Every route gets its plausible body, that body with hostile values
	// in each field, and a share of the hostile bodies (all of them would
	// cost seconds per plain test run for little more coverage).
	for i, r := range routes {
		f.Add(r.name, []byte(good[r.name]))
		for _, b := range fieldVariants(good[r.name], i) {
			f.Add(r.name, b)
		}
		for j, b := range hostile {
			if (i+j)%4 == 0 {
				f.Add(r.name, []byte(b))
			}
		}
	}
	f.Add("tenant.config", []byte(`{"config":{"big":"`+strings.Repeat("x", 70*1024)+`"}}`))

	f.Fuzz(func(t *testing.T, name string, body []byte) {
		route := pick(name)
		req := httptest.NewRequest(route.method, route.path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if route.bearer != "" {
			req.Header.Set("Authorization", "Bearer "+route.bearer)
		}
		if route.tenant {
			req.Header.Set("X-Tenant-Id", "acme")
		}
		provisioningStopped.Store(false)
		r := e.serve(req)
		if route.name == "central.tenants.create" && r.Status == 503 && r.Code() == "PROVISIONING_FAILED" && provisioningStopped.Load() {
			requireEnvelope(t, r)
			return
		}
		requireWellFormed(t, r)
		if r.Status == 401 && route.bearer != "" {
			// The fuzzer must not lose its credentials (a 401 here would
			// make every later input on this route test nothing).
			t.Fatalf("%s: the route's credentials were refused: %s", route.name, r.Raw)
		}
	})
}

// hostileValues replace a field's value in fieldVariants.
var hostileValues = []any{
	"", " ", "\x00", "a\x00b", "a\r\nb", "\t\v\f\b", "😀é\u202e\u200b", json.RawMessage(`"\ud800\udfff\u0000"`), strings.Repeat("x", 5000),
	"`", `'"`, `%_\\`, "Robert'); DROP TABLE users;--", "${jndi:x}", 12345, -1, 1e308, 0.5, true, nil,
	[]any{"a", 1}, []any{}, map[string]any{"a": 1},
}

// fieldVariants returns the JSON object body with each of its fields in
// turn set to four of hostileValues (which four rotates with seed), so that
// the hostile value gets past the decoder and reaches validation and SQL.
func fieldVariants(body string, seed int) [][]byte {
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		panic(err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out [][]byte
	for i, k := range keys {
		for j := 0; j < 4; j++ {
			v := hostileValues[(seed*7+i*4+j)%len(hostileValues)]
			orig := m[k]
			m[k] = v
			b, err := json.Marshal(m)
			if err != nil {
				panic(err)
			}
			m[k] = orig
			out = append(out, b)
		}
	}
	return out
}
