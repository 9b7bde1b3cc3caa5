package router

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkMiddleware measures the middleware every request goes through
// (as New installs it, access log on) around a handler that answers a
// small JSON body, without the network: the router's own cost per request.
func BenchmarkMiddleware(b *testing.B) {
	b.Run("bare", func(b *testing.B) { benchEngine(b, gin.New()) })
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelWarn} {
		name := map[slog.Level]string{slog.LevelInfo: "access-log", slog.LevelWarn: "no-access-log"}[level]
		b.Run(name, func(b *testing.B) {
			log := slog.New(slog.NewJSONHandler(discard{}, &slog.HandlerOptions{Level: level}))
			e := gin.New()
			e.ContextWithFallback = true
			e.Use(middleware(Deps{Log: log, RequestTimeout: 15 * time.Second}, newHTTPMetrics(prometheus.NewRegistry()), newCORS(nil, nil))...)
			benchEngine(b, e)
		})
	}
}

// benchEngine serves GET /api/things/:id from e b.N times.
func benchEngine(b *testing.B, e *gin.Engine) {
	e.GET("/api/things/:id", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"id": c.Param("id")}) })
	req := httptest.NewRequest("GET", "/api/things/42", nil)
	req.Header.Set("x-tenant-id", "acme")
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
