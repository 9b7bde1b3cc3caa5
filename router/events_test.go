package router_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/silo-dev/silo/internal/lib/clock"
	"github.com/silo-dev/silo/internal/testsupport/testsilo"
	"github.com/silo-dev/silo/provisioning"
	"github.com/silo-dev/silo/router"
)

// fastStreams make the streams poll and check often, so that the tests
// see what they wait for soon.
func fastStreams(o *serverOptions) {
	o.streams = router.StreamOptions{Poll: 50 * time.Millisecond, Recheck: 100 * time.Millisecond, Grace: 2 * time.Second}
}

func bearerHeader(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

// A central admin's stream tells of a tenant's provisioning step by step
// as it happens, with the audit entries it makes (a superadmin's only).
func TestCentralEventsFollowProvisioning(t *testing.T) {
	t.Parallel()
	s := newServer(t, fastStreams)
	super := s.AdminToken()
	_, plain := s.AddAdmin(t, super, "plain@example.com", "admin")
	superStream, _, _ := openStream(t, s.URL+"/api/central/events", bearerHeader(super)...)
	plainStream, _, _ := openStream(t, s.URL+"/api/central/events", bearerHeader(plain)...)
	for _, st := range []*sseStream{superStream, plainStream} {
		hello := st.next(t)
		if hello.Event != "hello" || !hello.HasID || hello.payload()["resumed"] != false {
			t.Fatalf("first message %+v, want a fresh hello with an id", hello)
		}
	}

	s.Client.CreateTenant(t, super, testsilo.TenantOf("live"))
	want := []string{"created", "step", "step", "step", "step", "step", "active"}
	for name, st := range map[string]*sseStream{"superadmin": superStream, "admin": plainStream} {
		var changes, steps, audits []string
		last := int64(0)
		for _, m := range st.until(t, isEvent("tenant.status", "change", "active")) {
			id, err := strconv.ParseInt(m.ID, 10, 64)
			if err != nil || id <= last || m.Data["id"] != m.ID || m.Data["type"] != m.Event {
				t.Errorf("%s: event %+v: ids must rise and match the envelope", name, m)
			}
			last = id
			switch m.Event {
			case "tenant.status":
				if m.Data["tenant"] != "live" || m.payload()["slug"] != "live" {
					t.Errorf("%s: tenant.status %+v is not about live", name, m.Data)
				}
				changes = append(changes, m.payload()["change"].(string))
				if m.payload()["change"] == "step" {
					steps = append(steps, m.payload()["step"].(string))
				}
			case "audit":
				audits = append(audits, m.payload()["action"].(string))
			}
		}
		if !slices.Equal(changes, want) || !slices.Equal(steps, []string{"database", "user", "grant", "migrated", "admin"}) {
			t.Errorf("%s: changes %v (steps %v), want %v", name, changes, steps, want)
		}
		if wantAudit := name == "superadmin"; slices.Contains(audits, "tenant.create") != wantAudit {
			t.Errorf("%s: audit events %v; superadmins only see them", name, audits)
		}
	}

	s.Expect(t, 200, "", testsilo.Request{Method: "POST", Path: "/api/central/tenants/live/suspend", Token: super})
	for _, st := range []*sseStream{superStream, plainStream} {
		m := st.until(t, isEvent("tenant.status", "", ""))
		if last := m[len(m)-1].payload(); last["change"] != "suspended" || last["status"] != "suspended" {
			t.Errorf("after suspend: %+v", last)
		}
	}
	audit := superStream.until(t, isEvent("audit", "action", "tenant.suspend"))
	if a := audit[len(audit)-1]; a.Data["tenant"] != "live" || a.payload()["outcome"] != "success" {
		t.Errorf("audit event %+v", a.Data)
	}
}

// A change made through one instance reaches a stream on another: they
// share only the central database.
func TestCentralEventsAcrossInstances(t *testing.T) {
	t.Parallel()
	s := newServer(t, fastStreams)
	other := s.instance(t, fastStreams)
	super := s.AdminToken()
	st, _, _ := openStream(t, other.URL+"/api/central/events", bearerHeader(super)...)
	st.next(t) // hello
	s.Client.CreateTenant(t, super, testsilo.TenantOf("far"))
	st.until(t, isEvent("tenant.status", "change", "active"))
}

// status opens url and returns the status of a refused stream; a stream
// that opens fails t.
func refused(t *testing.T, url string, headers ...string) (int, string) {
	t.Helper()
	st, status, body := openStream(t, url, headers...)
	if st != nil {
		t.Fatalf("GET %s opened a stream, want a refusal", url)
	}
	return status, body
}

func TestEventStreamRefusals(t *testing.T) {
	t.Parallel()
	s := newServer(t, fastStreams)
	super := s.AdminToken()
	adminTok := s.Env.CreateTenant("refuse")
	member := s.Member("refuse", "member@refuse.io")
	cases := []struct {
		name    string
		url     string
		headers []string
		status  int
	}{
		{"central: no credential", "/api/central/events", nil, 401},
		{"central: a tenant token", "/api/central/events", bearerHeader(adminTok), 401},
		{"central: bad Last-Event-ID", "/api/central/events", append(bearerHeader(super), "Last-Event-ID", "x1"), 400},
		{"central: negative lastEventId", "/api/central/events?lastEventId=-3", bearerHeader(super), 400},
		{"tenant: no credential", "/api/events", []string{"x-tenant-id", "refuse"}, 401},
		{"tenant: no tenant", "/api/events", bearerHeader(adminTok), 400},
		{"tenant: a central token", "/api/events", append(bearerHeader(super), "x-tenant-id", "refuse"), 401},
		{"tenant: member without audit:read", "/api/events", append(bearerHeader(member), "x-tenant-id", "refuse"), 403},
	}
	for _, c := range cases {
		if status, body := refused(t, s.URL+c.url, c.headers...); status != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, status, body, c.status)
		}
	}
	r := s.Do(t, testsilo.Request{Method: "POST", Path: "/api/events/ticket", Tenant: "refuse", Token: member})
	r.Require(t, http.StatusForbidden, "FORBIDDEN")
}

