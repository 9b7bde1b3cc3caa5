// Command silo-load measures Silo's tenant plane under load. It starts a
// Silo instance in-process on a fresh central database, provisions N
// tenants each with a user, logs every user in, then drives
// GET /api/auth/me spread over the tenants from concurrent keep-alive
// clients. In the same run it drives a baseline Gin handler that verifies
// the same kind of JWT and runs the same single-row query on one fixed
// database, and prints requests/s, p50/p99 and the ratio Silo/baseline.
// Everything it creates is dropped at the end (unless -keep).
//
// Other scenarios (-scenario): records (record creates, then reads by id),
// mix (70% me, 15% record create, 10% record list, 5% login; fails on any
// 5xx; reports peak RSS and tenant connections against their bound) and
// flood (a login flood from one client at the shipped login limits while
// another client reads, reporting the 429s and the reader's p99) and
// accept-flood (garbage invitation acceptances from -flood-clients clients
// at the shipped limits while another client logs in: its login p99 alone
// and under the flood, which must stay within 2×), and app: an
// application's route, mounted with silo.WithTenantRoutes over a table of
// its own tenant migration set (silo.WithTenantMigrations), that reads one
// row by primary key, against a plain Gin + sqlx handler verifying the
// same JWT and reading the same row from one database over a pool of the
// same total size (-conns-max).
//
// -servers N spreads the tenants over N database servers: the -server one
// (registered as "default") and N-1 private MariaDB servers the run starts
// and stops (testdb.StartPrivate), registered as s2, s3, ... with room for
// an even share of the tenants each and the tenant connection cap
// -conns-max each; Silo's own placement puts each tenant. It reports each
// server's tenants, peak tenant connections against its cap, and errors.
//
// -dist zipf spreads requests over the tenants with a Zipf law (s = 1.1),
// the usual shape of SaaS traffic; -cpuprofile, -mutexprofile and
// -blockprofile profile the Silo phase; -json appends the result to a
// JSON-lines file, and -table prints such a file as one table (make bench).
//
//	go run ./cmd/silo-load -tenants 100 -clients 32 -duration 15s
//	go run ./cmd/silo-load -scenario app -tenants 10000 -dist zipf -cpuprofile cpu.out
//	go run ./cmd/silo-load -tenants 2000 -conns-max 50
//	go run ./cmd/silo-load -scenario app -tenants 3000 -servers 3 -conns-max 50
//	go run ./cmd/silo-load -scenario records -tenants 100
//	go run ./cmd/silo-load -scenario mix -tenants 500 -clients 200 -duration 60s -bcrypt-cost 10
//	go run ./cmd/silo-load -scenario flood -tenants 2
//	go run ./cmd/silo-load -scenario accept-flood -tenants 2 -bcrypt-cost 10 -duration 10s
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jmoiron/sqlx"
	"golang.org/x/sync/errgroup"

	"github.com/silo-dev/silo/config"
	"github.com/silo-dev/silo/internal/assembly/app"
	"github.com/silo-dev/silo/internal/lib/token"
	"github.com/silo-dev/silo/internal/testsupport/benchenv"
	"github.com/silo-dev/silo/provisioning"
	"github.com/silo-dev/silo/tenantdb"
)

func main() {
	if err := run(); err != nil {
		if errors.Is(err, context.Canceled) {
			err = errors.New("interrupted")
		}
		fmt.Fprintln(os.Stderr, "silo-load:", err)
		os.Exit(1)
	}
}

type options struct {
	tenants, clients, connsMax int
	poolConns                  int
	duration                   time.Duration
	server                     string
	keep                       bool
	scenario                   string
	bcryptCost                 int
	floodAttempts              int
	floodClients               int
	dist                       string // uniform or zipf
	provisionConcurrency       int
	prof                       profiles
	jsonOut                    string
	connMode                   string          // SILO_TENANT_CONN_MODE: per-tenant or shared
	ctx                        context.Context // ends on Ctrl-C: the phase under way stops
	servers                    int             // database servers: -server, and servers-1 private ones
}

