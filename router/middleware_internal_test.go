package router

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
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