// rename renames tenant slug: one tenant.status and one audit event.
func rename(t *testing.T, s *server, super, slug, name string) {
	t.Helper()
	s.Expect(t, 200, "", testsilo.Request{Method: "PATCH", Path: "/api/central/tenants/" + slug, Token: super,
		Body: map[string]any{"name": name}})
}

// eventIDs lists the events' ids (hello and end left out).
func eventIDs(ms []sseMsg) []string {
	var out []string
	for _, m := range ms {
		if m.Event != "hello" && m.Event != "end" {
			out = append(out, m.ID)
		}
	}
	return out
}

// A client that reconnects with the last id it saw gets every event it
// missed, once, in order; one that left right after a fresh stream's
// hello resumes from the hello's id.
func TestEventsResumeAfterLastEventID(t *testing.T) {
	t.Parallel()
	s := newServer(t, fastStreams)
	super := s.AdminToken()
	s.Client.CreateTenant(t, super, testsilo.TenantOf("resume"))
	url := s.URL + "/api/central/events"
	witness, _, _ := openStream(t, url, bearerHeader(super)...)
	witness.next(t)
	a, _, _ := openStream(t, url, bearerHeader(super)...)
	hello := a.next(t).ID
	a.Close()

	rename(t, s, super, "resume", "One")
	seen := witness.until(t, isEvent("audit", "action", "tenant.update"))
	last := seen[len(seen)-1].ID
	rename(t, s, super, "resume", "Two")
	rename(t, s, super, "resume", "Three")
	missed := witness.until(t, isEvent("tenant.status", "name", "Three"))
	missed = append(missed, witness.until(t, isEvent("audit", "action", "tenant.update"))...)

	fromHello, _, _ := openStream(t, url, append(bearerHeader(super), "Last-Event-ID", hello)...)
	if h := fromHello.next(t); h.Event != "hello" || h.HasID || h.payload()["resumed"] != true {
		t.Fatalf("resumed hello %+v: want resumed, and no id", h)
	}
	got := fromHello.until(t, func(m sseMsg) bool { return m.ID == missed[len(missed)-1].ID })
	if want := append(eventIDs(seen), eventIDs(missed)...); !slices.Equal(eventIDs(got), want) {
		t.Errorf("from the hello's id: %v, want %v", eventIDs(got), want)
	}

	resumed := must(openStream(t, url, append(bearerHeader(super), "Last-Event-ID", last)...))
	resumed.next(t) // hello
	got = resumed.until(t, func(m sseMsg) bool { return m.ID == missed[len(missed)-1].ID })
	if !slices.Equal(eventIDs(got), eventIDs(missed)) {
		t.Errorf("resumed after %s: %v, want %v", last, eventIDs(got), eventIDs(missed))
	}
	rename(t, s, super, "resume", "Four")
	if m := resumed.next(t); m.payload()["name"] != "Four" {
		t.Errorf("after the missed events: %+v, want the next rename", m.Data)
	}
	last = resumed.next(t).ID // its audit event
	resumed.Close()

	// An EventSource that reconnects with a ticket names its last id in
	// the URL.
	ticket := s.Expect(t, 200, "", testsilo.Request{Method: "POST", Path: "/api/central/events/ticket", Token: super}).Str("ticket")
	resumed = must(openStream(t, url+"?ticket="+ticket+"&lastEventId="+last))
	resumed.next(t) // hello
	rename(t, s, super, "resume", "Five")
	if m := resumed.next(t); m.payload()["name"] != "Five" {
		t.Errorf("resumed after %s: %+v, want the next rename", last, m.Data)
	}
}

