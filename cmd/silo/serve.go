package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/internal/token"
	"github.com/silo-dev/silo/provisioning"
	"github.com/silo-dev/silo/router"
	"github.com/silo-dev/silo/tenantdb"
)

// serve migrates the central database, then serves HTTP until ctx ends,
// draining in-flight requests before it closes the database.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, _, err := loadConfig("serve", args, getenv, stderr, true, nil)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	logWarnings(log, cfg)

	pl, err := openPlane(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer pl.Close()
	keys, err := token.NewKeys(cfg.JWTKeyID, cfg.VerifyKeys, cfg.AccessTokenTTL)
	if err != nil {
		return err
	}
	go pl.guard.Warm()
	svc := central.NewService(pl.db, keys, pl.guard, cfg.RefreshTokenTTL, log)

	// Background work: resume provisionings a dead process left behind,
	// then keep the spare pool full. Both stop with ctx, before the pools close.
	pools := tenantdb.NewPoolManager(tenantdb.PoolOptions{MaxPools: cfg.TenantPoolsMax, MaxConns: cfg.TenantConnsMax})
	defer pools.Close()
	cache := central.NewTenantCache(pl.catalog)

	bctx, stopBackground := context.WithCancel(central.WithActor(ctx, central.Actor{Kind: "system"}))
	var background sync.WaitGroup
	background.Add(2)
	go func() {
		defer background.Done()
		cache.Run(bctx, 250*time.Millisecond)
	}()
	go func() {
		defer background.Done()
		if resumed, err := pl.provisioner.ResumeStuck(bctx); err != nil && ctx.Err() == nil {
			log.Error("resuming stuck tenant provisioning", "err", err)
		} else if len(resumed) > 0 {
			log.Info("resumed stuck tenant provisioning", "tenants", resumed)
		}
		pl.provisioner.RunSpares(bctx, 30*time.Second)
	}()
	defer background.Wait()
	defer stopBackground()

	handler := router.New(router.Deps{
		Central: svc, Tenants: pl.provisioner, Audit: central.NewAudit(pl.db), Keys: keys, Log: log, RequestTimeout: cfg.RequestTimeout,
		Cache: cache, Conns: provisioning.NewConnections(pools, pl.box, pl.server), PoolStats: pools.Stats,
		TenantAuth: tenantdb.NewAuth(keys, pl.guard, cfg.RefreshTokenTTL, log),
		BaseDomain: cfg.BaseDomain, TrustedProxies: cfg.TrustedProxies,
	})
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       cfg.RequestTimeout + 5*time.Second,
		WriteTimeout:      cfg.RequestTimeout + 5*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("silo serving", "addr", ln.Addr().String(), "env", cfg.Env, "central", describeDSN(cfg))
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining in-flight requests", "timeout", cfg.ShutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("silo stopped")
	return nil
}

// healthcheck asks the local server's /healthz (for container health checks).
func healthcheck(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, _, err := loadConfig("healthcheck", args, getenv, stderr, false, nil)
	if err != nil {
		return err
	}
	host, port, _ := net.SplitHostPort(cfg.Listen)
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/healthz", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: status %d", res.StatusCode)
	}
	return nil
}
