package router

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/silo-dev/silo/central"
)

const (
	ctxRequestID = "silo.requestID"
	ctxLogger    = "silo.logger" // the base logger; logFrom adds the request id
	ctxClientIP  = "silo.clientIP"
)

// requestIDs echoes a sane X-Request-Id or makes a new one, and keeps the
// logger for the request (logFrom adds the id to it when a line is written:
// most requests write only the access line, which adds it itself).
func requestIDs(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader("X-Request-Id")
		if !validRequestID(id) {
			id = newRequestID()
		}
		ip := c.ClientIP()
		c.Set(ctxRequestID, id)
		c.Set(ctxLogger, log)
		c.Set(ctxClientIP, ip)
		c.Writer.Header()["X-Request-Id"] = []string{id}
		// The audit log learns who acted from the request context.
		c.Request = c.Request.WithContext(central.WithActor(c.Request.Context(),
			central.Actor{Kind: "anonymous", RequestID: id, ClientIP: ip}))
		c.Next()
	}
}

// validRequestID reports whether a client's X-Request-Id may be echoed:
// 1 to 128 of A-Z a-z 0-9 . _ : -.
func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch b := id[i]; {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9', b == '.', b == '_', b == ':', b == '-':
		default:
			return false
		}
	}
	return true
}

// securityHeaders are sent with every answer. Silo serves JSON only, so
// the policy forbids everything a browser might otherwise do with a body:
// sniffing it as HTML, framing it, loading anything from it, caching it.
// HSTS belongs to the TLS-terminating proxy in front (see docs/SECURITY.md).
// The names are in canonical form and the values are shared by every
// answer: a handler may replace or delete them (Header.Set, Del), never
// write into them.
var securityHeaders = []struct {
	name  string
	value []string
}{
	{"X-Content-Type-Options", []string{"nosniff"}},
	{"X-Frame-Options", []string{"DENY"}},
	{"Content-Security-Policy", []string{"default-src 'none'; frame-ancestors 'none'"}},
	{"Referrer-Policy", []string{"no-referrer"}},
	{"Cross-Origin-Resource-Policy", []string{"same-origin"}},
	{"Cache-Control", []string{"no-store"}},
}

func secureHeaders() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		for _, kv := range securityHeaders {
			h[kv.name] = kv.value
		}
		c.Next()
	}
}

func newRequestID() string { return rand.Text() }

func requestID(c *gin.Context) string { return c.GetString(ctxRequestID) }

// accessLog writes one structured line per request. It logs neither bodies
// nor query strings nor headers, so no password or token reaches the log.
// The line is built only when the logger writes it at its level.
func accessLog() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		status := c.Writer.Status()
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		log, ctx := baseLog(c), c.Request.Context()
		if !log.Enabled(ctx, level) {
			return
		}
		log.LogAttrs(ctx, level, "http request",
			slog.String("requestId", requestID(c)),
			slog.String("method", c.Request.Method),
			slog.String("path", c.Request.URL.Path),
			slog.String("route", c.FullPath()),
			slog.Int("status", status),
			slog.Int("bytes", c.Writer.Size()),
			slog.Float64("durationMs", float64(time.Since(start).Microseconds())/1000),
			slog.String("clientIp", clientIP(c)),
		)
	}
}

// clientIP is the request's client address, as requestIDs found it.
func clientIP(c *gin.Context) string {
	if ip := c.GetString(ctxClientIP); ip != "" {
		return ip
	}
	return c.ClientIP()
}

// recovery turns a panic into a logged 500 INTERNAL with no details.
func recovery() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			rec := recover()
			if rec == nil {
				return
			}
			if rec == http.ErrAbortHandler {
				panic(rec)
			}
			logFrom(c).ErrorContext(c.Request.Context(), "panic in handler", "panic", rec, "stack", string(debug.Stack()))
			if !c.Writer.Written() {
				Fail(c, errInternal)
			} else {
				c.Abort()
			}
		}()
		c.Next()
	}
}

// limits bounds the request body (413 past 1 MiB) and the request's time
// (but an event stream's, which lasts as long as its client stays).
func limits(timeout time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > maxBody {
			Fail(c, errBodyTooLarge)
			return
		}
		if c.Request.Body != nil && c.Request.Body != http.NoBody {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxBody)
		}
		if isStream(c) {
			c.Next()
			return
		}
		ctx, cancel := context.WithTimeout(c.Request.Context(), timeout)
		defer cancel()
		c.Request = c.Request.WithContext(ctx)
		c.Next()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && !c.Writer.Written() {
			Fail(c, errTimeout)
		}
	}
}

// isStream reports whether the request is for an event stream route.
func isStream(c *gin.Context) bool {
	if c.Request.Method != http.MethodGet {
		return false
	}
	p := c.FullPath()
	return p == centralStreamPath || p == tenantStreamPath
}

// jsonOnly refuses request bodies that are not JSON.
func jsonOnly() gin.HandlerFunc {
	return func(c *gin.Context) {
		hasBody := c.Request.ContentLength > 0 || len(c.Request.TransferEncoding) > 0
		if hasBody && !isJSON(c.GetHeader("Content-Type")) {
			Fail(c, errNotJSON)
			return
		}
		c.Next()
	}
}