func must(s *sseStream, status int, body string) *sseStream {
	if s == nil {
		panic(fmt.Sprintf("the stream did not open: %d %s", status, body))
	}
	return s
}

// ticket asks for a ticket with req and returns it.
func ticket(t *testing.T, s *server, req testsilo.Request) string {
	t.Helper()
	req.Method = "POST"
	r := s.Expect(t, 200, "", req)
	if tk := r.Str("ticket"); len(tk) > 4 && tk[:4] == "evt_" && r.JSON["expiresIn"] == float64(30) {
		return tk
	}
	t.Fatalf("ticket answer %s", r.Raw)
	return ""
}

// A ticket opens one stream, of its plane and tenant, within 30 s; it
// stands for the credential it was asked with.
func TestEventTickets(t *testing.T) {
	t.Parallel()
	var offset atomic.Int64 // the App's clock runs this far ahead
	s := newServer(t, fastStreams, func(o *serverOptions) {
		o.clock = func() time.Time { return clock.Now().Add(time.Duration(offset.Load())) }
	})
	super := s.AdminToken()
	adminTok := s.Env.CreateTenant("tix")
	s.Env.CreateTenant("other")
	central := func() string { return ticket(t, s, testsilo.Request{Path: "/api/central/events/ticket", Token: super}) }
	tenant := func(tok string) string {
		return ticket(t, s, testsilo.Request{Path: "/api/events/ticket", Tenant: "tix", Token: tok})
	}

	tk := central()
	st := must(openStream(t, s.URL+"/api/central/events?ticket="+tk))
	st.next(t)
	refusals := []struct {
		name, url string
		headers   []string
		status    int
		code      string
	}{
		{"spent", "/api/central/events?ticket=" + tk, nil, 401, "TICKET_INVALID"},
		{"unknown", "/api/central/events?ticket=evt_" + strings.Repeat("A", 43), nil, 401, "TICKET_INVALID"},
		{"malformed", "/api/central/events?ticket=nonsense", nil, 401, "TICKET_INVALID"},
		{"central ticket, tenant stream", "/api/events?ticket=" + central(), []string{"x-tenant-id", "tix"}, 401, "TICKET_INVALID"},
		{"tenant ticket, central stream", "/api/central/events?ticket=" + tenant(adminTok), nil, 401, "TICKET_INVALID"},
		{"tenant ticket, another tenant", "/api/events?ticket=" + tenant(adminTok), []string{"x-tenant-id", "other"}, 401, "TICKET_INVALID"},
		{"ticket and header", "/api/central/events?ticket=" + central(), bearerHeader(super), 400, "VALIDATION_FAILED"},
	}
	for _, c := range refusals {
		status, body := refused(t, s.URL+c.url, c.headers...)
		if status != c.status || !strings.Contains(body, `"`+c.code+`"`) {
			t.Errorf("%s: %d %s, want %d %s", c.name, status, body, c.status, c.code)
		}
	}

	late := central()
	offset.Store(int64(31 * time.Second))
	if status, body := refused(t, s.URL+"/api/central/events?ticket="+late); status != 401 || !strings.Contains(body, "TICKET_INVALID") {
		t.Errorf("a ticket 31 s old: %d %s, want 401 TICKET_INVALID", status, body)
	}
	offset.Store(0)

	// A tenant's ticket names its tenant: an EventSource sends no header.
	ts := must(openStream(t, s.URL+"/api/events?ticket="+tenant(adminTok)))
	if h := ts.next(t); h.Event != "hello" || h.Data["tenant"] != nil {
		t.Fatalf("tenant hello %+v", h)
	}
	s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: "/api/roles", Tenant: "tix", Token: adminTok,
		Body: map[string]any{"name": "auditor", "permissions": []string{"audit:read"}}})
	m := ts.next(t)
	if m.Event != "audit" || m.Data["tenant"] != "tix" || m.payload()["action"] != "role.create" || m.payload()["target"].(map[string]any)["id"] != "auditor" {
		t.Errorf("tenant audit event %+v", m.Data)
	}
}

