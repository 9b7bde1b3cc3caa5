// Package app assembles a Silo instance from its configuration: it
// migrates and opens the central database, connects to the tenant database
// server, and builds the services, the tenant pools, the catalog cache and
// the HTTP handler. It is the only code that assembles a Silo: the silo
// binary, silo.New (and so internal/testsupport/testsilo), the router tests, the load
// tool and the fleet benchmark all start Silo through it, so they run the
// same thing; Options carry what tests and benchmarks set beyond the
// configuration.
package app

import (
	"context"
	"database/sql/driver"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/silo-dev/silo/internal/lib/clock"

	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/config"
	"github.com/silo-dev/silo/internal/feature/records"
	"github.com/silo-dev/silo/internal/lib/login"
	"github.com/silo-dev/silo/internal/lib/secretbox"
	"github.com/silo-dev/silo/internal/lib/token"
	"github.com/silo-dev/silo/migrations"
	"github.com/silo-dev/silo/provisioning"
	"github.com/silo-dev/silo/router"
	"github.com/silo-dev/silo/tenantdb"
)

// App is one assembled Silo instance.
type App struct {
	Handler     http.Handler
	Provisioner *provisioning.Provisioner
	Keys        *token.Keys
	// Pools are the tenant connections, per database server: pools of
	// each tenant's own DB user, or in the shared connection mode
	// (SILO_TENANT_CONN_MODE=shared) each server's shared login.
	Pools *provisioning.Connections
	Cache *central.TenantCache
	Guard *login.Guard // bcrypts and throttles logins, sign-ups and acceptances
	// Callers caches authenticated tenant callers; AuthEpochs tells the
	// other instances of this one's authorization changes and this one of
	// theirs (RunBackground follows them).
	Callers    *tenantdb.CallerCache
	AuthEpochs *central.AuthEpochs
	// Events are the central plane's live events (RunBackground prunes
	// them, and the tickets), Streams the event streams this instance
	// serves (EndStreams ends them).
	Events  *central.Events
	Tickets *central.Tickets
	Streams *router.Streams

	central *sqlx.DB
	locks   *sqlx.DB
	server  *tenantdb.Server      // the default server, connected at start
	servers *provisioning.Servers // every registered server's admin connections
	// serverAdmin changes the registry; RunBackground checks the servers
	// with it.
	serverAdmin *provisioning.ServerAdmin
	log         *slog.Logger
}

// Extensions are what an application embedding Silo adds: its tenant
// migration sets and its tenant routes (see the silo package).
type Extensions struct {
	Sets   []migrations.Set
	Routes []router.TenantRoute
}

// Options adjust an App beyond its configuration: the application's
// extensions, and what tests and benchmarks set or reach into. The zero
// value is the App the silo binary runs.
type Options struct {
	Extensions
	// TenantMigrations replace Silo's own tenant migrations (default
	// migrations.Tenant()); the fleet benchmark extends them.
	TenantMigrations fs.FS
	// AccountFailures is the login guard's failed logins per account,
	// from all IPs together, before each further one backs off (0: the
	// guard's default).
	AccountFailures int
	// WrapCentral, when set, wraps the driver connector of the central
	// pool that requests use (tests count its statements through it).
	WrapCentral func(driver.Connector) driver.Connector
	// Clock stamps the times the central admin service writes (default
	// clock.System); tests fix it.
	Clock clock.Clock
	// Streams bound the event streams (the zero value: the defaults);
	// tests shorten their intervals.
	Streams router.StreamOptions
}

// Open builds an App from cfg with the application's extensions, if any,
// creating and migrating the central database as needed. It refuses a
// master key that cannot open what the central database holds. Close the
// App when done.
func Open(ctx context.Context, cfg *config.Config, log *slog.Logger, ext ...Extensions) (*App, error) {
	return open(ctx, cfg, log, true, Options{Extensions: merge(ext)})
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, cfg *config.Config, log *slog.Logger, o Options) (*App, error) {
	return open(ctx, cfg, log, true, o)
}

