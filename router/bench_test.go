package router_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"sort"
	"testing"
	"time"
)

// BenchmarkCentralLogin measures one central-admin login over HTTP at the
// production bcrypt cost (12) and reports its median latency.
func BenchmarkCentralLogin(b *testing.B) {
	s := newServer(b, func(o *serverOptions) { o.bcryptCost = 12; o.perIP = 1 << 30; o.perEmail = 1 << 30 })
	s.AdminToken()
	body, _ := json.Marshal(map[string]string{"email": "root@example.com", "password": password})
	client := &http.Client{}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		res, err := client.Post(s.URL+"/api/central/auth/login", "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			b.Fatalf("status %d", res.StatusCode)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
}

// BenchmarkCentralMe measures GET /api/central/auth/me with 32 concurrent
// clients (16 per GOMAXPROCS on this 2-core machine) and reports requests/s.
func BenchmarkCentralMe(b *testing.B) {
	s := newServer(b)
	tok := s.AdminToken()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}}
	b.SetParallelism(32 / max(1, runtimeProcs()))
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req, _ := http.NewRequest("GET", s.URL+"/api/central/auth/me", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		for pb.Next() {
			res, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				b.Errorf("status %d", res.StatusCode)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