// The tenant stream is for callers holding audit:read: users through
// their roles, and API keys.
func TestTenantEventsForAuditReaders(t *testing.T) {
	t.Parallel()
	s := newServer(t, fastStreams)
	adminTok := s.Env.CreateTenant("readers")
	key := s.APIKey("readers", adminTok, "audit:read")
	noAudit := s.APIKey("readers", adminTok, "data:read")
	url := s.URL + "/api/events"
	byKey := must(openStream(t, url, "X-API-Key", key, "x-tenant-id", "readers"))
	byKey.next(t)
	byBearerKey := must(openStream(t, url, append(bearerHeader(key), "x-tenant-id", "readers")...))
	byBearerKey.next(t)
	keyTicket := ticket(t, s, testsilo.Request{Path: "/api/events/ticket", Tenant: "readers", Token: key})
	byTicket := must(openStream(t, url+"?ticket="+keyTicket, "Host", "readers.silo.test"))
	byTicket.next(t)
	if status, _ := refused(t, url, "X-API-Key", noAudit, "x-tenant-id", "readers"); status != 403 {
		t.Errorf("a key without audit:read: %d, want 403", status)
	}
	s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: "/api/api-keys", Tenant: "readers", Token: adminTok,
		Body: map[string]any{"name": "made live", "permissions": []string{"data:read"}}})
	for _, st := range []*sseStream{byKey, byBearerKey, byTicket} {
		if m := st.next(t); m.payload()["action"] != "apikey.create" {
			t.Errorf("event %+v, want apikey.create", m.Data)
		}
	}
}

// endOf waits for the stream's end and returns the reason of its end
// event ("" when it had none).
func endOf(t *testing.T, st *sseStream) string {
	t.Helper()
	msgs := st.ended(t)
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Event == "end" {
			if msgs[i].HasID {
				t.Errorf("end event with an id field: %+v", msgs[i])
			}
			r, _ := msgs[i].payload()["reason"].(string)
			return r
		}
	}
	return ""
}

