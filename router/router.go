package router

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/internal/token"
	"github.com/silo-dev/silo/provisioning"
)

// Deps are what the HTTP layer needs from the rest of Silo.
type Deps struct {
	Central        *central.Service
	Tenants        *provisioning.Provisioner
	Audit          *central.Audit
	Keys           *token.Keys // signs impersonation tokens
	Log            *slog.Logger
	RequestTimeout time.Duration
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
	_ = e.SetTrustedProxies(nil)

	e.Use(requestIDs(d.Log), accessLog(), recovery(), newHTTPMetrics(reg).middleware(), limits(d.RequestTimeout), jsonOnly())
	e.NoRoute(func(c *gin.Context) { fail(c, errRouteNotFound) })
	e.NoMethod(func(c *gin.Context) { fail(c, errMethodNotAllowed) })

	h := &handlers{central: d.Central, tenants: d.Tenants, audit: d.Audit, keys: d.Keys}
	routes(e, h, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return e
}

type handlers struct {
	central *central.Service
	tenants *provisioning.Provisioner
	audit   *central.Audit
	keys    *token.Keys
}
