// Command notes is a small application built on Silo: every tenant gets a
// notes table (through its own migration set) and /api/notes routes, and
// keeps everything Silo gives (central plane, provisioning, tenant users,
// roles, API keys, audit log). Its binary is a silo binary with these
// extensions: "notes serve", "notes migrate tenants up", "notes tenant
// create" and the rest all include the notes migrations and routes.
//
//	go run ./examples/notes serve
package main

import (
	"embed"
	"io/fs"

	"github.com/silo-dev/silo"
)

//go:embed migrations/*.sql
var files embed.FS

// Options are the notes application's extensions of Silo.
func Options() []silo.Option {
	migrations, err := fs.Sub(files, "migrations")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return []silo.Option{
		silo.WithTenantMigrations("notes", migrations),
		silo.WithTenantRoutes(Routes()...),
	}
}

func main() { silo.Main(Options()...) }