// A stream ends when its access token expires, and when what the token
// stood for is revoked: the admin deactivated, the user's audit:read
// taken away, the tenant suspended.
func TestEventStreamsEndWithTheirCredential(t *testing.T) {
	t.Parallel()
	s := newServer(t, fastStreams)
	super := s.AdminToken()
	me := s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: "/api/central/auth/me", Token: super}).Obj("user")
	now := time.Now()
	short := jwtWith(jwt.SigningMethodHS256, testKey, map[string]any{"kid": testKID}, jwt.MapClaims{
		"iss": "silo", "aud": []string{"silo:central"}, "sub": me["id"], "email": me["email"], "role": "superadmin",
		"isCentralAdmin": true, "jti": uuid.NewString(), "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(2 * time.Second).Unix(),
	})
	expiring := must(openStream(t, s.URL+"/api/central/events", bearerHeader(short)...))

	id, plain := s.AddAdmin(t, super, "leaving@example.com", "admin")
	leaving := must(openStream(t, s.URL+"/api/central/events", bearerHeader(plain)...))

	adminTok := s.Env.CreateTenant("ending")
	s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: "/api/roles", Tenant: "ending", Token: adminTok,
		Body: map[string]any{"name": "auditor", "permissions": []string{"audit:read"}}})
	u := s.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: "/api/users", Tenant: "ending", Token: adminTok,
		Body: map[string]any{"email": "aud@ending.io", "password": password, "firstName": "A", "lastName": "U", "roles": []string{"auditor"}}})
	auditor := s.Login("ending", "aud@ending.io")
	demoted := must(openStream(t, s.URL+"/api/events", append(bearerHeader(auditor), "x-tenant-id", "ending")...))
	suspended := must(openStream(t, s.URL+"/api/events", append(bearerHeader(adminTok), "x-tenant-id", "ending")...))

	if r := endOf(t, expiring); r != "expired" {
		t.Errorf("a token's expiry ended the stream with %q, want expired", r)
	}
	s.Expect(t, 200, "", testsilo.Request{Method: "PATCH", Path: "/api/central/admins/" + id, Token: super, Body: map[string]any{"isActive": false}})
	if r := endOf(t, leaving); r != "revoked" {
		t.Errorf("deactivating the admin ended the stream with %q, want revoked", r)
	}
	s.Expect(t, 200, "", testsilo.Request{Method: "PUT", Path: "/api/users/" + u.Obj("user")["id"].(string) + "/roles", Tenant: "ending",
		Token: adminTok, Body: map[string]any{"roles": []string{"member"}}})
	if r := endOf(t, demoted); r != "revoked" {
		t.Errorf("losing audit:read ended the stream with %q, want revoked", r)
	}
	s.Expect(t, 200, "", testsilo.Request{Method: "POST", Path: "/api/central/tenants/ending/suspend", Token: super})
	if r := endOf(t, suspended); r != "tenant-unavailable" {
		t.Errorf("suspending the tenant ended the stream with %q, want tenant-unavailable", r)
	}
}

// Each caller may hold a few streams on an instance; one more is 429
// until one of them closes.
func TestEventStreamLimitPerCaller(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(o *serverOptions) { fastStreams(o); o.streams.PerCaller = 2 })
	super := s.AdminToken()
	_, other := s.AddAdmin(t, super, "other@example.com", "admin")
	url := s.URL + "/api/central/events"
	first := must(openStream(t, url, bearerHeader(super)...))
	must(openStream(t, url, bearerHeader(super)...))
	res, err := http.DefaultClient.Do(mustRequest(t, url, super))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 429 || res.Header.Get("Retry-After") == "" {
		t.Fatalf("a third stream: %d (Retry-After %q), want 429 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
	}
	must(openStream(t, url, bearerHeader(other)...)) // another caller's own
	first.Close()
	deadline := time.Now().Add(wait)
	for {
		st, status, body := openStream(t, url, bearerHeader(super)...)
		if st != nil {
			break
		}
		if status != 429 || time.Now().After(deadline) {
			t.Fatalf("after closing a stream: %d %s", status, body)
		}
		time.Sleep(20 * time.Millisecond) // the closed stream's handler is returning
	}
}

