// Package testsilo is the test harness of Silo's HTTP-level tests: it
// starts a whole Silo (Start, through the public embedding API silo.New,
// on its own central database and tenant prefix on the test server; or
// StartApp, through internal/assembly/app with options the public API lacks),
// serves it by httptest, and talks to it over HTTP with a client that
// checks the error envelope, bootstraps the central superadmin, creates
// tenants and logs users in. Every database and DB user Start made is
// dropped when the test ends.
package testsilo

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/silo-dev/silo"
	"github.com/silo-dev/silo/config"
	"github.com/silo-dev/silo/internal/assembly/app"
	"github.com/silo-dev/silo/internal/testsupport/benchenv"
	"github.com/silo-dev/silo/internal/testsupport/testdb"
)

// Password is every test user's password.
const Password = "correct horse battery"

// Env is one running Silo.
type Env struct {
	Client // to the Silo's URL
	t      testing.TB
	Server *silo.Server
	Bench  *benchenv.Env
	// Settings are the SILO_* variables it runs with (for the CLI on the
	// same installation).
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
	bench := benchenv.New(testdb.ServerDSN(), "ts")
	t.Cleanup(bench.Cleanup)
	settings := map[string]string{"SILO_ENV": "development", "SILO_BCRYPT_COST": "4",
		"SILO_LOGIN_IP_LIMIT": "100000", "SILO_LOGIN_EMAIL_LIMIT": "100000", "SILO_BASE_DOMAIN": "silo.test",
		"SILO_SIGNUP_TENANT_LIMIT": "1000000", "SILO_DEFAULT_PUBLIC_SIGNUP": "true"}
	for k, v := range extra {
		settings[k] = v
	}
	settings = bench.Settings(settings)
	cfg, err := config.NewLoader(flag.NewFlagSet("silo", flag.ContinueOnError), func(k string) string { return settings[k] }).Load()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := silo.New(context.Background(), cfg, log, opts...)
	if err != nil {
		t.Fatal(err)
	}
	c := Serve(t, srv.Handler(), srv, true)
	return &Env{Client: c, t: t, Server: srv, Bench: bench, Settings: settings}
}

// Silo is an assembled Silo: a *silo.Server or an *app.App.
type Silo interface {
	RunBackground(ctx context.Context)
	Close()
}

// StartApp assembles Silo from cfg with o through internal/assembly/app, for tests
// that set what the public API does not or reach into Silo's parts, and
// serves it (see Serve).
func StartApp(t testing.TB, cfg *config.Config, log *slog.Logger, o app.Options, background bool) (*app.App, Client) {
	t.Helper()
	a, err := app.OpenWith(context.Background(), cfg, log, o)
	if err != nil {
		t.Fatalf("open silo: %v", err)
	}
	return a, Serve(t, a.Handler, a, background)
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
		hs.Close()
		stop()
		<-done
		s.Close()
	})
	return Client{URL: hs.URL, HTTP: hs.Client()}
}

// Request is one HTTP call.
type Request struct {
	Method, Path string
	Token        string            // Authorization: Bearer
	Tenant       string            // x-tenant-id
	Host         string            // the request's host (default: the server's)
	Header       map[string]string // more headers
	Body         any               // JSON-encoded unless a string or []byte
}

// Response is an answer with its body decoded.
type Response struct {
	Status int
	Header http.Header
	Raw    []byte
	JSON   map[string]any
}

// Code is the error envelope's code ("" when there is none).
func (r *Response) Code() string {
	if e, ok := r.JSON["error"].(map[string]any); ok {
		s, _ := e["code"].(string)
		return s
	}
	return ""
}

// Check reports whether r has status and, for an error (status 300 and
// up), the error envelope of docs/API.md: the code (any code when code is
// ""), a message, and the request id that X-Request-Id also carries.
func (r *Response) Check(status int, code string) error {
	if r.Status != status {
		return fmt.Errorf("status = %d, want %d; body %s", r.Status, status, r.Raw)
	}
	if status < 300 {
		return nil
	}
	e, ok := r.JSON["error"].(map[string]any)
	if !ok {
		return fmt.Errorf("no error envelope: %s", r.Raw)
	}
	if c, _ := e["code"].(string); c == "" || code != "" && c != code {
		return fmt.Errorf("code = %v, want %s; body %s", e["code"], code, r.Raw)
	}
	if m, _ := e["message"].(string); m == "" {
		return fmt.Errorf("error without message: %s", r.Raw)
	}
	if id, _ := e["requestId"].(string); id == "" || id != r.Header.Get("X-Request-Id") {
		return fmt.Errorf("requestId %q does not match X-Request-Id %q", id, r.Header.Get("X-Request-Id"))
	}
	return nil
}

// Client sends requests to a Silo over HTTP.
type Client struct {
	URL  string
	HTTP *http.Client // nil: http.DefaultClient
}

