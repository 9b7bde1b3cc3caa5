package router

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/silo-dev/silo/central"
)

const (
	ctxRequestID = "silo.requestID"
	ctxLogger    = "silo.logger"
)

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// requestIDs echoes a sane X-Request-Id or makes a new one, and gives the
// request a logger that carries it.
func requestIDs(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader("X-Request-Id")
		if !requestIDPattern.MatchString(id) {
			id = newRequestID()
		}
		c.Set(ctxRequestID, id)
		c.Set(ctxLogger, log.With("requestId", id))
		c.Header("X-Request-Id", id)
		// The audit log learns who acted from the request context.
		c.Request = c.Request.WithContext(central.WithActor(c.Request.Context(),
			central.Actor{Kind: "anonymous", RequestID: id, ClientIP: c.ClientIP()}))
		c.Next()
	}
}

// securityHeaders are sent with every answer. Silo serves JSON only, so
// the policy forbids everything a browser might otherwise do with a body:
// sniffing it as HTML, framing it, loading anything from it, caching it.
// HSTS belongs to the TLS-terminating proxy in front (see docs/SECURITY.md).
var securityHeaders = [][2]string{
	{"X-Content-Type-Options", "nosniff"},
	{"X-Frame-Options", "DENY"},
	{"Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"},
	{"Referrer-Policy", "no-referrer"},
	{"Cross-Origin-Resource-Policy", "same-origin"},
	{"Cache-Control", "no-store"},
}

func secureHeaders() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		for _, kv := range securityHeaders {
			h.Set(kv[0], kv[1])
		}
		c.Next()
	}
}

func newRequestID() string { return rand.Text() }

func requestID(c *gin.Context) string { return c.GetString(ctxRequestID) }

// accessLog writes one structured line per request. It logs neither bodies
// nor query strings nor headers, so no password or token reaches the log.
func accessLog() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		status := c.Writer.Status()
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		logFrom(c).Log(c.Request.Context(), level, "http request",
			"method", c.Request.Method,
			"path", c.Request.URL.Path,
			"route", c.FullPath(),
			"status", status,
			"bytes", c.Writer.Size(),
			"durationMs", float64(time.Since(start).Microseconds())/1000,
			"clientIp", c.ClientIP(),
		)
	}
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

// limits bounds the request body (413 past 1 MiB) and the request's time.
func limits(timeout time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > maxBody {
			Fail(c, errBodyTooLarge)
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxBody)
		ctx, cancel := context.WithTimeout(c.Request.Context(), timeout)
		defer cancel()
		c.Request = c.Request.WithContext(ctx)
		c.Next()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && !c.Writer.Written() {
			Fail(c, errTimeout)
		}
	}
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