func mustRequest(t *testing.T, url, tok string) *http.Request {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return req
}

// serveWith serves s's handler with srv's settings on a port of its own;
// the test shuts it down.
func serveWith(t *testing.T, s *server, srv *http.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Handler = s.handler
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Close()
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// The HTTP server's graceful shutdown ends the streams (with an end
// event) instead of waiting for them, and new ones are refused.
func TestShutdownEndsEventStreams(t *testing.T) {
	t.Parallel()
	s := newServer(t, fastStreams)
	super := s.AdminToken()
	adminTok := s.Env.CreateTenant("closing")
	srv := &http.Server{}
	srv.RegisterOnShutdown(s.App.EndStreams)
	url := serveWith(t, s, srv)
	streams := []*sseStream{
		must(openStream(t, url+"/api/central/events", bearerHeader(super)...)),
		must(openStream(t, url+"/api/events", append(bearerHeader(adminTok), "x-tenant-id", "closing")...)),
	}
	for _, st := range streams {
		st.next(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with open streams: %v", err)
	}
	for _, st := range streams {
		if r := endOf(t, st); r != "shutdown" {
			t.Errorf("the stream ended with %q, want shutdown", r)
		}
	}
	status, body := refused(t, s.URL+"/api/central/events", bearerHeader(super)...)
	if status != 503 || !strings.Contains(body, "SHUTTING_DOWN") {
		t.Errorf("a stream after shutdown: %d %s, want 503 SHUTTING_DOWN", status, body)
	}
}

// Neither the request timeout nor the HTTP server's read and write
// timeouts end a stream; heartbeats keep it alive.
func TestEventStreamsOutliveTheServerTimeouts(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(o *serverOptions) {
		fastStreams(o)
		o.timeout = time.Second
		o.streams.Heartbeat = 100 * time.Millisecond
	})
	super := s.AdminToken()
	s.Client.CreateTenant(t, super, testsilo.TenantOf("patient"))
	url := serveWith(t, s, &http.Server{ReadTimeout: time.Second, WriteTimeout: time.Second})
	st := must(openStream(t, url+"/api/central/events", bearerHeader(super)...))
	opened := time.Now()
	pings := 0
	for time.Since(opened) < 3*time.Second {
		select {
		case m, ok := <-st.msgs:
			if !ok {
				t.Fatalf("the stream ended after %v", time.Since(opened))
			}
			if m.Comment == "ping" {
				pings++
			}
		case <-time.After(wait):
			t.Fatal("no heartbeat")
		}
	}
	if pings == 0 {
		t.Error("no : ping comment in 3 s")
	}
	rename(t, s, super, "patient", "Still here")
	st.until(t, isEvent("tenant.status", "name", "Still here"))
}

// A fleet migration run, wherever it runs (here the provisioner of the
// instance, as silo migrate tenants up runs it in a process of its own),
// tells its progress to every central stream: a start, its tenants'
// results, each once, and its end with the counts.
func TestMigrationProgressEvents(t *testing.T) {
	t.Parallel()
	s := newServer(t, fastStreams)
	super := s.AdminToken()
	for _, slug := range []string{"fleet-a", "fleet-b", "fleet-c"} {
		s.Client.CreateTenant(t, super, testsilo.TenantOf(slug))
	}
	st := must(openStream(t, s.URL+"/api/central/events", bearerHeader(super)...))
	st.next(t)
	report, err := s.prov.MigrateFleet(context.Background(), provisioning.FleetOptions{Verify: true, Concurrency: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var run string
	var states []string
	results := map[string]int{}
	for _, m := range st.until(t, isEvent("migration.progress", "state", "finished")) {
		if m.Event != "migration.progress" {
			continue
		}
		p := m.payload()
		if run == "" {
			run, _ = p["run"].(string)
		}
		if p["run"] != run || p["total"] != float64(len(report.Results)) {
			t.Errorf("event %+v: run %v, total %d", p, run, len(report.Results))
		}
		states = append(states, p["state"].(string))
		for _, r := range p["results"].([]any) {
			results[r.(map[string]any)["slug"].(string)]++
		}
		if p["state"] == "finished" {
			if p["ok"] != true || p["done"] != float64(len(report.Results)) || p["counts"].(map[string]any)["up-to-date"] != float64(3) {
				t.Errorf("finished event %+v; report counts %v", p, report.Counts)
			}
		}
	}
	if states[0] != "started" || states[len(states)-1] != "finished" {
		t.Errorf("states %v: want started first and finished last", states)
	}
	for _, slug := range []string{"fleet-a", "fleet-b", "fleet-c"} {
		if results[slug] != 1 {
			t.Errorf("%s is in %d events' results, want 1 (%v)", slug, results[slug], results)
		}
	}
}

// In the shared connection mode a lease keeps one of the server's shared
// connections from its first query on: tenant streams lease theirs for
// each read alone, so that more streams than connections leave the
// requests theirs.
func TestTenantStreamsHoldNoSharedConnection(t *testing.T) {
	t.Parallel()
	e := testsilo.Start(t, map[string]string{"SILO_TENANT_CONN_MODE": "shared", "SILO_TENANT_CONNS_MAX": "2", "SILO_REQUEST_TIMEOUT": "3s"})
	admin := e.CreateTenant("thrifty")
	var streams []*sseStream
	for range 3 {
		st := must(openStream(t, e.URL+"/api/events", append(bearerHeader(admin), "x-tenant-id", "thrifty")...))
		st.next(t)
		streams = append(streams, st)
	}
	e.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: "/api/roles", Tenant: "thrifty", Token: admin,
		Body: map[string]any{"name": "watched", "permissions": []string{}}})
	for _, st := range streams {
		if m := st.next(t); m.payload()["action"] != "role.create" {
			t.Fatalf("event %+v", m.Data)
		}
	}
	for range 3 {
		e.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: "/api/collections", Tenant: "thrifty", Token: admin})
	}
}

