package router_test

import (
	"context"
	"database/sql/driver"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/go-sql-driver/mysql"

	"github.com/silo-dev/silo/internal/testsupport/testsilo"
)

func TestHTTPBasics(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	super := s.AdminToken()

	t.Run("Healthz", func(t *testing.T) {
		r := s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: "/healthz"})
		if r.Str("status") != "ok" {
			t.Fatalf("healthz = %s", r.Raw)
		}
	})
	t.Run("Readyz", func(t *testing.T) {
		s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: "/readyz"})
	})
	t.Run("Metrics", func(t *testing.T) {
		r := s.Do(t, testsilo.Request{Method: "GET", Path: "/metrics"})
		if r.Status != 200 || !strings.Contains(string(r.Raw), "silo_http_requests_total") {
			t.Fatalf("metrics: %d %.200s", r.Status, r.Raw)
		}
	})
	t.Run("UnknownRoute404", func(t *testing.T) {
		s.Expect(t, 404, "NOT_FOUND", testsilo.Request{Method: "GET", Path: "/api/central/nope"})
		s.Expect(t, 404, "NOT_FOUND", testsilo.Request{Method: "GET", Path: "/api/central/auth/me/", Token: super})
	})
	t.Run("WrongMethod405", func(t *testing.T) {
		s.Expect(t, 405, "METHOD_NOT_ALLOWED", testsilo.Request{Method: "DELETE", Path: "/api/central/auth/login"})
	})
	t.Run("RequestIDEchoed", func(t *testing.T) {
		r := s.Do(t, testsilo.Request{Method: "GET", Path: "/healthz", Header: map[string]string{"X-Request-Id": "abc-123"}})
		if got := r.Header.Get("X-Request-Id"); got != "abc-123" {
			t.Fatalf("X-Request-Id = %q", got)
		}
		r = s.Expect(t, 404, "NOT_FOUND", testsilo.Request{Method: "GET", Path: "/nope", Header: map[string]string{"X-Request-Id": "abc-456"}})
		if r.JSON["error"].(map[string]any)["requestId"] != "abc-456" {
			t.Fatalf("requestId not echoed in envelope: %s", r.Raw)
		}
	})
	t.Run("InsaneRequestIDReplaced", func(t *testing.T) {
		for _, bad := range []string{strings.Repeat("a", 200), "a b", "<script>"} {
			r := s.Do(t, testsilo.Request{Method: "GET", Path: "/healthz", Header: map[string]string{"X-Request-Id": bad}})
			if got := r.Header.Get("X-Request-Id"); got == bad || got == "" {
				t.Fatalf("X-Request-Id %q kept as %q", bad, got)
			}
		}
	})

	before := s.rows()
	login := "/api/central/auth/login"
	t.Run("BodyTooLarge", func(t *testing.T) {
		big := `{"email":"root@example.com","password":"` + strings.Repeat("x", 1<<20) + `"}`
		s.Expect(t, 413, "BODY_TOO_LARGE", testsilo.Request{Method: "POST", Path: login, Body: big})
		s.Expect(t, 413, "BODY_TOO_LARGE", testsilo.Request{Method: "POST", Path: "/api/central/auth/register", Token: super, Body: big})
	})
	t.Run("BodyTooLargeChunked", func(t *testing.T) {
		// No Content-Length: the limit applies while reading.
		req, _ := http.NewRequest("POST", s.URL+login, &endless{n: 2 << 20})
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 413 {
			t.Fatalf("status %d", res.StatusCode)
		}
	})
	cases := map[string]struct {
		body, code string
		status     int
	}{
		"MalformedJSON":  {`{"email":`, "MALFORMED_JSON", 400},
		"NotAnObject":    {`[1,2]`, "MALFORMED_JSON", 400},
		"EmptyBody":      {``, "MALFORMED_JSON", 400},
		"TrailingData":   {`{"email":"a@b.co","password":"xxxxxxxxxxxx"} {}`, "MALFORMED_JSON", 400},
		"WrongType":      {`{"email":42,"password":"xxxxxxxxxxxx"}`, "VALIDATION_FAILED", 400},
		"UnknownField":   {`{"email":"a@b.co","passwrd":"xxxxxxxxxxxx"}`, "VALIDATION_FAILED", 400},
		"InvalidUTF8":    {"{\"email\":\"\xff\",\"password\":\"xxxxxxxxxxxx\"}", "MALFORMED_JSON", 400},
		"SQLMetaInEmail": {`{"email":"' OR 1=1 -- @x.io","password":"xxxxxxxxxxxx"}`, "INVALID_CREDENTIALS", 401},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s.Expect(t, tc.status, tc.code, testsilo.Request{Method: "POST", Path: login, Body: tc.body})
		})
	}
	t.Run("NotJSON", func(t *testing.T) {
		s.Expect(t, 415, "UNSUPPORTED_MEDIA_TYPE", testsilo.Request{Method: "POST", Path: login, Header: map[string]string{"Content-Type": "text/plain"}})
		req, _ := http.NewRequest("POST", s.URL+login, strings.NewReader("email=a&password=b"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 415 {
			t.Fatalf("form body: status %d, want 415", res.StatusCode)
		}
	})
	t.Run("NothingChanged", func(t *testing.T) {
		if s.rows() != before {
			t.Fatal("bad requests changed the central database")
		}
	})
}

// endless is a body of n bytes of JSON-ish filler with no Content-Length.
type endless struct{ n int }

func (e *endless) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, io.EOF
	}
	k := min(len(p), e.n)
	for i := range p[:k] {
		p[i] = ' '
	}
	e.n -= k
	return k, nil
}