func run() error {
	var o options
	flag.IntVar(&o.tenants, "tenants", 100, "tenants to provision")
	flag.IntVar(&o.clients, "clients", 32, "concurrent keep-alive clients")
	flag.IntVar(&o.connsMax, "conns-max", 100, "SILO_TENANT_CONNS_MAX for the Silo under test")
	flag.IntVar(&o.poolConns, "pool-conns", 1, "SILO_TENANT_POOL_CONNS (connections per tenant pool) for the Silo under test")
	flag.StringVar(&o.connMode, "conn-mode", "per-tenant", "SILO_TENANT_CONN_MODE (per-tenant or shared) for the Silo under test")
	flag.IntVar(&o.servers, "servers", 1, "database servers to spread the tenants over: the -server one, registered as default, and N-1 private MariaDB servers this run starts (s2, s3, ...), each with the tenant connection cap -conns-max")
	flag.DurationVar(&o.duration, "duration", 15*time.Second, "how long each side is driven")
	flag.StringVar(&o.server, "server", "root@tcp(127.0.0.1:3306)/", "DSN of the MySQL/MariaDB server to use (an account that may create databases and users)")
	flag.BoolVar(&o.keep, "keep", false, "keep the databases and users it creates")
	flag.StringVar(&o.scenario, "scenario", "me", "me (GET /api/auth/me against a baseline), records (record create, then read), mix (reads, logins and writes), flood (a login flood from one client while another reads), accept-flood (garbage invitation acceptances while another client logs in)")
	flag.IntVar(&o.bcryptCost, "bcrypt-cost", 4, "bcrypt cost of the users' passwords (production: at least 10)")
	flag.IntVar(&o.floodAttempts, "flood-attempts", 1000, "login attempts of the flood scenario")
	flag.IntVar(&o.floodClients, "flood-clients", 200, "parallel clients of the accept-flood scenario")
	flag.StringVar(&o.dist, "dist", "uniform", "how requests spread over the tenants: uniform or zipf (s = 1.1; tenant 0 the hottest)")
	flag.IntVar(&o.provisionConcurrency, "provision-concurrency", 8, "tenants provisioned at once (SILO_PROVISION_CONCURRENCY)")
	flag.StringVar(&o.prof.cpu, "cpuprofile", "", "write a CPU profile of the Silo phase to this file")
	flag.StringVar(&o.prof.mutex, "mutexprofile", "", "write a mutex contention profile of the Silo phase to this file")
	flag.StringVar(&o.prof.block, "blockprofile", "", "write a blocking profile of the Silo phase to this file")
	flag.StringVar(&o.jsonOut, "json", "", "append the result (me, app) as one JSON line to this file")
	table := flag.String("table", "", "print the JSON-lines file written with -json as one table, and exit")
	flag.Parse()
	if *table != "" {
		rows, err := benchenv.ReadRows(*table)
		if err != nil {
			return err
		}
		return benchenv.PrintTable(os.Stdout, rows)
	}
	if err := o.check(); err != nil {
		return err
	}
	// Ctrl-C (or SIGTERM) ends the phase under way; the run then returns,
	// removing what it created. A second one ends the process at once.
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	context.AfterFunc(ctx, func() {
		stopSignals()
		fmt.Fprintln(os.Stderr, "\nsilo-load: interrupted: removing what the run created (again to quit at once)")
	})
	o.ctx = ctx

	// The private servers first: they stop last.
	servers, err := startPrivate(ctx, o.servers)
	if err != nil {
		return err
	}
	defer servers.close()
	bench := benchenv.New(o.server, "ld")
	fmt.Printf("installation: central database %s, tenant databases and DB users %s*\n", bench.CentralDB, bench.Prefix)
	cfg, err := bench.Config(siloSettings(o))
	if err != nil {
		return err
	}
	cfg.BcryptCost = o.bcryptCost // production mode requires 10; the load tool may measure cheaper hashes
	log := slog.New(slog.DiscardHandler)
	ext, err := extensions(o)
	if err != nil {
		return err
	}
	a, err := app.Open(ctx, cfg, log, ext)
	if err != nil {
		bench.Cleanup() // the central database may exist
		return err
	}
	defer a.Close()
	if !o.keep {
		defer bench.Cleanup()
	}
	if err := servers.register(ctx, cfg, bench, o.tenants, o.connsMax); err != nil {
		return err
	}
	// The background work of silo serve: the catalog poll and the
	// authorization epochs without which no caller is served from cache.
	bg, stopBackground := context.WithCancel(ctx)
	var background sync.WaitGroup
	background.Go(func() { a.RunBackground(bg) })
	defer background.Wait()
	defer stopBackground()

	silo, stopSilo := listen(a.Handler)
	defer stopSilo()

	fmt.Printf("provisioning %d tenants over %d database servers... ", o.tenants, o.servers)
	start := time.Now()
	if err := provision(ctx, a.Provisioner, o.tenants, o.provisionConcurrency); err != nil {
		return err
	}
	tokens, err := loginAll(ctx, silo, o.tenants)
	if err != nil {
		return err
	}
	setup := time.Since(start)
	fmt.Printf("%.1fs with the logins (%.0f tenants/s)\n", setup.Seconds(), float64(o.tenants)/setup.Seconds())
	if err := servers.placed(ctx, a.CentralDB(), o.tenants); err != nil {
		return err
	}
	if o.servers > 1 {
		fmt.Printf("tenants per server:")
		for i, n := range servers.names {
			fmt.Printf(" %s %d", n, servers.tenants[i])
		}
		fmt.Println()
	}
	conns := servers
	switch o.scenario {
	case "records":
		return recordsScenario(o, silo, tokens, conns)
	case "mix":
		return mixScenario(o, silo, tokens, conns, a.Pools.Stats)
	case "flood":
		return floodScenario(o, silo, tokens)
	case "accept-flood":
		return acceptFloodScenario(o, silo)
	}

	// The baseline: same JWT verification, same query, one fixed database.
	// Its tenant is the first on the -server one (the one it reads).
	base := servers.firstOn(0)
	first, err := a.Provisioner.Get(ctx, slug(base))
	if err != nil {
		return err
	}
	var c comparison
	if o.scenario == "app" {
		c, err = appComparison(o, silo, base, first.DatabaseName, a.Keys, tokens)
	} else {
		c, err = meComparison(o, silo, base, first.DatabaseName, a.Keys, tokens)
	}
	if err != nil {
		return err
	}
	defer c.stop()

	fmt.Printf("driving %d clients for %s each over %d tenants on %d servers (%s, tenant connection cap %d per server)\n", o.clients, o.duration, o.tenants, o.servers, o.dist, o.connsMax)
	before := a.Pools.Stats()
	resetPeakRSS()
	if err := o.prof.start(); err != nil {
		return err
	}
	meter := newCPUMeter(servers.roots...)
	cpu0 := meter.sample()
	siloRes := drive(o, c.silo, conns)
	cpu1 := meter.sample()
	if err := o.prof.stop(); err != nil {
		return err
	}
	peakRSS := procStatus("VmHWM:")
	after := a.Pools.Stats()
	cpu2 := meter.sample()
	baseRes := drive(o, c.baseline, nil)
	cpu3 := meter.sample()
	if ctx.Err() != nil {
		return ctx.Err()
	}

	fmt.Printf("\n%-9s %10s %9s %9s %8s %s\n", "", "req/s", "p50 ms", "p99 ms", "errors", "max tenant conns (server side)")
	siloRes.print("silo")
	baseRes.print("baseline")
	fmt.Printf("pools: open %d, evictions %d, connection waits %d during the Silo phase; peak tenant connections %d of the cap %d; peak RSS %s\n",
		after.Pools, after.Evictions-before.Evictions, after.Waits-before.Waits, siloRes.maxConns, o.connsMax*o.servers, peakRSS)
	figs := servers.figures(siloRes)
	printServers(figs, siloRes.errors)
	sSelf, sDB := meter.perRequest(cpu0, cpu1, siloRes.total)
	bSelf, bDB := meter.perRequest(cpu2, cpu3, baseRes.total)
	fmt.Printf("CPU per request (µs): silo %.0f in this process + %.0f in the database; baseline %.0f + %.0f\n", sSelf, sDB, bSelf, bDB)
	if o.jsonOut != "" {
		row := report(o, siloRes, baseRes, after.Evictions-before.Evictions, peakRSS, setup, figs)
		if err := benchenv.AppendRow(o.jsonOut, row); err != nil {
			return err
		}
	}
	fmt.Printf("ratio silo/baseline: %.2f\n", siloRes.rps/baseRes.rps)
	return nil
}