// An event whose transaction commits after later ones is not skipped: the
// stream holds the later ones back until it comes (here within the
// grace of a minute), and sends them all in id order.
func TestEventStreamWaitsForALateCommit(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(o *serverOptions) {
		fastStreams(o)
		o.streams.Grace, o.streams.Heartbeat = time.Minute, 60*time.Millisecond
	})
	super := s.AdminToken()
	s.Client.CreateTenant(t, super, testsilo.TenantOf("laggard"))
	st := must(openStream(t, s.URL+"/api/central/events", bearerHeader(super)...))
	st.next(t)
	tx, err := s.db.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	res, err := tx.Exec("INSERT INTO events (type, tenant, data, created_at) VALUES ('tenant.status', 'laggard', '{\"change\":\"late\"}', ?)", time.Now().UTC())
	if err != nil {
		t.Fatal(err)
	}
	late, _ := res.LastInsertId()
	rename(t, s, super, "laggard", "After") // two events with later ids, committed first
	// Three heartbeats go by, and with them several polls (every 50 ms),
	// which see the rename's events but not the late one.
	var got []sseMsg
	for pings := 0; pings < 3; {
		m, ok := <-st.msgs
		switch {
		case !ok:
			t.Fatal("the stream ended")
		case m.Comment == "ping":
			pings++
		default:
			got = append(got, m)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	got = append(got, st.until(t, isEvent("audit", "action", "tenant.update"))...)
	if len(got) != 3 || got[0].ID != strconv.FormatInt(late, 10) || got[1].payload()["name"] != "After" {
		t.Errorf("events %v, want the late one (%d) first, then the rename's two", eventIDs(got), late)
	}
}