// OpenExisting is Open for commands that only read: the central database
// must exist with every migration applied (an error matching
// central.ErrNoDatabase says what is missing), and nothing is written to
// it on the way.
func OpenExisting(ctx context.Context, cfg *config.Config, log *slog.Logger, ext ...Extensions) (*App, error) {
	return open(ctx, cfg, log, false, Options{Extensions: merge(ext)})
}

func merge(ext []Extensions) Extensions {
	var x Extensions
	for _, e := range ext {
		x.Sets = append(x.Sets, e.Sets...)
		x.Routes = append(x.Routes, e.Routes...)
	}
	return x
}

func open(ctx context.Context, cfg *config.Config, log *slog.Logger, create bool, o Options) (*App, error) {
	box, err := secretbox.New(cfg.MasterKey)
	if err != nil {
		return nil, err
	}
	m := central.NewMigrator(cfg.CentralDSN)
	if create {
		if err := central.CheckMasterKeyBeforeMigrating(ctx, cfg.CentralDSN, box); err != nil {
			return nil, err
		}
		if _, err := m.Up(ctx); err != nil {
			return nil, fmt.Errorf("migrate central database %s/%s: %w", cfg.CentralDSN.Addr, cfg.CentralDSN.DBName, err)
		}
	} else if err := m.RequireCurrent(ctx); err != nil {
		return nil, err
	}
	// Requests use the central pool; bound its reads and writes near the
	// request timeout, as the tenant pools' (see provisioning.NewConnections).
	requestDSN := cfg.CentralDSN.Clone()
	requestDSN.ReadTimeout = min(requestDSN.ReadTimeout, cfg.RequestTimeout)
	requestDSN.WriteTimeout = min(requestDSN.WriteTimeout, cfg.RequestTimeout)
	db, err := central.OpenWrapped(ctx, requestDSN, o.WrapCentral)
	if err != nil {
		return nil, err
	}
	if err := central.CheckMasterKey(ctx, db, box, create); err != nil {
		db.Close()
		return nil, err
	}
	if create {
		catalog := central.NewCatalog(db, cfg.CentralDSN.DBName)
		if err := provisioning.RegisterDefault(ctx, catalog, box, cfg.TenantAdminDSN, provisioning.DefaultCapacity); err != nil {
			db.Close()
			return nil, fmt.Errorf("register the default database server: %w", err)
		}
	}
	locks, err := central.OpenLockPool(ctx, cfg.CentralDSN)
	if err != nil {
		db.Close()
		return nil, err
	}
	server, err := tenantdb.OpenServer(ctx, cfg.TenantAdminDSN)
	if err != nil {
		db.Close()
		locks.Close()
		return nil, err
	}
	a := &App{central: db, locks: locks, server: server, log: log}
	if err := a.build(cfg, box, o); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

func (a *App) build(cfg *config.Config, box *secretbox.Box, o Options) error {
	keys, err := token.NewKeys(cfg.JWTKeyID, cfg.VerifyKeys, cfg.AccessTokenTTL, token.Retired(cfg.RetiredKeys))
	if err != nil {
		return err
	}
	guard := login.NewGuard(login.GuardOptions{
		Cost: cfg.BcryptCost, PerIPPerMinute: cfg.LoginPerIPPerMinute, PerEmailPerMinute: cfg.LoginPerEmailPerMinute,
		SignupPerTenantPerMinute: cfg.SignupPerTenantPerMinute, AccountFailures: o.AccountFailures,
	})
	catalog := central.NewCatalog(a.central, cfg.CentralDSN.DBName)
	if o.Clock != nil {
		catalog.SetClock(o.Clock)
	}
	catalog.UseLockPool(a.locks)
	a.Keys, a.Guard = keys, guard
	a.serverAdmin = provisioning.NewServerAdmin(catalog, box)
	a.Cache = central.NewTenantCache(catalog)
	a.servers = provisioning.NewServers(catalog.Server, box)
	a.Pools = provisioning.NewConnections(tenantdb.PoolOptions{
		MaxPools: cfg.TenantPoolsMax, MaxConns: cfg.TenantConnsMax,
		MaxOpenPerPool: cfg.TenantPoolConns, MaxIdlePerPool: cfg.TenantPoolConns,
		// A request waits for a connection slot as long as it may run at all.
		AcquireTimeout: cfg.RequestTimeout,
	}, box, a.Cache.Server, cfg.RequestTimeout)
	conns := a.Pools
	if cfg.TenantConnMode == config.ConnShared {
		conns.UseShared(a.sharedOpener(cfg))
	}
	// Requests verify tokens through a cache of the ones already accepted
	// (the same keys, so tokens issued through a.Keys verify too).
	verifying := keys.Cached(verifiedTokens)
	svc := central.NewService(a.central, verifying, guard, cfg.RefreshTokenTTL, a.log)
	a.Events, a.Tickets, a.Streams = central.NewEvents(a.central), central.NewTickets(a.central, box), router.NewStreams(o.Streams)
	a.Callers = tenantdb.NewCallerCache(cfg.AuthCacheEntries, cfg.AuthCacheTTL)
	a.AuthEpochs = central.NewAuthEpochs(a.central, a.log)
	tenantAuth := tenantdb.NewAuth(verifying, guard, cfg.RefreshTokenTTL, a.log).
		CheckImpersonators(svc.MayImpersonate).CacheCallers(a.Callers, a.announceAuthChange)
	if o.Clock != nil {
		svc.SetClock(o.Clock)
		tenantAuth.SetClock(o.Clock)
		a.Events.SetClock(o.Clock)
		a.Tickets.SetClock(o.Clock)
	}
	a.Provisioner = provisioning.New(catalog, a.servers, box, guard, provisioning.Options{
		Prefix: cfg.TenantDBPrefix, CentralDatabase: cfg.CentralDSN.DBName, BaseDomain: cfg.BaseDomain, SparePool: cfg.SparePoolSize,
		Concurrency: cfg.ProvisionConcurrency, Log: a.log, AppSets: o.Sets, PublicSignup: cfg.DefaultPublicSignup,
		Migrations: o.TenantMigrations, Audit: svc.Audit(), Keys: keys, Conns: conns, Clock: o.Clock,
		SharedConns: cfg.TenantConnMode == config.ConnShared, SharedPassword: sharedPassword(cfg.MasterKey, tenantdb.SharedLoginName(cfg.TenantDBPrefix)),
	})
	a.Handler = router.New(router.Deps{
		Central:        svc,
		Tenants:        a.Provisioner,
		Servers:        a.serverAdmin,
		Log:            a.log,
		RequestTimeout: cfg.RequestTimeout,
		Cache:          a.Cache,
		Conns:          conns,
		PoolStats:      a.Pools.StatsByServer,
		TenantAuth:     tenantAuth,
		BaseDomain:     cfg.BaseDomain,
		TrustedProxies: cfg.TrustedProxies,
		CORSOrigins:    cfg.CORSOrigins,
		Routes:         append(records.Routes(o.Clock), o.Routes...),
		Events:         a.Events,
		Tickets:        a.Tickets,
		Streams:        a.Streams,
	})
	return nil
}

// verifiedTokens is how many accepted access tokens an instance remembers
// (about 1 KB each): a client's repeated token then costs no signature
// check or claims parse (token.Keys.Cached).
const verifiedTokens = 10000

// RunBackground does the instance's background work until ctx ends: it
// follows other instances' catalog and authorization changes (an instance
// that does not run it never serves a caller from its cache), resumes provisionings a dead
// process left behind, and keeps the spare pool full.
func (a *App) RunBackground(ctx context.Context) {
	ctx = central.WithActor(ctx, central.Actor{Kind: "system"})
	var wg sync.WaitGroup
	// The dummy hash for unknown emails, one bcrypt at the configured cost,
	// before the first login needs it; only a server wants it, so commands
	// that finish quickly do not wait for it.
	wg.Go(a.Guard.Warm)
	wg.Go(func() { a.Cache.Run(ctx, 250*time.Millisecond) })
	wg.Go(func() { a.AuthEpochs.Follow(ctx, 250*time.Millisecond, a.Callers) })
	wg.Go(func() { a.checkServers(ctx, serverCheckInterval) })
	wg.Go(func() { a.pruneEvents(ctx, pruneInterval) })
	wg.Go(func() {
		if resumed, err := a.Provisioner.ResumeStuck(ctx); err != nil && ctx.Err() == nil {
			a.log.Error("resuming stuck tenant provisioning", "err", err)
		} else if len(resumed) > 0 {
			a.log.Info("resumed stuck tenant provisioning", "tenants", resumed)
		}
		a.Provisioner.RunSpares(ctx, 30*time.Second)
	})
	wg.Wait()
}

// serverCheckInterval is how often an instance checks every registered
// database server (its version, its account's privileges, that it
// answers) and records the outcome in the registry.
const serverCheckInterval = 5 * time.Minute

// checkServers checks every registered server at once and then every
// interval until ctx ends.
func (a *App) checkServers(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		servers, err := a.serverAdmin.ListServers(ctx)
		for _, s := range servers {
			if _, _, err := a.serverAdmin.CheckServer(ctx, s.Name); err != nil && ctx.Err() == nil {
				a.log.Warn("checking a database server failed", "server", s.Name, "err", err)
			}
		}
		if err != nil && ctx.Err() == nil {
			a.log.Warn("listing the database servers failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// pruneInterval is how often an instance prunes old events and unused
// tickets.
const pruneInterval = 10 * time.Minute

// pruneEvents deletes the events older than central.EventRetention and
// the expired tickets, at once and then every interval until ctx ends.
// Every instance does it; they delete the same rows.
func (a *App) pruneEvents(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := a.Events.Prune(ctx, clock.Now().Add(-central.EventRetention)); err != nil && ctx.Err() == nil {
			a.log.Warn("pruning old events failed", "err", err)
		}
		if _, err := a.Tickets.Prune(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("pruning expired event tickets failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// EndStreams ends the event streams this instance serves (each gets an end
// event) and refuses new ones: call it as the HTTP server shuts down
// (http.Server.RegisterOnShutdown), whose Shutdown would otherwise wait
// for the streams until its deadline.
func (a *App) EndStreams() {
	if a.Streams != nil {
		a.Streams.Close()
	}
}

// announceAuthChange records a committed change to what a tenant's callers
// may do in the central database, where the other instances poll for it.
// A failure is logged; the bump is retried by AuthEpochs.Follow.
func (a *App) announceAuthChange(ctx context.Context, tenantID string) {
	if err := a.AuthEpochs.Bump(ctx, tenantID); err != nil {
		a.log.WarnContext(ctx, "authorization change not yet recorded centrally; retrying", "tenant", tenantID, "err", err)
	}
}

// CentralDB is the central database pool that requests use.
func (a *App) CentralDB() *sqlx.DB { return a.central }

// TenantServer is the connection to the server that holds the tenant
// databases.
func (a *App) TenantServer() *tenantdb.Server { return a.server }

// Close ends the event streams, and closes the tenant pools and the
// database connections.
func (a *App) Close() {
	a.EndStreams()
	if a.Pools != nil {
		a.Pools.Close()
	}
	if a.servers != nil {
		a.servers.Close()
	}
	a.server.Close()
	a.locks.Close()
	a.central.Close()
}
