// Package webfiles reads the files of a web page embedded in the binary
// (the API reference's, the admin console's) into memory once, each with
// its content type and a strong ETag, so that the router can serve them
// and answer revalidations with 304. It knows nothing of routing.
package webfiles

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"path"
)

// File is one file of a page.
type File struct {
	Body        []byte
	ContentType string
	ETag        string // a strong validator: a hash of Body, quoted
}

// Load reads the file at p of fsys. The files are embedded at build time,
// so a missing one is a bug: Load panics.
func Load(fsys fs.FS, p string) File {
	b, err := fs.ReadFile(fsys, p)
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(b)
	return File{Body: b, ContentType: ContentType(p), ETag: `"` + hex.EncodeToString(sum[:16]) + `"`}
}

// Dir loads every file directly in dir of fsys, by its name (the files of
// subdirectories are left out).
func Dir(fsys fs.FS, dir string) map[string]File {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		panic(err)
	}
	out := make(map[string]File, len(entries))
	for _, e := range entries {
		if e.Type().IsRegular() {
			out[e.Name()] = Load(fsys, path.Join(dir, e.Name()))
		}
	}
	return out
}

// ContentType is the type a file is served with, by its extension
// (text/plain for any other).
func ContentType(p string) string {
	switch path.Ext(p) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".map", ".json":
		return "application/json"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	}
	return "text/plain; charset=utf-8"
}
