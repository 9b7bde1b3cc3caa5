package main

import (
	"fmt"
	mrand "math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/silo-dev/silo/internal/testsupport/benchenv"
)

func (o options) check() error {
	switch o.scenario {
	case "me", "app", "records", "mix", "flood", "accept-flood":
	default:
		return fmt.Errorf("unknown -scenario %q", o.scenario)
	}
	switch o.dist {
	case "uniform", "zipf":
	default:
		return fmt.Errorf("unknown -dist %q (uniform or zipf)", o.dist)
	}
	if o.tenants < 1 || o.clients < 1 || o.provisionConcurrency < 1 || o.servers < 1 {
		return fmt.Errorf("-tenants, -clients, -provision-concurrency and -servers must be at least 1")
	}
	return nil
}

// siloSettings are the SILO_* settings of the Silo under test.
func siloSettings(o options) map[string]string {
	settings := map[string]string{
		"SILO_PROVISION_CONCURRENCY": fmt.Sprint(o.provisionConcurrency),
		"SILO_TENANT_CONNS_MAX":      fmt.Sprint(o.connsMax), "SILO_TENANT_POOLS_MAX": fmt.Sprint(max(o.tenants, 1)),
		"SILO_TENANT_POOL_CONNS": fmt.Sprint(o.poolConns),
		"SILO_LOGIN_IP_LIMIT":    "100000", "SILO_LOGIN_EMAIL_LIMIT": "100000", "SILO_BASE_DOMAIN": "silo.test",
		"SILO_TENANT_CONN_MODE": o.connMode,
	}
	if o.scenario == "flood" || o.scenario == "accept-flood" {
		// The flood meets the shipped limits.
		delete(settings, "SILO_LOGIN_IP_LIMIT")
		delete(settings, "SILO_LOGIN_EMAIL_LIMIT")
	}
	return settings
}

// gen is one client's source of randomness and of tenants to address.
type gen struct {
	r    *mrand.Rand
	zipf *mrand.Zipf // nil: uniform
	n    int
}

func (o options) newGen(seed uint64) *gen {
	g := &gen{r: mrand.New(mrand.NewPCG(seed, 42)), n: o.tenants}
	if o.dist == "zipf" {
		g.zipf = mrand.NewZipf(g.r, 1.1, 1, uint64(o.tenants-1))
	}
	return g
}

// tenant picks the tenant of the next request.
func (g *gen) tenant() int {
	if g.zipf != nil {
		return int(g.zipf.Uint64())
	}
	return g.r.IntN(g.n)
}

// report is the result of a Silo-vs-baseline scenario as make bench
// collects it.
func report(o options, silo, base result, evictions int64, peakRSS string, setup time.Duration, servers []benchenv.ServerFigures) benchenv.Row {
	if len(servers) < 2 {
		servers = nil // one server: the row's own figures
	}
	return benchenv.Row{Servers: servers,
		Scenario: o.scenario, Tenants: o.tenants, Dist: o.dist, Cap: o.connsMax, Clients: o.clients, ConnMode: o.connMode,
		Unit: "req/s", Silo: silo.rps, Baseline: base.rps, Ratio: silo.rps / base.rps,
		P50ms: ms(silo.p50), P99ms: ms(silo.p99), Errors: silo.errors, BaseErrs: base.errors, PeakConns: silo.maxConns,
		Evictions: evictions, RSSMB: kBToMB(peakRSS), SetupS: setup.Seconds(),
	}
}

// kBToMB turns a /proc status figure ("123456 kB") into megabytes.
func kBToMB(v string) float64 {
	kb, err := strconv.ParseFloat(strings.TrimSuffix(v, " kB"), 64)
	if err != nil {
		return 0
	}
	return kb / 1024
}

// resetPeakRSS starts VmHWM afresh (Linux: clear_refs 5), so that the peak
// covers the phase measured, not provisioning.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }
