package main

import (
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/silo-dev/silo/tenantdb"
)

func tenantRequest(method, url, slug, tok, body string) *http.Request {
	var req *http.Request
	if body == "" {
		req, _ = http.NewRequest(method, url, nil)
	} else {
		req, _ = http.NewRequest(method, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("x-tenant-id", slug)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return req
}

func recordBody(r *mrand.Rand) string {
	return fmt.Sprintf(`{"data":{"title":"note %d","done":%v,"tags":["load","silo"],"n":%d}}`, r.IntN(1e6), r.IntN(2) == 0, r.IntN(1e6))
}

// recordsScenario drives record creation, then reads of the created
// records by id, spread over the tenants.
func recordsScenario(o options, silo string, tokens []string, conns *dbServers) error {
	fmt.Printf("records: %d clients for %s per phase over %d tenants\n", o.clients, o.duration, o.tenants)
	create := drive(o, func(g *gen) *http.Request {
		i, r := g.tenant(), g.r
		return tenantRequest("POST", silo+"/api/collections/load/records", slug(i), tokens[i], recordBody(r))
	}, conns)
	ids := make([][]string, o.tenants)
	for i := range ids {
		res, err := http.DefaultClient.Do(tenantRequest("GET", silo+"/api/collections/load/records?limit=200", slug(i), tokens[i], ""))
		if err != nil {
			return err
		}
		var page struct {
			Records []struct {
				ID string `json:"id"`
			} `json:"records"`
		}
		err = json.NewDecoder(res.Body).Decode(&page)
		res.Body.Close()
		if err != nil {
			return err
		}
		for _, rec := range page.Records {
			ids[i] = append(ids[i], rec.ID)
		}
		if len(ids[i]) == 0 {
			return fmt.Errorf("tenant %s has no records after the create phase", slug(i))
		}
	}
	read := drive(o, func(g *gen) *http.Request {
		i, r := g.tenant(), g.r
		id := ids[i][r.IntN(len(ids[i]))]
		return tenantRequest("GET", silo+"/api/collections/load/records/"+id, slug(i), tokens[i], "")
	}, conns)
	fmt.Printf("\n%-9s %10s %9s %9s %8s %s\n", "", "req/s", "p50 ms", "p99 ms", "errors", "max tenant conns (server side)")
	create.print("create")
	read.print("read")
	return nil
}

// mixScenario drives reads, writes and logins together and reports what
// the mix must show: no 5xx, p99, peak RSS and tenant connections against
// their configured bound.
func mixScenario(o options, silo string, tokens []string, conns *dbServers, pools func() tenantdb.PoolStats) error {
	fmt.Printf("mix: %d clients for %s over %d tenants: 70%% GET /api/auth/me, 15%% record create, 10%% record list, 5%% login\n",
		o.clients, o.duration, o.tenants)
	res := drive(o, func(g *gen) *http.Request {
		i, r := g.tenant(), g.r
		switch p := r.IntN(100); {
		case p < 70:
			return tenantRequest("GET", silo+"/api/auth/me", slug(i), tokens[i], "")
		case p < 85:
			return tenantRequest("POST", silo+"/api/collections/mix/records", slug(i), tokens[i], recordBody(r))
		case p < 95:
			return tenantRequest("GET", silo+"/api/collections/mix/records?limit=10", slug(i), tokens[i], "")
		default:
			return tenantRequest("POST", silo+"/api/auth/login", slug(i), "",
				fmt.Sprintf(`{"email":"user@%s.test","password":%q}`, slug(i), password))
		}
	}, conns)
	fmt.Printf("\n%-9s %10s %9s %9s %8s %s\n", "", "req/s", "p50 ms", "p99 ms", "non-2xx", "max tenant conns (server side)")
	res.print("mix")
	st := pools()
	fmt.Printf("5xx answers: %d of %d; statuses %v\n", res.serverErrors, res.total, res.statuses)
	fmt.Printf("tenant connections: peak %d server side, bound SILO_TENANT_CONNS_MAX=%d per server; pools open %d, evictions %d\n",
		res.maxConns, o.connsMax, st.Pools, st.Evictions)
	printServers(conns.figures(res), res.errors)
	fmt.Printf("memory: peak RSS %s, RSS now %s\n", procStatus("VmHWM:"), procStatus("VmRSS:"))
	if res.serverErrors > 0 {
		return fmt.Errorf("%d answers were 5xx", res.serverErrors)
	}
	return nil
}

// floodScenario sends o.floodAttempts wrong-password logins from one
// client (8 at a time) at one tenant user while another client reads
// GET /api/auth/me, and reports the flood's 429s and the reader's p99.
func floodScenario(o options, silo string, tokens []string) error {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	var mu sync.Mutex
	statuses := map[int]int{}
	done := make(chan struct{})
	var readLats []time.Duration
	readErrs := 0
	var readers sync.WaitGroup
	readers.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			t0 := time.Now()
			res, err := client.Do(tenantRequest("GET", silo+"/api/auth/me", slug(1%o.tenants), tokens[1%o.tenants], ""))
			if err == nil {
				res.Body.Close()
			}
			if err != nil || res.StatusCode != 200 {
				readErrs++
			}
			readLats = append(readLats, time.Since(t0))
		}
	})
	start := time.Now()
	attempts := make(chan int)
	var flood sync.WaitGroup
	for w := 0; w < 8; w++ {
		flood.Go(func() {
			for i := range attempts {
				status := statusOf(client.Do(tenantRequest("POST", silo+"/api/auth/login", slug(0), "",
					fmt.Sprintf(`{"email":"user@%s.test","password":"wrong password %d"}`, slug(0), i))))
				mu.Lock()
				statuses[status]++
				mu.Unlock()
			}
		})
	}
	for i := 0; i < o.floodAttempts; i++ {
		attempts <- i
	}
	close(attempts)
	flood.Wait()
	elapsed := time.Since(start)
	close(done)
	readers.Wait()
	all := append([]time.Duration(nil), readLats...)
	p50, p99 := percentiles(all)
	fmt.Printf("flood: %d login attempts in %s: statuses %v\n", o.floodAttempts, elapsed.Round(time.Millisecond), statuses)
	fmt.Printf("reader meanwhile: %d GET /api/auth/me, p50 %.2f ms, p99 %.2f ms, %d not 200\n", len(all), ms(p50), ms(p99), readErrs)
	if statuses[http.StatusTooManyRequests] == 0 {
		return fmt.Errorf("the flood got no 429")
	}
	return nil
}