// Send sends req and decodes the answer. It reports failure rather than
// ending a test, so any goroutine may call it.
func (c *Client) Send(req Request) (*Response, error) {
	var body io.Reader
	switch b := req.Body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(raw)
	}
	hr, err := http.NewRequest(req.Method, c.URL+req.Path, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if req.Token != "" {
		hr.Header.Set("Authorization", "Bearer "+req.Token)
	}
	if req.Tenant != "" {
		hr.Header.Set("x-tenant-id", req.Tenant)
	}
	if req.Host != "" {
		hr.Host = req.Host
	}
	for k, v := range req.Header {
		hr.Header.Set(k, v)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(hr)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	out := &Response{Status: res.StatusCode, Header: res.Header, Raw: raw}
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &out.JSON)
	}
	return out, nil
}

// Expect sends req and fails t unless the answer has status and, for an
// error, the envelope with code ("": any code; see Response.Check).
func (c *Client) Expect(t testing.TB, status int, code string, req Request) *Response {
	t.Helper()
	r, err := c.Send(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.Path, err)
	}
	if err := r.Check(status, code); err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.Path, err)
	}
	return r
}

// Bootstrap registers the first central superadmin, email, with Password
// and returns its access token.
func (c *Client) Bootstrap(t testing.TB, email string) string {
	t.Helper()
	c.Expect(t, http.StatusCreated, "", Request{Method: "POST", Path: "/api/central/auth/register", Body: map[string]string{
		"email": email, "password": Password, "firstName": "Root", "lastName": "Admin", "role": "superadmin"}})
	return c.CentralLogin(t, email, Password).JSON["access_token"].(string)
}

// CentralLogin logs a central admin in and returns the session.
func (c *Client) CentralLogin(t testing.TB, email, password string) *Response {
	t.Helper()
	return c.Expect(t, http.StatusOK, "", Request{Method: "POST", Path: "/api/central/auth/login",
		Body: map[string]string{"email": email, "password": password}})
}

// TenantLogin logs a user of tenant slug in and returns the session.
func (c *Client) TenantLogin(t testing.TB, slug, email, password string) *Response {
	t.Helper()
	return c.Expect(t, http.StatusOK, "", Request{Method: "POST", Path: "/api/auth/login", Tenant: slug,
		Body: map[string]string{"email": email, "password": password}})
}

// Do sends req and decodes the answer.
func (e *Env) Do(req Request) *Response {
	e.t.Helper()
	r, err := e.Send(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.Path, err)
	}
	return r
}

// Must sends req and fails the test unless the answer has status want
// and, for an error, the error envelope (see Response.Check).
func (e *Env) Must(want int, req Request) *Response {
	e.t.Helper()
	return e.Expect(e.t, want, "", req)
}

// AdminToken is a central superadmin's access token (registered on first use).
func (e *Env) AdminToken() string {
	e.t.Helper()
	if e.admin == "" {
		e.admin = e.Bootstrap(e.t, "root@silo.test")
	}
	return e.admin
}

// NewTenant is a tenant with its first tenant_admin, as POST
// /api/central/tenants takes it.
type NewTenant struct {
	Slug, Name                                     string
	AdminEmail, AdminPassword, FirstName, LastName string
}

// TenantOf is slug named after itself, with the tenant_admin
// admin@<slug>.test whose password is Password.
func TenantOf(slug string) NewTenant {
	return NewTenant{Slug: slug, Name: strings.ToUpper(slug), AdminEmail: "admin@" + slug + ".test",
		AdminPassword: Password, FirstName: "Ada", LastName: "Admin"}
}

// Body is the request body that creates n.
func (n NewTenant) Body() map[string]any {
	return map[string]any{"slug": n.Slug, "name": n.Name, "admin": map[string]string{
		"email": n.AdminEmail, "password": n.AdminPassword, "firstName": n.FirstName, "lastName": n.LastName}}
}

// CreateTenant creates n over the API with a central superadmin's token
// and fails t unless it is created; the answer is the tenant's view.
func (c *Client) CreateTenant(t testing.TB, superToken string, n NewTenant) *Response {
	t.Helper()
	return c.Expect(t, http.StatusCreated, "", Request{Method: "POST", Path: "/api/central/tenants", Token: superToken, Body: n.Body()})
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
	return e.TenantLogin(e.t, slug, email, Password).JSON["access_token"].(string)
}

// Member registers a member (data:read, data:write) of slug and returns
// their access token.
func (e *Env) Member(slug, email string) string {
	e.t.Helper()
	e.Must(http.StatusCreated, Request{Method: "POST", Path: "/api/auth/register", Tenant: slug,
		Body: map[string]string{"email": email, "password": Password, "firstName": "Mo", "lastName": "Member"}})
	return e.Login(slug, email)
}

// APIKey creates an API key of slug with permissions, using a tenant
// admin's token, and returns the key.
func (e *Env) APIKey(slug, adminToken string, permissions ...string) string {
	e.t.Helper()
	r := e.Must(http.StatusCreated, Request{Method: "POST", Path: "/api/api-keys", Tenant: slug, Token: adminToken,
		Body: map[string]any{"name": fmt.Sprintf("key-%d", len(permissions)), "permissions": permissions}})
	if k, ok := r.JSON["key"].(string); ok {
		return k
	}
	e.t.Fatalf("no key in %s", r.Raw)
	return ""
}
