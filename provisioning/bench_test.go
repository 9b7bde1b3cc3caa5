package provisioning_test

import (
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/silo-dev/silo/internal/testsupport/testdb"
	"github.com/silo-dev/silo/migrations"
	"github.com/silo-dev/silo/provisioning"
	"github.com/silo-dev/silo/tenantdb"
)

// reportLatencies adds p50 and p95 (milliseconds) of lat to b's results.
func reportLatencies(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[(len(lat)*95+99)/100-1]), "p95-ms")
}

// BenchmarkCreateTenant measures tenant creation (no first admin, whose
// bcrypt hash would dominate) one at a time: from the spare pool and by
// full provisioning. Run with -benchtime=50x for 50 creates.
func BenchmarkCreateTenant(b *testing.B) {
	for _, mode := range []string{"spare", "direct"} {
		b.Run(mode, func(b *testing.B) {
			pool := 0
			if mode == "spare" {
				pool = b.N
			}
			e := newEnv(b, withSpares(pool))
			if _, err := e.prov.RefillSpares(bg); err != nil {
				b.Fatal(err)
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				if _, err := e.prov.Create(bg, provisioning.NewTenant{Slug: fmt.Sprintf("bench-%d", i), Name: "Bench"}); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			reportLatencies(b, lat)
		})
	}
}

// BenchmarkCreateTenantParallel measures sustained creation without the
// spare pool with 4 concurrent workers, in tenants per second.
func BenchmarkCreateTenantParallel(b *testing.B) {
	e := newEnv(b, func(o *provisioning.Options) { o.Concurrency = 4 })
	var n atomic.Int64
	b.SetParallelism(2) // 4 workers on this 2-core machine
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.prov.Create(bg, provisioning.NewTenant{Slug: fmt.Sprintf("par-%d", n.Add(1)), Name: "P"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "tenants/s")
}

// BenchmarkRefillSpares measures how fast the pool refills, in spares per second.
func BenchmarkRefillSpares(b *testing.B) {
	e := newEnv(b, withSpares(b.N))
	start := time.Now()
	b.ResetTimer()
	built, err := e.prov.RefillSpares(bg)
	b.StopTimer()
	if err != nil || built != b.N {
		b.Fatalf("built %d, %v", built, err)
	}
	b.ReportMetric(float64(built)/time.Since(start).Seconds(), "spares/s")
}

// BenchmarkRawSQLBaseline does the same server work as a direct creation
// (database, DB user, grant, the tenant schema's statements) with plain SQL
// and no catalog, goose or locks, with 4 workers: the ceiling the
// provisioner is compared with.
func BenchmarkRawSQLBaseline(b *testing.B) {
	e := newEnv(b)
	schema, err := fs.ReadFile(migrations.Tenant(), "00001_initial_schema.sql")
	if err != nil {
		b.Fatal(err)
	}
	up := strings.Split(strings.Split(string(schema), "-- +goose Down")[0], "-- +goose Up")[1]
	var stmts []string
	for _, s := range strings.Split(up, ";") {
		if strings.TrimSpace(s) != "" {
			stmts = append(stmts, s)
		}
	}
	server := testdb.Server(b)
	defer server.Close()
	var n atomic.Int64
	b.SetParallelism(2)
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		conn, err := server.Conn(bg)
		if err != nil {
			b.Error(err)
			return
		}
		defer conn.Close()
		for pb.Next() {
			i := n.Add(1)
			db, user := fmt.Sprintf("%sraw_%d", e.prefix, i), fmt.Sprintf("%sr%d", e.prefix, i)
			run := []string{
				"CREATE DATABASE `" + db + "`",
				"CREATE USER '" + user + "'@'%' IDENTIFIED BY 'pw-pw-pw-pw-pw'",
				"GRANT " + tenantdb.TenantPrivileges + " ON " + tenantdb.GrantTarget(db) + " TO '" + user + "'@'%'",
				"USE `" + db + "`",
			}
			for _, q := range append(run, stmts...) {
				if _, err := conn.ExecContext(bg, q); err != nil {
					b.Error(err)
					return
				}
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "tenants/s")
}
