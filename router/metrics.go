package router

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/tenantdb"
)

// httpMetrics counts requests by route template and status, and times
// them by route template and status class, so the label set stays bounded
// whatever paths clients send.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	logins   *prometheus.CounterVec
	// unavailable counts tenant requests refused because the server
	// refused the tenant's own DB account, by reason (see tenantdb.AccountError).
	unavailable *prometheus.CounterVec
	known       sync.Map // seriesKey → requestSeries
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "silo_http_requests_total", Help: "HTTP requests by method, route and status.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "silo_http_request_duration_seconds", Help: "HTTP request duration by method, route and status class (2xx, 4xx, 5xx, ...).",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route", "status_class"}),
	}
	m.logins = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "silo_logins_total", Help: "Login attempts by plane (central, tenant) and outcome.",
	}, []string{"plane", "outcome"})
	m.unavailable = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "silo_tenant_unavailable_total",
		Help: "Tenant requests answered 503 TENANT_UNAVAILABLE because the server refused the tenant's DB account, by reason.",
	}, []string{"reason"})
	reg.MustRegister(m.requests, m.duration, m.logins, m.unavailable)
	return m
}

// login counts a login attempt by its outcome: success or the error code.
func (m *httpMetrics) login(plane string, err error) {
	outcome := "success"
	if err != nil {
		switch code := apperr.From(err).Code; code {
		case "INVALID_CREDENTIALS", "RATE_LIMITED", "VALIDATION_FAILED", "FORBIDDEN", "DATABASE_UNAVAILABLE":
			outcome = strings.ToLower(code)
		default:
			outcome = "error"
		}
	}
	m.logins.WithLabelValues(plane, outcome).Inc()
}

// registerPoolMetrics exports the tenant connections' figures, labelled
// by database server, and the catalog cache's.
func registerPoolMetrics(reg prometheus.Registerer, pools func() map[string]tenantdb.PoolStats, cache *central.TenantCache) {
	counter := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f)
	}
	reg.MustRegister(
		poolCollector{pools},
		counter("silo_catalog_cache_hits_total", "Tenant lookups answered with a tenant.", func() float64 { h, _ := cache.Stats(); return float64(h) }),
		counter("silo_catalog_cache_misses_total", "Tenant lookups of unknown slugs or domains (answered from memory).", func() float64 { _, m := cache.Stats(); return float64(m) }),
	)
}

// poolSeries are the per-server figures of the tenant connections.
var poolSeries = []struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(tenantdb.PoolStats) float64
}{
	{prometheus.NewDesc("silo_tenant_pools_open", "Open per-tenant connection pools.", []string{"server"}, nil),
		prometheus.GaugeValue, func(s tenantdb.PoolStats) float64 { return float64(s.Pools) }},
	{prometheus.NewDesc("silo_tenant_connections_open", "Open tenant database connections.", []string{"server"}, nil),
		prometheus.GaugeValue, func(s tenantdb.PoolStats) float64 { return float64(s.OpenConns) }},
	{prometheus.NewDesc("silo_tenant_connections_in_use", "Tenant database connections in use.", []string{"server"}, nil),
		prometheus.GaugeValue, func(s tenantdb.PoolStats) float64 { return float64(s.InUse) }},
	{prometheus.NewDesc("silo_tenant_pool_evictions_total", "Tenant pools closed to stay within the bounds.", []string{"server"}, nil),
		prometheus.CounterValue, func(s tenantdb.PoolStats) float64 { return float64(s.Evictions) }},
	{prometheus.NewDesc("silo_tenant_connection_waits_total", "Tenant connection opens that waited for a free slot.", []string{"server"}, nil),
		prometheus.CounterValue, func(s tenantdb.PoolStats) float64 { return float64(s.Waits) }},
}

// poolCollector reports poolSeries for each server this instance holds
// tenant connections to.
type poolCollector struct {
	stats func() map[string]tenantdb.PoolStats
}

func (c poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, s := range poolSeries {
		ch <- s.desc
	}
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	for server, st := range c.stats() {
		for _, s := range poolSeries {
			ch <- prometheus.MustNewConstMetric(s.desc, s.kind, s.value(st), server)
		}
	}
}

func (m *httpMetrics) middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		method := c.Request.Method
		if !knownMethods[method] {
			method = "OTHER"
		}
		s := m.series(method, route, c.Writer.Status())
		s.requests.Inc()
		s.duration.Observe(time.Since(start).Seconds())
		if reason := c.GetString(ctxAccountFailure); reason != "" {
			m.unavailable.WithLabelValues(reason).Inc()
		}
	}
}

// seriesKey names a request's series: method, route template, status.
type seriesKey struct {
	method, route string
	status        int
}

// requestSeries are a seriesKey's counter and histogram.
type requestSeries struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// series returns the request series for a key, from m.known once seen (a
// lock-free read: looking the labels up in the vectors hashes them and
// takes their lock on every request). Keys are bounded like the labels:
// known methods, route templates, status codes.
func (m *httpMetrics) series(method, route string, status int) requestSeries {
	k := seriesKey{method, route, status}
	if s, ok := m.known.Load(k); ok {
		return s.(requestSeries)
	}
	s := requestSeries{
		requests: m.requests.WithLabelValues(method, route, strconv.Itoa(status)),
		duration: m.duration.WithLabelValues(method, route, statusClass(status)),
	}
	m.known.Store(k, s)
	return s
}

// statusClass is a status's class label: "2xx", "4xx", "5xx" and so on.
func statusClass(status int) string {
	if status < 100 || status > 599 {
		return "other"
	}
	return strconv.Itoa(status/100) + "xx"
}

var knownMethods = map[string]bool{
	"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "OPTIONS": true,
}

// registerAuthMetrics exports the figures of the cache of tenant callers.
func registerAuthMetrics(reg prometheus.Registerer, auth *tenantdb.Auth) {
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "silo_auth_cache_hits_total",
			Help: "Tenant callers authenticated from the cache, without reading the tenant database."},
			func() float64 { h, _ := auth.CallerStats(); return float64(h) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "silo_auth_cache_misses_total",
			Help: "Tenant callers read from the tenant database while the cache was in use."},
			func() float64 { _, m := auth.CallerStats(); return float64(m) }),
	)
}

// registerStreamMetrics counts the open event streams.
func registerStreamMetrics(reg prometheus.Registerer, streams *Streams) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "silo_event_streams_open",
		Help: "Event streams (server-sent events) this instance serves."},
		func() float64 { return float64(streams.Open()) }))
}
