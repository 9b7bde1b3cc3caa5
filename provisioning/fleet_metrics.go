package provisioning

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// FleetMetrics are a fleet run's Prometheus metrics: tenants by outcome
// (migrated, failed, skipped, ...), each migrated or failed tenant's
// duration, and the run's own duration and end time. The CLI writes them in
// the text format for node_exporter's textfile collector (or a push
// gateway), since a fleet run is a batch job that ends before a scrape.
type FleetMetrics struct {
	tenants  *prometheus.CounterVec
	duration *prometheus.HistogramVec
	run      prometheus.Gauge
	finished prometheus.Gauge
	target   prometheus.Gauge
}

// NewFleetMetrics registers a fleet run's metrics with reg, with a series
// for every outcome on each of servers from the start, so that a rate or an
// alert on failures has a series even before the first failure.
func NewFleetMetrics(reg prometheus.Registerer, servers ...string) *FleetMetrics {
	m := &FleetMetrics{
		tenants: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "silo_fleet_tenants_total",
			Help: "Tenants (and spares) handled by fleet migration runs, by database server and outcome: migrated, up-to-date, failed, skipped, not-run, would-migrate.",
		}, []string{"server", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "silo_fleet_tenant_migration_duration_seconds",
			Help:    "Time to migrate one tenant database (lock, migrations, catalog update), by outcome.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"outcome"}),
		run: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "silo_fleet_run_duration_seconds", Help: "Wall time of the last fleet migration run.",
		}),
		finished: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "silo_fleet_run_finished_timestamp_seconds", Help: "Unix time the last fleet migration run ended.",
		}),
		target: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "silo_fleet_target_version", Help: "Schema version the last fleet migration run aimed at.",
		}),
	}
	for _, server := range servers {
		for _, o := range []string{OutcomeMigrated, OutcomeUpToDate, OutcomeFailed, OutcomeSkipped, OutcomeNotRun, OutcomeWould} {
			m.tenants.WithLabelValues(server, o)
		}
	}
	reg.MustRegister(m.tenants, m.duration, m.run, m.finished, m.target)
	return m
}

// Observe counts one tenant's result; use it as (or in) MigrateFleet's
// progress callback.
func (m *FleetMetrics) Observe(r TenantResult) {
	m.tenants.WithLabelValues(r.Server, r.Outcome).Inc()
	if r.Outcome == OutcomeMigrated || r.Outcome == OutcomeFailed {
		m.duration.WithLabelValues(r.Outcome).Observe(r.Duration.Seconds())
	}
}

// Finish records the run's totals.
func (m *FleetMetrics) Finish(r *FleetReport) {
	m.run.Set(r.Duration.Seconds())
	m.finished.Set(float64(time.Now().Unix()))
	m.target.Set(float64(r.Target))
}
