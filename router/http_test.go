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
)

func TestHTTPBasics(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	super := s.bootstrap()

	t.Run("Healthz", func(t *testing.T) {
		r := s.call("GET", "/healthz", "", nil)
		expect(t, r, 200, "")
		if r.str("status") != "ok" {
			t.Fatalf("healthz = %s", r.raw)
		}
	})
	t.Run("Readyz", func(t *testing.T) {
		expect(t, s.call("GET", "/readyz", "", nil), 200, "")
	})
	t.Run("Metrics", func(t *testing.T) {
		r := s.call("GET", "/metrics", "", nil)
		if r.status != 200 || !strings.Contains(r.raw, "silo_http_requests_total") {
			t.Fatalf("metrics: %d %.200s", r.status, r.raw)
		}
	})
	t.Run("UnknownRoute404", func(t *testing.T) {
		expect(t, s.call("GET", "/api/central/nope", "", nil), 404, "NOT_FOUND")
		expect(t, s.call("GET", "/api/central/auth/me/", super, nil), 404, "NOT_FOUND")
	})
	t.Run("WrongMethod405", func(t *testing.T) {
		expect(t, s.call("DELETE", "/api/central/auth/login", "", nil), 405, "METHOD_NOT_ALLOWED")
	})
	t.Run("RequestIDEchoed", func(t *testing.T) {
		r := s.call("GET", "/healthz", "", nil, "X-Request-Id", "abc-123")
		if got := r.header.Get("X-Request-Id"); got != "abc-123" {
			t.Fatalf("X-Request-Id = %q", got)
		}
		r = s.call("GET", "/nope", "", nil, "X-Request-Id", "abc-456")
		expect(t, r, 404, "NOT_FOUND")
		if r.body["error"].(map[string]any)["requestId"] != "abc-456" {
			t.Fatalf("requestId not echoed in envelope: %s", r.raw)
		}
	})
	t.Run("InsaneRequestIDReplaced", func(t *testing.T) {
		for _, bad := range []string{strings.Repeat("a", 200), "a b", "<script>"} {
			r := s.call("GET", "/healthz", "", nil, "X-Request-Id", bad)
			if got := r.header.Get("X-Request-Id"); got == bad || got == "" {
				t.Fatalf("X-Request-Id %q kept as %q", bad, got)
			}
		}
	})

	before := s.rows()
	login := "/api/central/auth/login"
	t.Run("BodyTooLarge", func(t *testing.T) {
		big := `{"email":"root@example.com","password":"` + strings.Repeat("x", 1<<20) + `"}`
		expect(t, s.call("POST", login, "", big), 413, "BODY_TOO_LARGE")
		expect(t, s.call("POST", "/api/central/auth/register", super, big), 413, "BODY_TOO_LARGE")
	})
	t.Run("BodyTooLargeChunked", func(t *testing.T) {
		// No Content-Length: the limit applies while reading.
		req, _ := http.NewRequest("POST", s.url+login, &endless{n: 2 << 20})
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
			expect(t, s.call("POST", login, "", tc.body), tc.status, tc.code)
		})
	}
	t.Run("NotJSON", func(t *testing.T) {
		r := s.call("POST", login, "", nil, "Content-Type", "text/plain")
		expect(t, r, 415, "UNSUPPORTED_MEDIA_TYPE")
		req, _ := http.NewRequest("POST", s.url+login, strings.NewReader("email=a&password=b"))
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
	var down atomic.Bool
	nowhere := mysql.NewConfig()
	nowhere.Net, nowhere.Addr, nowhere.DBName, nowhere.Timeout = "tcp", "127.0.0.1:1", "silo_nowhere", time.Second
	dead, err := mysql.NewConnector(nowhere)
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(t, func(o *serverOptions) {
		o.wrapCentral = func(c driver.Connector) driver.Connector {
			return &switchConnector{Connector: c, down: dead, isDown: &down}
		}
	})
	down.Store(true)
	s.db.SetMaxIdleConns(0) // closes the connections made while it was up

	expect(t, s.call("GET", "/healthz", "", nil), 200, "")
	expect(t, s.call("GET", "/readyz", "", nil), 503, "DATABASE_UNAVAILABLE")
	r := s.call("POST", "/api/central/auth/login", "", map[string]string{"email": "a@example.com", "password": "whatever123"})
	expect(t, r, 503, "DATABASE_UNAVAILABLE")
	if strings.Contains(r.raw, "127.0.0.1") || strings.Contains(r.raw, "dial") {
		t.Fatalf("error leaks connection details: %s", r.raw)
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