func slug(i int) string { return fmt.Sprintf("load-%d", i) }

const password = "load-test-password"

func provision(ctx context.Context, p *provisioning.Provisioner, n, concurrency int) error {
	var g errgroup.Group
	g.SetLimit(concurrency)
	for i := range n {
		g.Go(func() error {
			_, err := p.Create(ctx, provisioning.NewTenant{Slug: slug(i), Name: slug(i), Admin: &provisioning.NewAdmin{
				Email: "user@" + slug(i) + ".test", Password: password, FirstName: "Load", LastName: "User"}})
			// A shared server may refuse connections for a moment (Error
			// 1040, too many connections): resume the failed tenant.
			for try := 1; err != nil && try <= 5 && ctx.Err() == nil; try++ {
				time.Sleep(time.Duration(try) * 200 * time.Millisecond)
				_, err = p.Provision(ctx, slug(i))
			}
			if err != nil {
				return fmt.Errorf("provision %s: %w", slug(i), err)
			}
			return nil
		})
	}
	return g.Wait()
}

// loginAll logs every tenant's user in, 8 at a time, and returns their
// access tokens.
func loginAll(ctx context.Context, base string, n int) ([]string, error) {
	tokens := make([]string, n)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	defer client.CloseIdleConnections()
	var g errgroup.Group
	g.SetLimit(8)
	for i := range tokens {
		g.Go(func() error {
			var err error
			// A 503 (the shared server refusing connections a moment) is retried.
			for try := 0; try < 6; try++ {
				time.Sleep(time.Duration(try) * 200 * time.Millisecond)
				if ctx.Err() != nil {
					return ctx.Err()
				}
				var retry bool
				if tokens[i], retry, err = login(client, base, slug(i)); !retry {
					break
				}
			}
			return err
		})
	}
	return tokens, g.Wait()
}