func TestReadyzDatabaseDown(t *testing.T) {
	t.Parallel()
	// Once down, the central pool connects where nothing listens (port 1):
	// every query fails to connect.
	down, cut := centralSwitch(t)
	s := newServer(t, cut)
	down.Store(true)
	s.db.SetMaxIdleConns(0) // closes the connections made while it was up

	s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: "/healthz"})
	s.Expect(t, 503, "DATABASE_UNAVAILABLE", testsilo.Request{Method: "GET", Path: "/readyz"})
	r := s.Expect(t, 503, "DATABASE_UNAVAILABLE", testsilo.Request{Method: "POST", Path: "/api/central/auth/login", Body: map[string]string{"email": "a@example.com", "password": "whatever123"}})
	if strings.Contains(string(r.Raw), "127.0.0.1") || strings.Contains(string(r.Raw), "dial") {
		t.Fatalf("error leaks connection details: %s", r.Raw)
	}
}

// centralSwitch is a server option whose instance's new central
// connections go where nothing listens (port 1) once down is set.
func centralSwitch(t testing.TB) (down *atomic.Bool, option func(*serverOptions)) {
	t.Helper()
	nowhere := mysql.NewConfig()
	nowhere.Net, nowhere.Addr, nowhere.DBName, nowhere.Timeout = "tcp", "127.0.0.1:1", "silo_nowhere", time.Second
	dead, err := mysql.NewConnector(nowhere)
	if err != nil {
		t.Fatal(err)
	}
	down = new(atomic.Bool)
	return down, func(o *serverOptions) {
		o.wrapCentral = func(c driver.Connector) driver.Connector {
			return &switchConnector{Connector: c, down: dead, isDown: down}
		}
	}
}

// switchConnector connects as its Connector does until isDown is set, then
// as down does.
type switchConnector struct {
	driver.Connector
	down   driver.Connector
	isDown *atomic.Bool
}

func (c *switchConnector) Connect(ctx context.Context) (driver.Conn, error) {
	if c.isDown.Load() {
		return c.down.Connect(ctx)
	}
	return c.Connector.Connect(ctx)
}
