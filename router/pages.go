package router

import (
	"bytes"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/silo-dev/silo/internal/lib/apidocs"
	"github.com/silo-dev/silo/internal/lib/webfiles"
)

// apiDocsPage serves the interactive API reference (internal/lib/apidocs)
// under the policy it needs instead of Silo's deny-all one.
func apiDocsPage(c *gin.Context) {
	c.Writer.Header().Set("Content-Security-Policy", apidocs.ContentSecurityPolicy)
	serveDocsFile(c, apidocs.Page())
}

// apiDocsAsset serves a file of the reference: the page's script, the
// viewer and its licences.
func apiDocsAsset(c *gin.Context) {
	f, ok := apidocs.Asset(c.Param("file"))
	if !ok {
		Fail(c, errRouteNotFound)
		return
	}
	serveDocsFile(c, f)
}

// serveDocsFile answers with f, or 304 when the client holds it already:
// the files change only with the binary, so a browser keeps them and
// revalidates them by ETag.
func serveDocsFile(c *gin.Context, f webfiles.File) {
	h := c.Writer.Header()
	h.Set("Content-Type", f.ContentType)
	h.Set("ETag", f.ETag)
	h.Set("Cache-Control", "no-cache")
	http.ServeContent(c.Writer, c.Request, "", time.Time{}, bytes.NewReader(f.Body))
}