// procStatus reads one line of /proc/self/status (VmRSS, VmHWM).
func procStatus(key string) string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// acceptFloodScenario measures one tenant user's login p99 alone and
// while o.floodClients clients send garbage invitation acceptances (a wrong
// token with a password, which once cost a bcrypt each) as fast as they
// are answered. Quiet and flooded phases alternate (floodRounds of each,
// o.duration in all per side) so that other load on the machine weighs on
// both alike. It fails unless the flooded p99 is within 2× the quiet one
// and the flood got no 5xx.
func acceptFloodScenario(o options, silo string) error {
	const floodRounds = 5
	seg := o.duration / floodRounds
	tenant := slug(1 % o.tenants)
	var quiet, flooded []time.Duration
	statuses := map[int]int{}
	loginErrs := 0
	for range floodRounds {
		q, qe := loginLatencies(silo, tenant, seg)
		stop := startAcceptFlood(o, silo, statuses)
		f, fe := loginLatencies(silo, tenant, seg)
		stop()
		quiet, flooded, loginErrs = append(quiet, q...), append(flooded, f...), loginErrs+qe+fe
	}
	_, qp99 := percentiles(quiet)
	_, fp99 := percentiles(flooded)
	ratio := float64(fp99) / float64(max(qp99, time.Microsecond))
	fmt.Printf("accept flood: %d parallel clients, %d rounds, statuses %v\n", o.floodClients, floodRounds, statuses)
	fmt.Printf("other client's login (bcrypt cost %d): quiet p99 %.2f ms (%d logins), under the flood p99 %.2f ms (%d logins), %d not 200; ratio %.2f\n",
		o.bcryptCost, ms(qp99), len(quiet), ms(fp99), len(flooded), loginErrs, ratio)
	if statuses[0] > 0 || statuses[http.StatusInternalServerError] > 0 || statuses[http.StatusServiceUnavailable] > 0 {
		return fmt.Errorf("the flood got transport errors or 5xx: %v", statuses)
	}
	if loginErrs > 0 || ratio > 2 {
		return fmt.Errorf("login p99 under the flood is %.2f× the quiet one (%d failed), want at most 2×", ratio, loginErrs)
	}
	return nil
}

// startAcceptFlood starts o.floodClients clients sending garbage
// acceptances, counting answers in statuses, until the returned stop
// function is called; stop waits for them.
func startAcceptFlood(o options, silo string, statuses map[int]int) (stop func()) {
	done := make(chan struct{})
	var mu sync.Mutex
	var flood sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.floodClients}}
	for w := 0; w < o.floodClients; w++ {
		flood.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				body := fmt.Sprintf(`{"token":"silo_inv_garbage%d_%d","password":"a long enough password","firstName":"Eve","lastName":"Flood"}`, w, i)
				status := statusOf(client.Do(tenantRequest("POST", silo+"/api/invitations/accept", slug(0), "", body)))
				mu.Lock()
				statuses[status]++
				mu.Unlock()
			}
		})
	}
	return func() {
		close(done)
		flood.Wait()
		client.CloseIdleConnections()
	}
}

// loginLatencies logs a tenant's user in, one login at a time, for d, and
// returns the latencies and how many logins did not answer 200.
func loginLatencies(silo, tenant string, d time.Duration) ([]time.Duration, int) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	var lats []time.Duration
	errs := 0
	body := fmt.Sprintf(`{"email":"user@%s.test","password":%q}`, tenant, password)
	for deadline := time.Now().Add(d); time.Now().Before(deadline); {
		t0 := time.Now()
		res, err := client.Do(tenantRequest("POST", silo+"/api/auth/login", tenant, "", body))
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		if err != nil || res.StatusCode != http.StatusOK {
			errs++
		}
		lats = append(lats, time.Since(t0))
	}
	return lats, errs
}

// statusOf is a response's status code, 0 when there was none; it closes
// the body.
func statusOf(res *http.Response, err error) int {
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}
