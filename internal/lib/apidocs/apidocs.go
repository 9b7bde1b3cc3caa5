// Package apidocs holds the interactive API reference served at /api/docs:
// its HTML page, the script that starts the viewer, and the viewer itself,
// Swagger UI (the npm package swagger-ui-dist, vendored by vendor.sh with
// its licences), all embedded in the binary so that the page loads nothing
// from elsewhere. It knows nothing of HTTP routing: the router serves the
// files it returns under the policy it names.
package apidocs

import (
	"embed"
	"strings"
	"sync"

	"github.com/silo-dev/silo/internal/lib/webfiles"
)

//go:embed index.html init.js swagger-ui
var files embed.FS

// ContentSecurityPolicy is the policy the page works under: scripts,
// stylesheets, fonts and requests from Silo's own origin only (no inline
// script, no eval, no inline <style>), images also as data: URIs (Swagger
// UI's stylesheet draws its icons with them), no frames, plugins, workers,
// forms or <base>. Swagger UI sets element styles from script, which a
// policy does not govern, so style-src needs no 'unsafe-inline'.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// assets maps the names served under /api/docs/ to their embedded paths.
var assets = map[string]string{
	"init.js":                          "init.js",
	"swagger-ui-bundle.js":             "swagger-ui/swagger-ui-bundle.js",
	"swagger-ui.css":                   "swagger-ui/swagger-ui.css",
	"LICENSE":                          "swagger-ui/LICENSE",
	"NOTICE":                           "swagger-ui/NOTICE",
	"swagger-ui-bundle.js.LICENSE.txt": "swagger-ui/swagger-ui-bundle.js.LICENSE.txt",
}

// loaded reads every file once, on first use.
var loaded = sync.OnceValue(func() map[string]webfiles.File {
	out := map[string]webfiles.File{"": webfiles.Load(files, "index.html")}
	for name, p := range assets {
		out[name] = webfiles.Load(files, p)
	}
	return out
})

// Page returns the HTML page, which refers to its assets relative to
// /api/docs (docs/NAME) and to the document as openapi.json.
func Page() webfiles.File { return loaded()[""] }

// Asset returns the file served as /api/docs/NAME, or false when there is
// none of that name.
func Asset(name string) (webfiles.File, bool) {
	if name == "" || strings.Contains(name, "/") {
		return webfiles.File{}, false
	}
	f, ok := loaded()[name]
	return f, ok
}
