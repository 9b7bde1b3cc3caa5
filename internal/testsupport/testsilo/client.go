package testsilo

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Password is every test user's password.
const Password = "correct horse battery"

// Superadmin is the email of the central superadmin Env.AdminToken
// registers.
const Superadmin = "root@example.com"

// Request is one HTTP call.
type Request struct {
	Method, Path string
	Token        string            // Authorization: Bearer
	Tenant       string            // x-tenant-id
	Host         string            // the request's host (default: the server's)
	Header       map[string]string // more headers; a "Host" one sets the host
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

// Str is the string at key of the body ("" when there is none).
func (r *Response) Str(key string) string {
	s, _ := r.JSON[key].(string)
	return s
}

// Obj is the object at key of the body (nil when there is none).
func (r *Response) Obj(key string) map[string]any {
	m, _ := r.JSON[key].(map[string]any)
	return m
}

// List is the array of objects at key of the body.
func (r *Response) List(key string) []map[string]any {
	raw, _ := r.JSON[key].([]any)
	out := make([]map[string]any, 0, len(raw))
	for _, x := range raw {
		m, _ := x.(map[string]any)
		out = append(out, m)
	}
	return out
}

// Details are the fields a VALIDATION_FAILED envelope names.
func (r *Response) Details() map[string]bool {
	e, _ := r.JSON["error"].(map[string]any)
	ds, _ := e["details"].([]any)
	out := map[string]bool{}
	for _, d := range ds {
		if m, ok := d.(map[string]any); ok {
			f, _ := m["field"].(string)
			out[f] = true
		}
	}
	return out
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

// Require fails t unless r passes Check(status, code).
func (r *Response) Require(t testing.TB, status int, code string) {
	t.Helper()
	if err := r.Check(status, code); err != nil {
		t.Fatal(err)
	}
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
		if strings.EqualFold(k, "Host") {
			hr.Host = v
			continue
		}
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
	out, err := decode(res)
	if err != nil {
		return nil, err
	}
	if err := c.conform(hr, out); err != nil {
		return out, err
	}
	return out, nil
}

// decode reads res, decoding its body when it is JSON.
func decode(res *http.Response) (*Response, error) {
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

// SendRaw writes raw, a hand-made HTTP/1.1 request (for bytes the Go
// client refuses to send), to the server and decodes the answer.
func (c *Client) SendRaw(raw string) (*Response, error) {
	conn, err := net.Dial("tcp", strings.TrimPrefix(c.URL, "http://"))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte(raw)); err != nil {
		return nil, err
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil, err
	}
	return decode(res)
}

// Do sends req and decodes the answer, failing t if there is none.
func (c *Client) Do(t testing.TB, req Request) *Response {
	t.Helper()
	r, err := c.Send(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.Path, err)
	}
	return r
}

// Expect sends req and fails t unless the answer has status and, for an
// error, the envelope with code ("": any code; see Response.Check).
func (c *Client) Expect(t testing.TB, status int, code string, req Request) *Response {
	t.Helper()
	r := c.Do(t, req)
	if err := r.Check(status, code); err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.Path, err)
	}
	return r
}

// Bootstrap registers the first central superadmin, email, with Password
// and returns its access token.
func (c *Client) Bootstrap(t testing.TB, email string) string {
	t.Helper()
	_, access := c.AddAdmin(t, "", email, "superadmin")
	return access
}

// AddAdmin registers a central admin, email with Password and role, with
// a superadmin's access token (none for the first, the superadmin that
// bootstraps Silo), logs it in and returns its id and access token.
func (c *Client) AddAdmin(t testing.TB, superToken, email, role string) (id, access string) {
	t.Helper()
	r := c.Expect(t, http.StatusCreated, "", Request{Method: "POST", Path: "/api/central/auth/register", Token: superToken,
		Body: map[string]string{"email": email, "password": Password, "firstName": "Ada", "lastName": "Admin", "role": role}})
	id, _ = r.Obj("user")["id"].(string)
	if id == "" {
		t.Fatalf("admin without an id: %s", r.Raw)
	}
	return id, c.CentralLogin(t, email, Password).Str("access_token")
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

// SignUp signs email up to tenant slug through public sign-up (POST
// /api/auth/register) and returns the new member's id.
func (c *Client) SignUp(t testing.TB, slug, email, password string) string {
	t.Helper()
	r := c.Expect(t, http.StatusCreated, "", Request{Method: "POST", Path: "/api/auth/register", Tenant: slug,
		Body: map[string]string{"email": email, "password": password, "firstName": "Mo", "lastName": "Member"}})
	id, _ := r.Obj("user")["id"].(string)
	if id == "" {
		t.Fatalf("sign-up without a user id: %s", r.Raw)
	}
	return id
}

// NewTenant is a tenant with its first tenant_admin, as POST
// /api/central/tenants takes it.
type NewTenant struct {
	Slug, Name                                     string
	Domains                                        []string // custom domains (none when nil)
	AdminEmail, AdminPassword, FirstName, LastName string
	Server                                         string // the database server to place it on ("": Silo chooses)
}

// TenantOf is slug named after itself, with the tenant_admin
// admin@<slug>.test whose password is Password.
func TenantOf(slug string) NewTenant {
	return NewTenant{Slug: slug, Name: strings.ToUpper(slug), AdminEmail: "admin@" + slug + ".test",
		AdminPassword: Password, FirstName: "Ada", LastName: "Admin"}
}

// Body is the request body that creates n.
func (n NewTenant) Body() map[string]any {
	b := map[string]any{"slug": n.Slug, "name": n.Name, "admin": map[string]string{
		"email": n.AdminEmail, "password": n.AdminPassword, "firstName": n.FirstName, "lastName": n.LastName}}
	if n.Domains != nil {
		b["domains"] = n.Domains
	}
	if n.Server != "" {
		b["server"] = n.Server
	}
	return b
}

// CreateTenant creates n over the API with a central superadmin's token
// and fails t unless it is created; the answer is the tenant's view.
func (c *Client) CreateTenant(t testing.TB, superToken string, n NewTenant) *Response {
	t.Helper()
	return c.Expect(t, http.StatusCreated, "", Request{Method: "POST", Path: "/api/central/tenants", Token: superToken, Body: n.Body()})
}
