package router

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func testEngine(timeout time.Duration, logTo io.Writer) *gin.Engine {
	e := gin.New()
	e.Use(requestIDs(slog.New(slog.NewTextHandler(logTo, nil))), accessLog(), recovery(), limits(timeout), jsonOnly())
	return e
}

func TestPanicRecovered(t *testing.T) {
	var logs strings.Builder
	e := testEngine(time.Second, &logs)
	e.GET("/boom", func(*gin.Context) { panic("secret detail: password=hunter2") })
	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest("GET", "/boom", nil))
	if w.Code != 500 {
		t.Fatalf("status %d", w.Code)
	}
	var body errorBody
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error.Code != "INTERNAL" {
		t.Fatalf("body %s", w.Body)
	}
	if strings.Contains(w.Body.String(), "secret") || strings.Contains(w.Body.String(), "goroutine") {
		t.Fatalf("panic details leaked to the client: %s", w.Body)
	}
	if !strings.Contains(logs.String(), "panic in handler") {
		t.Fatalf("panic not logged: %s", logs.String())
	}
}

func TestRequestTimeout(t *testing.T) {
	e := testEngine(50*time.Millisecond, io.Discard)
	e.GET("/slow", func(c *gin.Context) {
		<-c.Request.Context().Done()
		Fail(c, c.Request.Context().Err())
	})
	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest("GET", "/slow", nil))
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), `"TIMEOUT"`) {
		t.Fatalf("status %d body %s", w.Code, w.Body)
	}
}

func TestAccessLogHasNoSecrets(t *testing.T) {
	var logs strings.Builder
	e := testEngine(time.Second, &logs)
	e.POST("/login", func(c *gin.Context) {
		var in struct{ Password string }
		_ = Decode(c, &in)
		c.Status(204)
	})
	req := httptest.NewRequest("POST", "/login?token=qsecret", strings.NewReader(`{"Password":"hunter2hunter2"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer hsecret")
	e.ServeHTTP(httptest.NewRecorder(), req)
	for _, secret := range []string{"hunter2", "qsecret", "hsecret"} {
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("log contains %q: %s", secret, logs.String())
		}
	}
	if !strings.Contains(logs.String(), "http request") {
		t.Fatalf("no access log line: %s", logs.String())
	}
}

// Every line a request logs carries its request id: the access line and an
// error's line; a sane X-Request-Id is echoed, any other replaced.
func TestLogLinesCarryRequestID(t *testing.T) {
	var logs strings.Builder
	e := testEngine(time.Second, &logs)
	e.GET("/fail", func(c *gin.Context) { Fail(c, errors.New("disk on fire")) })
	for _, tc := range []struct {
		sent string
		echo bool
	}{{"req-1.a_b:C", true}, {"bad id", false}, {strings.Repeat("x", 129), false}, {"", false}} {
		logs.Reset()
		req := httptest.NewRequest("GET", "/fail", nil)
		req.Header.Set("X-Request-Id", tc.sent)
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		id := w.Header().Get("X-Request-Id")
		if (id == tc.sent) != tc.echo || !validRequestID(id) {
			t.Fatalf("sent %q, answered X-Request-Id %q", tc.sent, id)
		}
		lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
		if len(lines) != 2 || !strings.Contains(lines[0], "request failed") || !strings.Contains(lines[1], "http request") {
			t.Fatalf("want the error line, then the access line: %q", lines)
		}
		for _, l := range lines {
			if !strings.Contains(l, "requestId="+id) {
				t.Fatalf("line without requestId=%s: %s", id, l)
			}
		}
	}
}

// The request metrics count by method, route template and status, and time
// by method, route template and status class, whether a series is new or
// already known.
func TestRequestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newHTTPMetrics(reg)
	e := gin.New()
	e.Use(m.middleware())
	e.GET("/things/:id", func(c *gin.Context) { c.Status(http.StatusNoContent) })
	for range 3 {
		e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/things/1", nil))
	}
	e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/nowhere", nil))
	want := `
		# HELP silo_http_requests_total HTTP requests by method, route and status.
		# TYPE silo_http_requests_total counter
		silo_http_requests_total{method="GET",route="/things/:id",status="204"} 3
		silo_http_requests_total{method="GET",route="unmatched",status="404"} 1
	`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "silo_http_requests_total"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(m.duration); n != 2 {
		t.Fatalf("%d duration series, want 2", n)
	}
	for status, class := range map[int]string{101: "1xx", 200: "2xx", 204: "2xx", 302: "3xx", 404: "4xx", 503: "5xx", 0: "other", 600: "other"} {
		if got := statusClass(status); got != class {
			t.Errorf("statusClass(%d) = %q, want %q", status, got, class)
		}
	}
}