// comparison is a Silo-vs-baseline scenario: the requests of each side.
type comparison struct {
	silo, baseline func(*gen) *http.Request
	stop           func()
}

// meComparison drives GET /api/auth/me against a baseline GET /me that
// verifies the JWT, then reads the user's row from one fixed database
// (over at most 10 connections), answering the same shape of JSON.
func meComparison(o options, silo string, baseTenant int, database string, keys *token.Keys, tokens []string) (comparison, error) {
	db, err := baselineDB(o.server, database, min(o.connsMax, 10))
	if err != nil {
		return comparison{}, err
	}
	aud := token.TenantAudience(slug(baseTenant))
	e := gin.New()
	e.GET("/me", func(c *gin.Context) {
		raw := strings.TrimPrefix(c.GetHeader("Authorization"), "Bearer ")
		claims, err := keys.Verify(raw, aud)
		if err != nil {
			c.AbortWithStatus(http.StatusUnauthorized)
			return
		}
		u, err := tenantdb.UserByID(c.Request.Context(), db, claims.Subject)
		if err != nil {
			c.AbortWithStatus(http.StatusServiceUnavailable)
			return
		}
		c.JSON(http.StatusOK, gin.H{"user": gin.H{"id": u.ID, "email": u.Email, "firstName": u.FirstName, "lastName": u.LastName}})
	})
	base, stop := listen(e)
	return comparison{
		silo: func(g *gen) *http.Request {
			i := g.tenant()
			return tenantRequest("GET", silo+"/api/auth/me", slug(i), tokens[i], "")
		},
		baseline: func(*gen) *http.Request {
			req, _ := http.NewRequest("GET", base+"/me", nil)
			req.Header.Set("Authorization", "Bearer "+tokens[baseTenant])
			return req
		},
		stop: func() { stop(); db.Close() },
	}, nil
}

// baselineDB opens database on server (the root account) with a pool of
// maxConns connections.
func baselineDB(server, database string, maxConns int) (*sqlx.DB, error) {
	cfg, err := config.ParseDSN(strings.TrimSuffix(server, "/") + "/" + database)
	if err != nil {
		return nil, err
	}
	db, err := tenantdb.Open(context.Background(), cfg)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	return db, nil
}

