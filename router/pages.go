package router

import (
	"bytes"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/silo-dev/silo/internal/lib/apidocs"
	"github.com/silo-dev/silo/internal/lib/console"
	"github.com/silo-dev/silo/internal/lib/webfiles"
)

// The pages Silo serves from the binary for people: the API reference
// (internal/lib/apidocs) and the admin console (internal/lib/console).
// Each runs under the policy it needs instead of Silo's deny-all one.

// apiDocsPage serves the interactive API reference.
func apiDocsPage(c *gin.Context) {
	c.Writer.Header().Set("Content-Security-Policy", apidocs.ContentSecurityPolicy)
	serveFile(c, apidocs.Page())
}

// apiDocsAsset serves a file of the reference: the page's script, the
// viewer and its licences.
func apiDocsAsset(c *gin.Context) {
	f, ok := apidocs.Asset(c.Param("file"))
	if !ok {
		Fail(c, errRouteNotFound)
		return
	}
	serveFile(c, f)
}

// consoleURL is where the console lives; Silo's root sends browsers there.
const consoleURL = "/console/"

// toConsole sends a browser at / to the console.
func toConsole(c *gin.Context) {
	c.Header("Location", consoleURL)
	c.Status(http.StatusFound)
}

// consolePage serves /console/*path: a built file (app.js, app.css,
// app.js.map) by its name, else the console's page, whose script renders
// the path (a client-side route, so that a deep link or a reload works).
// A name at the top that looks like a file (it has an extension) and is
// none is a 404: a missing script must not be answered with a page.
func consolePage(c *gin.Context) {
	name := strings.TrimPrefix(c.Param("path"), "/")
	if f, ok := console.Asset(name); ok {
		serveFile(c, f)
		return
	}
	if !strings.Contains(name, "/") && strings.Contains(name, ".") && name != "index.html" {
		Fail(c, errRouteNotFound)
		return
	}
	c.Writer.Header().Set("Content-Security-Policy", console.ContentSecurityPolicy)
	serveFile(c, console.Page())
}

// serveFile answers with f, or 304 when the client holds it already: the
// files change only with the binary, so a browser keeps them and
// revalidates them by ETag.
func serveFile(c *gin.Context, f webfiles.File) {
	h := c.Writer.Header()
	h.Set("Content-Type", f.ContentType)
	h.Set("ETag", f.ETag)
	h.Set("Cache-Control", "no-cache")
	http.ServeContent(c.Writer, c.Request, "", time.Time{}, bytes.NewReader(f.Body))
}
