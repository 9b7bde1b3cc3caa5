package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/silo-dev/silo/internal/assembly/app"
)

func serveCmd(s *session) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "serve the HTTP API (migrates the central database first)",
		Long: `Create the central database if it is missing, migrate it, and serve the HTTP API
on --listen until SIGINT or SIGTERM; then drain the requests in flight (up to
--shutdown-timeout) and stop. Background work (resuming interrupted
provisionings, the spare pool, following other instances) runs meanwhile.`,
		Args: positional(0, 0, ""),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return s.serve(cmd.Context())
		},
	}
}

// serve migrates the central database, then serves HTTP until ctx ends,
// draining in-flight requests before it closes the database.
func (s *session) serve(ctx context.Context) error {
	cfg, err := s.config(true)
	if err != nil {
		return err
	}
	stdout := s.stdout
	log := newLogger(cfg, s.stderr)
	logWarnings(log, cfg)

	a, err := app.Open(ctx, cfg, log, s.ext)
	if err != nil {
		return err
	}
	defer a.Close()
	bctx, stopBackground := context.WithCancel(ctx)
	var background sync.WaitGroup
	background.Go(func() { a.RunBackground(bctx) })
	// Stop the background work before the pools close.
	defer background.Wait()
	defer stopBackground()

	handler := a.Handler
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("could not listen on %s: %w", cfg.Listen, err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       cfg.RequestTimeout + 5*time.Second,
		WriteTimeout:      cfg.RequestTimeout + 5*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	// Event streams outlive any drain: end them when the drain begins.
	srv.RegisterOnShutdown(a.EndStreams)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("silo serving", "addr", ln.Addr().String(), "env", cfg.Env, "central", describeDSN(cfg))
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	fmt.Fprintf(stdout, "admin console: http://%s/console/\n", reachable(ln.Addr().String()))

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining in-flight requests", "timeout", cfg.ShutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("could not shut down cleanly: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("silo stopped")
	return nil
}

func healthcheckCmd(s *session) *cobra.Command {
	return &cobra.Command{
		Use:   "healthcheck",
		Short: "exit 0 if the server at --listen answers GET /healthz (for containers)",
		Args:  positional(0, 0, ""),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return s.healthcheck(cmd.Context())
		},
	}
}

// healthcheck asks the local server's /healthz (for container health checks).
func (s *session) healthcheck(ctx context.Context) error {
	cfg, err := s.config(false)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	url := "http://" + reachable(cfg.Listen) + "/healthz"
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("unhealthy: %w", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("unhealthy: GET %s answered %s", url, res.Status)
	}
	return nil
}

// reachable is a listen address as this machine reaches it: an address
// that listens on every interface (":8080", "0.0.0.0:8080", "[::]:8080")
// becomes 127.0.0.1 with its port.
func reachable(listen string) string {
	host, port, _ := net.SplitHostPort(listen)
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