// login logs the user of tenant slug in and returns the access token;
// retry says whether the failure may pass.
func login(client *http.Client, base, slug string) (tok string, retry bool, err error) {
	body := fmt.Sprintf(`{"email":"user@%s.test","password":%q}`, slug, password)
	req, _ := http.NewRequest("POST", base+"/api/auth/login", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-tenant-id", slug)
	res, err := client.Do(req)
	if err != nil {
		return "", true, err
	}
	defer res.Body.Close()
	var s struct {
		AccessToken string `json:"access_token"`
		Error       struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	err = json.NewDecoder(res.Body).Decode(&s)
	if err != nil || res.StatusCode != 200 {
		return "", res.StatusCode == http.StatusServiceUnavailable, fmt.Errorf("login to %s: status %d %s %v", slug, res.StatusCode, s.Error.Code, err)
	}
	return s.AccessToken, false, nil
}

func listen(h http.Handler) (string, func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }
}

type result struct {
	rps           float64
	p50, p99      time.Duration
	errors, total int64 // errors: no answer or not 2xx
	serverErrors  int64 // 5xx answers
	statuses      map[int]int64
	maxConns      int     // tenant connections on all the servers at once
	serverPeaks   []int   // tenant connections on each server
	serverErrs    []int64 // errors of each server's tenants
}

func (r result) print(name string) {
	conns := "-"
	if r.maxConns >= 0 {
		conns = fmt.Sprint(r.maxConns)
	}
	fmt.Printf("%-9s %10.0f %9.2f %9.2f %8d %s\n", name, r.rps, ms(r.p50), ms(r.p99), r.errors, conns)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// drive runs o.clients keep-alive clients for o.duration, sampling the
// server-side tenant connections of each of servers (when not nil) and
// counting the errors of each server's tenants.
func drive(o options, next func(*gen) *http.Request, servers *dbServers) result {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.clients, MaxConnsPerHost: o.clients}}
	deadline := time.Now().Add(o.duration)
	lats := make([][]time.Duration, o.clients)
	statuses := make([]map[int]int64, o.clients)
	var errs, serverErrs atomic.Int64
	var perServerErrs []atomic.Int64
	if servers != nil {
		perServerErrs = make([]atomic.Int64, len(servers.names))
	}
	stopSampling := make(chan struct{})
	sampled := make(chan peaks)
	go func() { sampled <- samplePeaks(servers, stopSampling) }()
	start := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < o.clients; c++ {
		wg.Go(func() {
			g := o.newGen(uint64(c))
			statuses[c] = map[int]int64{}
			for time.Now().Before(deadline) && o.ctx.Err() == nil {
				req := next(g)
				t0 := time.Now()
				res, err := client.Do(req)
				if err == nil {
					if res.StatusCode >= 500 {
						b, _ := io.ReadAll(io.LimitReader(res.Body, 512))
						fmt.Fprintf(os.Stderr, "%s %s: %d %s\n", req.Method, req.URL.Path, res.StatusCode, b)
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
				if err != nil || res.StatusCode/100 != 2 {
					errs.Add(1)
					if servers != nil {
						if i := servers.serverOf(req); i >= 0 {
							perServerErrs[i].Add(1)
						}
					}
				}
				if err == nil && res.StatusCode >= 500 {
					serverErrs.Add(1)
				}
				if err == nil {
					statuses[c][res.StatusCode]++
				}
				lats[c] = append(lats[c], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stopSampling)
	pk := <-sampled
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	merged := map[int]int64{}
	for _, m := range statuses {
		for k, v := range m {
			merged[k] += v
		}
	}
	perServer := make([]int64, len(perServerErrs))
	for i := range perServerErrs {
		perServer[i] = perServerErrs[i].Load()
	}
	p50, p99 := percentiles(all)
	return result{statuses: merged, rps: float64(len(all)) / elapsed.Seconds(), p50: p50, p99: p99,
		errors: errs.Load(), serverErrors: serverErrs.Load(), total: int64(len(all)), maxConns: pk.total,
		serverPeaks: pk.perServer, serverErrs: perServer}
}

// peaks are the most tenant connections seen at once: on all the servers
// together, and on each.
type peaks struct {
	total     int // -1: not sampled
	perServer []int
}

// samplePeaks samples servers every 50 ms until stop is closed.
func samplePeaks(servers *dbServers, stop <-chan struct{}) peaks {
	pk := peaks{total: -1}
	if servers == nil {
		<-stop
		return pk
	}
	pk.perServer = make([]int, len(servers.roots))
	for {
		select {
		case <-stop:
			return pk
		case <-time.After(50 * time.Millisecond):
			sum := 0
			for i, n := range servers.sample() {
				pk.perServer[i] = max(pk.perServer[i], n)
				sum += n
			}
			pk.total = max(pk.total, sum)
		}
	}
}

// percentiles sorts lats and returns their median and 99th percentile.
func percentiles(lats []time.Duration) (p50, p99 time.Duration) {
	if len(lats) == 0 {
		return 0, 0
	}
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	pct := func(p float64) time.Duration { return lats[int(math.Ceil(p*float64(len(lats))))-1] }
	return pct(0.5), pct(0.99)
}
