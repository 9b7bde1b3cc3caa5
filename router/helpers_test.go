package router_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/internal/login"
	"github.com/silo-dev/silo/internal/secretbox"
	"github.com/silo-dev/silo/internal/testdb"
	"github.com/silo-dev/silo/internal/token"
	"github.com/silo-dev/silo/provisioning"
	"github.com/silo-dev/silo/router"
	"github.com/silo-dev/silo/tenantdb"
)

const (
	testSecret = "test-secret-test-secret-test-secret-0123"
	testKID    = "test"
	password   = "correct horse battery"
)

// server is a Silo HTTP server on its own central database and tenant
// database/user name prefix.
type server struct {
	t      testing.TB
	url    string
	db     *sqlx.DB
	keys   *token.Keys
	prov   *provisioning.Provisioner
	tenant *tenantdb.Server
	box    *secretbox.Box
	prefix string
}

type serverOptions struct {
	perIP, perEmail int
	bcryptCost      int
	timeout         time.Duration
	sparePool       int
}

func newServer(t testing.TB, opts ...func(*serverOptions)) *server {
	t.Helper()
	o := serverOptions{perIP: 10000, perEmail: 10000, bcryptCost: 4, timeout: 10 * time.Second}
	for _, f := range opts {
		f(&o)
	}
	ctx := context.Background()
	cfg := testdb.Central(t)
	if _, err := central.NewMigrator(cfg).Up(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	db, err := central.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	keys, err := token.NewKeys(testKID, map[string][]byte{testKID: []byte(testSecret)}, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	guard := login.NewGuard(login.GuardOptions{Cost: o.bcryptCost, PerIPPerMinute: o.perIP, PerEmailPerMinute: o.perEmail})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := central.NewService(db, keys, guard, 24*time.Hour, log)

	tsrv, err := tenantdb.OpenServer(ctx, cfg)
	if err != nil {
		t.Fatalf("open tenant server: %v", err)
	}
	t.Cleanup(func() { tsrv.Close() })
	box, err := secretbox.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	prefix := testdb.Prefix(t)
	prov := provisioning.New(central.NewCatalog(db, cfg.DBName), tsrv, box,
		login.NewGuard(login.GuardOptions{Cost: 4, PerIPPerMinute: 10000, PerEmailPerMinute: 10000}),
		provisioning.Options{Prefix: prefix, BaseDomain: "silo.test", SparePool: o.sparePool, Concurrency: 4, Log: log})

	ts := httptest.NewServer(router.New(router.Deps{
		Central: svc, Tenants: prov, Audit: central.NewAudit(db), Keys: keys, Log: log, RequestTimeout: o.timeout,
	}))
	t.Cleanup(ts.Close)
	return &server{t: t, url: ts.URL, db: db, keys: keys, prov: prov, tenant: tsrv, box: box, prefix: prefix}
}

// response is a decoded HTTP answer.
type response struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

// code is the error code of an error envelope.
func (r response) code() string {
	e, _ := r.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func (r response) user() map[string]any {
	u, _ := r.body["user"].(map[string]any)
	return u
}

func (r response) str(key string) string {
	s, _ := r.body[key].(string)
	return s
}

// call sends a request. body is sent as is when it is a string, else as JSON.
func (s *server) call(method, path, bearer string, body any, headers ...string) response {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		buf, _ := json.Marshal(b)
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := response{status: res.StatusCode, header: res.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

// expect fails the test unless r has the status and (for errors) code, and
// every error answer has the API.md envelope.
func expect(t testing.TB, r response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.raw)
	}
	if status < 300 {
		return
	}
	e, ok := r.body["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error envelope: %s", r.raw)
	}
	if e["code"] != code {
		t.Fatalf("code = %v, want %s; body %s", e["code"], code, r.raw)
	}
	if m, _ := e["message"].(string); m == "" {
		t.Fatalf("error without message: %s", r.raw)
	}
	if id, _ := e["requestId"].(string); id == "" || id != r.header.Get("X-Request-Id") {
		t.Fatalf("requestId %q does not match X-Request-Id %q", id, r.header.Get("X-Request-Id"))
	}
}

type adminInput struct {
	Email     string `json:"email"`
	Password  string `json:"password"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	Role      string `json:"role,omitempty"`
}

func newAdmin(email, role string) adminInput {
	return adminInput{Email: email, Password: password, FirstName: "Ada", LastName: "Lovelace", Role: role}
}

// bootstrap registers the first superadmin and returns its access token.
func (s *server) bootstrap() string {
	s.t.Helper()
	r := s.call("POST", "/api/central/auth/register", "", newAdmin("root@example.com", "superadmin"))
	expect(s.t, r, 201, "")
	return s.login("root@example.com", password).str("access_token")
}

func (s *server) login(email, pw string) response {
	s.t.Helper()
	r := s.call("POST", "/api/central/auth/login", "", map[string]string{"email": email, "password": pw})
	expect(s.t, r, 200, "")
	return r
}

// addAdmin registers another admin with the superadmin token and returns its id and access token.
func (s *server) addAdmin(super, email, role string) (id, access string) {
	s.t.Helper()
	r := s.call("POST", "/api/central/auth/register", super, newAdmin(email, role))
	expect(s.t, r, 201, "")
	return r.user()["id"].(string), s.login(email, password).str("access_token")
}

// rows returns a fingerprint of the central tables, to show nothing changed.
func (s *server) rows() string {
	s.t.Helper()
	var out []string
	for _, q := range []string{
		"SELECT CONCAT_WS('|', id, email, password_hash, first_name, last_name, role, is_active, updated_at) FROM users ORDER BY id",
		"SELECT CONCAT_WS('|', id, family_id, HEX(token_hash), IFNULL(used_at, '-'), IFNULL(revoked_at, '-')) FROM refresh_tokens ORDER BY id",
	} {
		var rs []string
		if err := s.db.Select(&rs, q); err != nil {
			s.t.Fatal(err)
		}
		out = append(out, rs...)
	}
	return strings.Join(out, "\n")
}
