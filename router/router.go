package router

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/provisioning"
	"github.com/silo-dev/silo/tenantdb"
)

// Deps are what the HTTP layer needs from the rest of Silo.
type Deps struct {
	Central *central.Service
	Tenants *provisioning.Provisioner
	// Servers administers the database-server registry (nil: its routes
	// answer 503 SERVERS_UNAVAILABLE).
	Servers *provisioning.ServerAdmin

	// The tenant plane.
	Cache          *central.TenantCache
	Conns          TenantConns
	TenantAuth     *tenantdb.Auth
	PoolStats      func() map[string]tenantdb.PoolStats // the tenant connections' figures by database server
	BaseDomain     string
	TrustedProxies []string // CIDRs
	// CORSOrigins are the browser origins allowed on every route, in the
	// form config.ParseOrigin returns (see corsPolicy).
	CORSOrigins    []string
	Log            *slog.Logger
	RequestTimeout time.Duration
	// Routes are tenant routes added to Silo's own: the record store and an
	// application's (see CheckTenantRoutes).
	Routes []TenantRoute
	// Events and Tickets back the live event streams (nil: the stream
	// routes answer 503 EVENTS_UNAVAILABLE); Streams holds the open ones
	// (nil: the router's own, with the default bounds).
	Events  *central.Events
	Tickets *central.Tickets
	Streams *Streams
}

func init() { gin.SetMode(gin.ReleaseMode) }

// New returns Silo's HTTP handler.
func New(d Deps) http.Handler {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.RequestTimeout == 0 {
		d.RequestTimeout = 15 * time.Second
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	e := gin.New()
	// Clean 404s rather than redirects; client IP is the peer address until
	// trusted proxies are configured.
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.HandleMethodNotAllowed = true
	e.ContextWithFallback = true
	if err := e.SetTrustedProxies(d.TrustedProxies); err != nil {
		_ = e.SetTrustedProxies(nil)
	}

	metrics := newHTTPMetrics(reg)
	if d.PoolStats != nil && d.Cache != nil {
		registerPoolMetrics(reg, d.PoolStats, d.Cache)
	}
	if d.TenantAuth != nil {
		registerAuthMetrics(reg, d.TenantAuth)
	}
	resolver := &tenantResolver{cache: d.Cache, baseDomain: d.BaseDomain, trusted: parseCIDRs(d.TrustedProxies)}
	cors := newCORS(d.CORSOrigins, resolver)
	e.Use(middleware(d, metrics, cors)...)
	e.NoRoute(func(c *gin.Context) { Fail(c, errRouteNotFound) })
	e.NoMethod(func(c *gin.Context) { Fail(c, errMethodNotAllowed) })

	if d.Streams == nil {
		d.Streams = NewStreams(StreamOptions{})
	}
	registerStreamMetrics(reg, d.Streams)
	h := &handlers{
		central: d.Central, tenants: d.Tenants, servers: d.Servers, metrics: metrics,
		conns: d.Conns, tenantAuth: d.TenantAuth, resolver: resolver, cors: cors,
		events: d.Events, tickets: d.Tickets, streams: d.Streams,
	}
	routes(e, h, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), d.Routes)
	h.spec = openAPI(e.Routes(), append(tenantRoutes(h), d.Routes...))
	return e
}

// middleware is what every request goes through, in order.
func middleware(d Deps, metrics *httpMetrics, cors *corsPolicy) []gin.HandlerFunc {
	return []gin.HandlerFunc{secureHeaders(), requestIDs(d.Log), accessLog(), recovery(), metrics.middleware(), cors.middleware(),
		limits(d.RequestTimeout), jsonOnly()}
}

type handlers struct {
	central *central.Service
	tenants *provisioning.Provisioner
	servers *provisioning.ServerAdmin
	metrics *httpMetrics

	resolver   *tenantResolver
	cors       *corsPolicy
	conns      TenantConns
	tenantAuth *tenantdb.Auth

	events  *central.Events
	tickets *central.Tickets
	streams *Streams

	spec []byte // the OpenAPI document, built from the routes
}

// TenantConns leases a tenant's pooled database connection.
type TenantConns interface {
	Lease(ctx context.Context, t *central.Tenant) (*tenantdb.Lease, error)
	// Forget closes t's pool, once its leases are released.
	Forget(t *central.Tenant)
}

func parseCIDRs(cidrs []string) []*net.IPNet {
	var out []*net.IPNet
	for _, c := range cidrs {
		if _, n, err := net.ParseCIDR(c); err == nil {
			out = append(out, n)
		}
	}
	return out
}
