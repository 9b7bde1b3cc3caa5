// Package console holds Silo's admin console: the page, script, stylesheet
// and source map that web/ (a small TypeScript app, see web/package.json)
// builds into dist/, committed and embedded in the binary, and the
// Content-Security-Policy the page runs under. It knows nothing of HTTP
// routing: the router serves the files it returns.
package console

import (
	"embed"
	"sync"

	"github.com/silo-dev/silo/internal/lib/webfiles"
)

//go:embed dist
var dist embed.FS

// ContentSecurityPolicy is the policy the console's page runs under. Its
// script, stylesheet and every request come from Silo's own origin (no
// inline script or style, no eval); images also from data: URIs (the
// favicon, a tenant's logo given as one). Forms are never submitted by the
// browser itself: the script sends them with fetch, so form-action 'none'
// keeps a form the script did not take over from putting a password in a
// URL. Trusted Types forbid every string-to-HTML sink (innerHTML and its
// kin): the console builds its DOM from elements and text only. No frames
// of it, no plugins, no <base>.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; " +
	"require-trusted-types-for 'script'; trusted-types 'none'"

// pageName is the console's one HTML page: every client-side route of the
// console is answered with it.
const pageName = "index.html"

// loaded reads the built files once, on first use.
var loaded = sync.OnceValue(func() map[string]webfiles.File { return webfiles.Dir(dist, "dist") })

// Page returns the console's HTML page, which loads /console/app.js and
// /console/app.css.
func Page() webfiles.File { return loaded()[pageName] }

// Asset returns the built file served as /console/NAME (the script, its
// source map, the stylesheet), or false when there is none of that name.
// The page itself is not an asset: it is served under its policy by Page.
func Asset(name string) (webfiles.File, bool) {
	if name == pageName {
		return webfiles.File{}, false
	}
	f, ok := loaded()[name]
	return f, ok
}
