package router

import "github.com/gin-gonic/gin"

// bodiless answers a HEAD request as handler answers GET, without the body.
func bodiless(handler gin.HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		w := c.Writer
		c.Writer = headWriter{w}
		defer func() { c.Writer = w }()
		handler(c)
	}
}

// headWriter drops what is written to the body.
type headWriter struct{ gin.ResponseWriter }

func (w headWriter) Write(b []byte) (int, error) {
	w.WriteHeaderNow()
	return len(b), nil
}

func (w headWriter) WriteString(s string) (int, error) {
	w.WriteHeaderNow()
	return len(s), nil
}
