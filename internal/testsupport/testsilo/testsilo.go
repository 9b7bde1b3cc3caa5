// Package testsilo is the test harness of Silo's HTTP-level tests: it
// starts a whole Silo (Start, through the public embedding API silo.New;
// or StartApp, through internal/assembly/app with options the public API
// lacks) on the test configuration of testdb (its own central database and
// tenant prefix on the test server), serves it by httptest, and talks to it
// over HTTP with a client that checks the error envelope, bootstraps the
// central superadmin, creates tenants with their admin and logs users in.
// Every database and DB user a test's Silo made is dropped when the test
// ends.
package testsilo

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/silo-dev/silo"
	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/config"
	"github.com/silo-dev/silo/internal/assembly/app"
	"github.com/silo-dev/silo/internal/testsupport/testdb"
)

// Env is one running Silo.
type Env struct {
	Client // to the Silo's URL
	t      testing.TB
	Server *silo.Server // Start's Silo
	App    *app.App     // StartApp's Silo
	Config *config.Config
	// Settings are the SILO_* variables Start's Silo runs with (for the
	// CLI on the same installation).
	Settings map[string]string
	admin    string // the superadmin's access token, once made
}

// Start runs Silo with opts; extra settings (SILO_* variables) override the
// test defaults (bcrypt cost 4, generous login limits, no spare pool).
func Start(t testing.TB, extra map[string]string, opts ...silo.Option) *Env {
	t.Helper()
	return StartLogged(t, extra, slog.New(slog.DiscardHandler), opts...)
}

// StartLogged is Start with Silo's log going to log.
func StartLogged(t testing.TB, extra map[string]string, log *slog.Logger, opts ...silo.Option) *Env {
	t.Helper()
	settings := map[string]string{"SILO_ENV": "development", "SILO_BCRYPT_COST": "4", "SILO_SPARE_POOL_SIZE": "0",
		"SILO_LOGIN_IP_LIMIT": "100000", "SILO_LOGIN_EMAIL_LIMIT": "100000", "SILO_BASE_DOMAIN": "silo.test",
		"SILO_SIGNUP_TENANT_LIMIT": "1000000", "SILO_DEFAULT_PUBLIC_SIGNUP": "true",
		"SILO_JWT_SECRET": randomKey(), "SILO_MASTER_KEY": randomKey()}
	for k, v := range extra {
		settings[k] = v
	}
	settings = testdb.Settings(t, settings)
	cfg := testdb.Load(t, settings)
	srv, err := silo.New(context.Background(), cfg, log, opts...)
	if err != nil {
		t.Fatal(err)
	}
	c := Serve(t, srv.Handler(), srv, true)
	return &Env{Client: c, t: t, Server: srv, Config: cfg, Settings: settings}
}

// randomKey is 32 random bytes written as Silo reads its secrets
// (standard base64).
func randomKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// Silo is an assembled Silo: a *silo.Server or an *app.App.
type Silo interface {
	RunBackground(ctx context.Context)
	EndStreams()
	Close()
}

// StartApp assembles Silo from cfg (see testdb.Config) with o through
// internal/assembly/app, for tests that set what the public API does not
// or reach into Silo's parts, and serves it (see Serve).
func StartApp(t testing.TB, cfg *config.Config, log *slog.Logger, o app.Options, background bool) *Env {
	t.Helper()
	a, err := app.OpenWith(context.Background(), cfg, log, o)
	if err != nil {
		t.Fatalf("open silo: %v", err)
	}
	return &Env{Client: Serve(t, a.Handler, a, background), t: t, App: a, Config: cfg}
}

// Serve serves h, s's handler, over HTTP until t ends, running s's
// background work meanwhile when background is set. When t ends, the HTTP
// server closes, then the background work stops, then s closes: before
// the test's databases are dropped, as cleanups run last first.
func Serve(t testing.TB, h http.Handler, s Silo, background bool) Client {
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	if background {
		go func() {
			defer close(done)
			s.RunBackground(ctx)
		}()
	} else {
		close(done)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(func() {
		s.EndStreams() // hs.Close waits for every handler, a stream's too
		hs.Close()
		stop()
		<-done
		s.Close()
	})
	return Client{URL: hs.URL, HTTP: hs.Client()}
}

// AdminToken is the central superadmin Superadmin's access token
// (registered on first use).
func (e *Env) AdminToken() string {
	e.t.Helper()
	if e.admin == "" {
		e.admin = e.Bootstrap(e.t, Superadmin)
	}
	return e.admin
}

// Tenant creates n over the API with AdminToken and returns the catalog's
// record of it (see Record).
func (e *Env) Tenant(t testing.TB, n NewTenant) *central.Tenant {
	t.Helper()
	e.Client.CreateTenant(t, e.AdminToken(), n)
	tn := e.Record(t, n.Slug)
	if tn.Status != central.StatusActive {
		t.Fatalf("tenant %s is %s", n.Slug, tn.Status)
	}
	return tn
}

// Record is the catalog's record of tenant slug (its database, its DB
// user, …, which the API does not answer), read through the App: only
// StartApp's Env has one.
func (e *Env) Record(t testing.TB, slug string) *central.Tenant {
	t.Helper()
	if e.App == nil {
		t.Fatal("testsilo: Record reads the catalog of StartApp's Silo")
	}
	tn, err := e.App.Provisioner.Get(context.Background(), slug)
	if err != nil {
		t.Fatalf("tenant %s: %v", slug, err)
	}
	return tn
}

// CreateTenant provisions TenantOf(slug) and returns its admin's access
// token.
func (e *Env) CreateTenant(slug string) string {
	e.t.Helper()
	n := TenantOf(slug)
	e.Client.CreateTenant(e.t, e.AdminToken(), n)
	return e.Login(slug, n.AdminEmail)
}

// Login logs a tenant user in and returns the access token.
func (e *Env) Login(slug, email string) string {
	e.t.Helper()
	return e.TenantLogin(e.t, slug, email, Password).Str("access_token")
}

// Member registers a member (data:read, data:write) of slug and returns
// their access token.
func (e *Env) Member(slug, email string) string {
	e.t.Helper()
	e.SignUp(e.t, slug, email, Password)
	return e.Login(slug, email)
}

// APIKey creates an API key of slug with permissions, using a tenant
// admin's token, and returns the key.
func (e *Env) APIKey(slug, adminToken string, permissions ...string) string {
	e.t.Helper()
	r := e.Expect(e.t, http.StatusCreated, "", Request{Method: "POST", Path: "/api/api-keys", Tenant: slug, Token: adminToken,
		Body: map[string]any{"name": fmt.Sprintf("key-%d", len(permissions)), "permissions": permissions}})
	if k := r.Str("key"); k != "" {
		return k
	}
	e.t.Fatalf("no key in %s", r.Raw)
	return ""
}
