package router

import (
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

// bodiless answers HEAD with the status and headers GET gets, failures
// included, and no body.
func TestBodilessKeepsStatusDropsBody(t *testing.T) {
	for name, handler := range map[string]gin.HandlerFunc{
		"ok":     func(c *gin.Context) { c.JSON(200, gin.H{"status": "ok"}) },
		"failed": func(c *gin.Context) { Fail(c, errTimeout) },
		"string": func(c *gin.Context) { c.String(200, "text") },
	} {
		e := testEngine(time.Second, io.Discard)
		e.GET("/x", handler)
		e.HEAD("/x", bodiless(handler))
		get, head := httptest.NewRecorder(), httptest.NewRecorder()
		e.ServeHTTP(get, httptest.NewRequest("GET", "/x", nil))
		e.ServeHTTP(head, httptest.NewRequest("HEAD", "/x", nil))
		if get.Body.Len() == 0 {
			t.Fatalf("%s: GET has no body", name)
		}
		if head.Code != get.Code || head.Body.Len() != 0 || head.Header().Get("Content-Type") != get.Header().Get("Content-Type") {
			t.Errorf("%s: HEAD %d %q %q, GET %d %q", name, head.Code, head.Body, head.Header().Get("Content-Type"), get.Code, get.Header().Get("Content-Type"))
		}
	}
}
