package router_test

import (
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/silo-dev/silo/internal/testsupport/testsilo"
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
