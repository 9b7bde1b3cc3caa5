// Package silo embeds Silo in an application, the way a Laravel
// application uses stancl/tenancy: the application keeps Silo's central
// plane, provisioning, tenant resolution, pooled per-tenant connections,
// tenant users, roles, API keys and audit log, and adds its own tenant
// tables and routes.
//
// Two options extend Silo:
//
//   - [WithTenantMigrations] adds a set of goose migrations (an fs.FS) that
//     every tenant database gets: at provisioning, in spare databases, and
//     from "migrate tenants", which reports each set separately. Each set
//     has its own goose version table, so its version numbers never collide
//     with Silo's own.
//   - [WithTenantRoutes] mounts handlers under /api in the tenant group,
//     each with the permission it requires. Silo resolves the tenant,
//     authenticates the caller (a tenant user's token or an API key) and
//     checks the permission before the handler runs.
//
// Inside such a handler, one call each (package router) gives what the
// request is about:
//
//	router.Tenant(c) // the tenant: ID, slug, name
//	router.DB(c)     // its pooled *sqlx.DB, as the tenant's own DB user
//	router.Caller(c) // the user or API key, with roles and permissions
//	router.Audit(c)  // the tenant's audit log, attributed to the caller
//
// [Main] runs the silo command line (serve, migrate, tenant, ...) with the
// options, so an application's binary is a drop-in silo binary; [New]
// builds the HTTP handler for tests or a custom server. Silo's own record
// store (/api/collections) is built with exactly this API; examples/notes
// is a small application that uses it.
package silo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"

	"github.com/silo-dev/silo/config"
	"github.com/silo-dev/silo/internal/assembly/app"
	"github.com/silo-dev/silo/internal/assembly/cli"
	"github.com/silo-dev/silo/migrations"
	"github.com/silo-dev/silo/router"
)

// An Option extends Silo; see WithTenantMigrations and WithTenantRoutes.
type Option func(*app.Extensions) error

// WithTenantMigrations adds the application's tenant migrations: the goose
// migration files (NNNNN_name.sql) at the top of fsys, tracked in the
// tenant database's table goose_<name>_version. name is lower-case letters,
// digits and _, at most 31 characters, and not "silo". Sets are applied in
// the order given, after Silo's own.
func WithTenantMigrations(name string, fsys fs.FS) Option {
	return func(x *app.Extensions) error {
		set, err := migrations.NewSet(name, fsys)
		if err != nil {
			return err
		}
		for _, s := range x.Sets {
			if s.Name == name {
				return fmt.Errorf("migration set %q added twice", name)
			}
		}
		x.Sets = append(x.Sets, set)
		return nil
	}
}

// WithTenantRoutes mounts the application's routes under /api in the
// tenant group. Each route's Path is relative to /api ("/notes/:id"); its
// Permission is one of the tenant permissions (data:read, data:write,
// users:read, ...; see tenantdb.Permissions) or "" for any authenticated
// user or API key of the tenant. A route that clashes with another is an
// error.
func WithTenantRoutes(routes ...router.TenantRoute) Option {
	return func(x *app.Extensions) error {
		x.Routes = append(x.Routes, routes...)
		return router.CheckTenantRoutes(x.Routes)
	}
}

func extensions(opts []Option) (app.Extensions, error) {
	var x app.Extensions
	var errs []error
	for _, o := range opts {
		if err := o(&x); err != nil {
			errs = append(errs, err)
		}
	}
	return x, errors.Join(errs...)
}

// Main runs the silo command line with the options and exits: "serve",
// "migrate tenants", "tenant create" and the rest all include the
// application's migrations and routes.
func Main(opts ...Option) {
	x, err := extensions(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "silo:", err)
		os.Exit(1)
	}
	cli.Main(x)
}

// Server is an assembled Silo: its HTTP handler and background work.
type Server struct {
	a *app.App
}

// New migrates the central database and assembles Silo from cfg (see
// config.NewLoader) and the options. Close it when done.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger, opts ...Option) (*Server, error) {
	x, err := extensions(opts)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	a, err := app.Open(ctx, cfg, log, x)
	if err != nil {
		return nil, err
	}
	return &Server{a: a}, nil
}

// Handler is Silo's HTTP handler: the central plane, the tenant plane and
// the application's routes.
func (s *Server) Handler() http.Handler { return s.a.Handler }

// RunBackground follows other instances' catalog and authorization
// changes, resumes interrupted provisionings and keeps the spare pool full,
// until ctx ends. A Server that does not run it authenticates every tenant
// request from the tenant database (it caches callers only while it
// follows the other instances' changes).
func (s *Server) RunBackground(ctx context.Context) { s.a.RunBackground(ctx) }

// EndStreams ends the live event streams the Server's handler serves and
// refuses new ones. A custom http.Server registers it with
// RegisterOnShutdown, so that Shutdown does not wait for the streams,
// which end only when their clients leave.
func (s *Server) EndStreams() { s.a.EndStreams() }

// Close ends the event streams, and closes the tenant pools and the
// database connections.
func (s *Server) Close() { s.a.Close() }
