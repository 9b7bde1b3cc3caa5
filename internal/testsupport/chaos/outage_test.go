//go:build chaos

package chaos

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/silo-dev/silo/internal/testsupport/testdb"
	"github.com/silo-dev/silo/internal/testsupport/testsilo"
)

const (
	outageTenants   = 50
	outageWorkers   = 24
	outageLength    = 3 * time.Second
	requestTimeout  = 5 * time.Second // SILO_REQUEST_TIMEOUT
	recoveryAllowed = 5 * time.Second
)

// op is one kind of tenant-plane request the load sends.
type op int

const (
	opMe op = iota
	opLogin
	opRegister
)

func (o op) String() string { return [...]string{"me", "login", "register"}[o] }

// sample is one request of the load and its answer.
type sample struct {
	op     op
	tenant string
	email  string // registrations: the new user's email
	answer
}

// fault is a database fault the outage tests inject: begin starts it, end
// ends it once the database answers again.
type fault struct {
	name       string
	begin, end func()
	length     time.Duration
	// codes are the 503 codes a request may get while the fault lasts.
	codes []string
}

// TestChaosDatabaseOutage runs the silo binary on a private MariaDB server
// holding both the central and the 50 tenant databases, drives concurrent
// tenant logins, registrations and GET /api/auth/me, and stops the server
// for about 3 s. During the outage every answer must be 2xx or 503
// DATABASE_UNAVAILABLE (never a 500, never a dropped connection) within the
// request timeout; within 5 s of the server's return every answer is 2xx
// again, with the same silo process; every registration answered 201 is in
// its tenant's database.
func TestChaosDatabaseOutage(t *testing.T) {
	m := testdb.StartMariaDB(t)
	outage(t, m, fault{name: "stopped", begin: m.Stop, end: m.Start, length: outageLength,
		codes: []string{"DATABASE_UNAVAILABLE"}})
}

// TestChaosDatabaseFreeze is the outage test with a database server that
// hangs rather than refuses: SIGSTOP for twice the request timeout and more
// (connections are accepted by the kernel and never answered, queries sent
// on open connections never return), then SIGCONT. Requests may then also
// end with 503 TIMEOUT, the router's answer to a request past its deadline;
// none may take much longer than the request timeout.
func TestChaosDatabaseFreeze(t *testing.T) {
	m := testdb.StartMariaDB(t)
	pid := mariadbPID(t, m)
	// Never leave a frozen server behind (cleanups run last in, first out:
	// this one before the server's own).
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
	outage(t, m, fault{name: "frozen",
		begin:  func() { freeze(t, pid, syscall.SIGSTOP) },
		end:    func() { freeze(t, pid, syscall.SIGCONT) },
		length: 2*requestTimeout + 2*time.Second,
		codes:  []string{"DATABASE_UNAVAILABLE", "TIMEOUT"}})
}

func outage(t *testing.T, m *testdb.MariaDB, f fault) {
	// The spare pool is left at its default (2): its refills run, and fail,
	// in the background through the outage as they would in production.
	env := siloEnv(t, m, map[string]string{"SILO_REQUEST_TIMEOUT": requestTimeout.String()})
	silo := startSilo(t, f.name, env)
	// A client that waits well past the request timeout, so that a hang
	// shows as a latency above it rather than as a client error.
	c := newClient(silo.url, 3*requestTimeout, outageWorkers+8)
	central := c.Bootstrap(t, testsilo.Superadmin)

	// Provision the tenants, 8 requests at a time.
	slugs := make([]string, outageTenants)
	for i := range slugs {
		slugs[i] = fmt.Sprintf("out-%02d", i)
	}
	start := time.Now()
	parallel(t, 8, slugs, func(slug string) error {
		a := c.do("POST", "/api/central/tenants", "", central, testsilo.TenantOf(slug).Body())
		if a.Status != 201 {
			return fmt.Errorf("create %s: %s", slug, a)
		}
		return nil
	})
	t.Logf("provisioned %d tenants through the API in %v", len(slugs), time.Since(start).Round(time.Millisecond))

	// Every tenant admin logs in once: the tokens that "me" uses.
	tokens := make(map[string]string, len(slugs))
	var tokensMu sync.Mutex
	parallel(t, 8, slugs, func(slug string) error {
		login := map[string]string{"email": testsilo.TenantOf(slug).AdminEmail, "password": password}
		a := c.do("POST", "/api/auth/login", slug, "", login)
		if a.Code() == "TENANT_NOT_FOUND" || a.Code() == "TENANT_UNAVAILABLE" {
			// The catalog cache's stale read right after a creation
			// (asserted by TestChaosKillDuringProvisioning); not this
			// test's subject.
			time.Sleep(1500 * time.Millisecond)
			a = c.do("POST", "/api/auth/login", slug, "", login)
		}
		if a.Status != 200 {
			return fmt.Errorf("login %s: %s", slug, a)
		}
		tokensMu.Lock()
		tokens[slug] = a.str("access_token")
		tokensMu.Unlock()
		return nil
	})

	// The load: workers send me/login/register to random tenants until
	// stopped, pausing 2 ms between requests.
	var (
		mu      sync.Mutex
		samples []sample
		seq     atomic.Int64
	)
	ctx, stopLoad := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range outageWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			for ctx.Err() == nil {
				slug := slugs[rng.IntN(len(slugs))]
				s := sample{op: op(rng.IntN(3)), tenant: slug}
				switch s.op {
				case opMe:
					s.answer = c.do("GET", "/api/auth/me", slug, tokens[slug], nil)
				case opLogin:
					s.answer = c.do("POST", "/api/auth/login", slug, "", map[string]string{"email": testsilo.TenantOf(slug).AdminEmail, "password": password})
				case opRegister:
					s.email = fmt.Sprintf("user-%d@%s.test", seq.Add(1), slug)
					s.answer = c.do("POST", "/api/auth/register", slug, "", map[string]string{
						"email": s.email, "password": password, "firstName": "Reg", "lastName": "Istered"})
				}
				mu.Lock()
				samples = append(samples, s)
				mu.Unlock()
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}

	time.Sleep(2 * time.Second) // the load before the outage
	down := time.Now()
	f.begin()
	begun := time.Now()
	// Requests that need no database keep answering through the outage;
	// the central plane's answer like the tenant plane's.
	var probes sync.Map
	var probing sync.WaitGroup
	for _, path := range []string{"/healthz", "/readyz", "/api/central/auth/me"} {
		probing.Add(1)
		go func() {
			defer probing.Done()
			time.Sleep(500 * time.Millisecond)
			probes.Store(path, c.do("GET", path, "", central, nil))
		}()
	}
	time.Sleep(time.Until(begun.Add(f.length)))
	ending := time.Now()
	f.end()
	up := time.Now()
	time.Sleep(recoveryAllowed + 2*time.Second) // the load after the outage
	stopLoad()
	wg.Wait()
	probing.Wait()
	t.Logf("database server %s: taking it down took %v, down for %v (from the fault's start to answering again), bringing it back took %v",
		f.name, begun.Sub(down).Round(time.Millisecond), up.Sub(down).Round(time.Millisecond), up.Sub(ending).Round(time.Millisecond))

	// Probes during the outage.
	if a, _ := probes.Load("/healthz"); a.(answer).Status != 200 {
		t.Errorf("GET /healthz during the outage: want 200, got %s", a)
	}
	for _, path := range []string{"/readyz", "/api/central/auth/me"} {
		a, _ := probes.Load(path)
		if !f.allowed(a.(answer)) {
			t.Errorf("GET %s during the outage: want 503 %s, got %s", path, strings.Join(f.codes, " or "), a)
		} else if a.(answer).latency() > requestTimeout+time.Second {
			t.Errorf("GET %s during the outage took %v (request timeout %v)", path, a.(answer).latency(), requestTimeout)
		}
	}

	// Judge every answer by when it was asked and answered.
	var (
		before, during, after                          int
		during503, duringOK                            int
		bad                                            []string
		outageLatencies, unavailableLatencies          []time.Duration
		lastFailure, firstSuccess                      time.Duration = -1, -1
		byOpStatus                                                   = map[string]int{}
		acknowledged                                                 = map[string][]string{} // tenant → emails answered 201
		refused                                                      = map[string][]string{} // tenant → emails answered 503
		unanswered                                                   = map[string][]string{} // tenant → emails without an answer
		maxLatencyBefore, maxLatencyAfter, maxDuringOK time.Duration
	)
	flag := func(phase string, s sample) {
		if len(bad) < 30 {
			bad = append(bad, fmt.Sprintf("%s %s %s (started %+v after the outage began): %s",
				phase, s.op, s.tenant, s.start.Sub(down).Round(time.Millisecond), s.answer))
		} else if len(bad) == 30 {
			bad = append(bad, "…")
		}
	}
	unavailable := func(s sample) bool { return f.allowed(s.answer) }
	for _, s := range samples {
		key := s.op.String() + " "
		switch {
		case s.err != nil:
			key += "no answer"
		case s.Code() != "":
			key += fmt.Sprintf("%d %s", s.Status, s.Code())
		default:
			key += fmt.Sprint(s.Status)
		}
		switch {
		case s.end.Before(down):
			byOpStatus["before: "+key]++
		case s.start.Before(up):
			byOpStatus["during: "+key]++
		default:
			byOpStatus["after: "+key]++
		}
		if s.op == opRegister {
			switch {
			case s.ok():
				acknowledged[s.tenant] = append(acknowledged[s.tenant], s.email)
			case unavailable(s):
				refused[s.tenant] = append(refused[s.tenant], s.email)
			case s.err != nil:
				unanswered[s.tenant] = append(unanswered[s.tenant], s.email)
			}
		}
		switch {
		case s.end.Before(down): // answered before the outage
			before++
			maxLatencyBefore = max(maxLatencyBefore, s.latency())
			if !s.ok() {
				flag("before the outage:", s)
			}
		case s.start.Before(up): // in flight at some point of the outage
			during++
			outageLatencies = append(outageLatencies, s.latency())
			switch {
			case s.latency() > requestTimeout+time.Second:
				// A statement left unanswered outlives the request's
				// deadline (see TestChaosStatementUnanswered).
				flag(fmt.Sprintf("during the outage, past the %v request timeout:", requestTimeout), s)
			case s.ok():
				duringOK++
				maxDuringOK = max(maxDuringOK, s.latency())
			case unavailable(s):
				during503++
				unavailableLatencies = append(unavailableLatencies, s.latency())
			default:
				flag("during the outage:", s)
			}
		default: // asked after the server was back
			after++
			maxLatencyAfter = max(maxLatencyAfter, s.latency())
			since := s.start.Sub(up)
			switch {
			case s.latency() > requestTimeout+time.Second:
				lastFailure = max(lastFailure, s.end.Sub(up))
				flag(fmt.Sprintf("after the outage, past the %v request timeout:", requestTimeout), s)
			case s.ok():
				if firstSuccess < 0 || s.end.Sub(up) < firstSuccess {
					firstSuccess = s.end.Sub(up)
				}
			case unavailable(s) && since < recoveryAllowed:
				lastFailure = max(lastFailure, s.end.Sub(up))
			default:
				lastFailure = max(lastFailure, s.end.Sub(up))
				flag("after the outage:", s)
			}
		}
	}
	t.Logf("%d requests: %d answered before the outage, %d in flight during it (%d answered 2xx, %d 503 %s), %d asked after it",
		len(samples), before, during, duringOK, during503, strings.Join(f.codes, "/"), after)
	t.Logf("latency before the outage: max %v", maxLatencyBefore.Round(time.Millisecond))
	t.Logf("OUTAGE (%s) answer latency: 503 %s p50 %v, p99 %v, max %v; every request in flight during the outage: max %v (request timeout %v); 2xx among them: max %v",
		f.name, strings.Join(f.codes, "/"), percentile(unavailableLatencies, 50).Round(time.Microsecond), percentile(unavailableLatencies, 99).Round(time.Microsecond),
		percentile(unavailableLatencies, 100).Round(time.Microsecond), percentile(outageLatencies, 100).Round(time.Microsecond),
		requestTimeout, maxDuringOK.Round(time.Microsecond))
	if lastFailure < 0 {
		t.Logf("RECOVERY: no request asked after the server was back failed; first 2xx answered %v after it", firstSuccess.Round(time.Millisecond))
	} else {
		t.Logf("RECOVERY: last non-2xx answer to a request asked after the server was back came %v after it; first 2xx %v after it",
			lastFailure.Round(time.Millisecond), firstSuccess.Round(time.Millisecond))
	}
	t.Logf("latency after the outage: max %v", maxLatencyAfter.Round(time.Millisecond))
	keys := make([]string, 0, len(byOpStatus))
	for k := range byOpStatus {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var lines []string
	for _, k := range keys {
		lines = append(lines, fmt.Sprintf("  %s: %d", k, byOpStatus[k]))
	}
	t.Logf("answers by phase, operation and status:\n%s", strings.Join(lines, "\n"))

	if len(bad) > 0 {
		t.Errorf("%d wrong answers:\n%s", len(bad), strings.Join(bad, "\n"))
	}
	if before == 0 || during503 == 0 || after == 0 {
		t.Errorf("the load did not cover every phase: %d before, %d answered 503 during, %d after", before, during503, after)
	}
	if lastFailure >= recoveryAllowed {
		t.Errorf("recovery took %v, want under %v", lastFailure, recoveryAllowed)
	}

	// The same process serves normally again: the central plane too.
	must(t, "GET /readyz after the outage", c.do("GET", "/readyz", "", "", nil), 200)
	must(t, "GET /api/central/auth/me after the outage", c.do("GET", "/api/central/auth/me", "", central, nil), 200)
	select {
	case <-silo.done:
		t.Fatalf("silo exited during the test: %v", silo.waitErr)
	default:
	}

	// Every registration answered 201 is in its tenant's database.
	server := openServer(t, m, centralDB)
	rows := catalog(t, server)
	var total, lost, refusedButStored, refusedTotal, unansweredTotal, unansweredButStored int
	for _, slug := range slugs {
		emails := users(t, server, rows[slug].database)
		for _, e := range acknowledged[slug] {
			total++
			if !emails[e] {
				lost++
				t.Errorf("registration of %s in %s was answered 201 but the user is not in %s", e, slug, rows[slug].database)
			}
		}
		for _, e := range refused[slug] {
			refusedTotal++
			if emails[e] {
				refusedButStored++
			}
		}
		for _, e := range unanswered[slug] {
			unansweredTotal++
			if emails[e] {
				unansweredButStored++
			}
		}
	}
	t.Logf("registrations: %d answered 201, %d of them missing afterwards; %d answered 503, %d of those stored anyway; "+
		"%d got no answer, %d of those stored (the client cannot tell; a retry gets 409 USER_EXISTS)",
		total, lost, refusedTotal, refusedButStored, unansweredTotal, unansweredButStored)
}

// users returns the emails of a tenant database's users.
func users(t *testing.T, server *sql.DB, database string) map[string]bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rows, err := server.QueryContext(ctx, "SELECT email FROM `"+database+"`.users")
	if err != nil {
		t.Fatalf("read the users of %s: %v", database, err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			t.Fatal(err)
		}
		out[e] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func (f fault) allowed(a answer) bool {
	if a.err != nil || a.Status != http.StatusServiceUnavailable {
		return false
	}
	for _, c := range f.codes {
		if a.Code() == c {
			return true
		}
	}
	return false
}

// mariadbPID finds the private server's process: a child of this test
// binary running mariadbd on m's port.
func mariadbPID(t *testing.T, m *testdb.MariaDB) int {
	t.Helper()
	port := fmt.Sprintf("--port=%d", m.Port())
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if !strings.HasSuffix(args[0], "mariadbd") || !slices.Contains(args, port) {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(os.Getpid()) {
			return pid
		}
	}
	t.Skipf("cannot find the private mariadbd process on port %d among this test's children", m.Port())
	return 0
}

// freeze sends SIGSTOP or SIGCONT to the private server.
func freeze(t *testing.T, pid int, sig syscall.Signal) {
	t.Helper()
	if err := syscall.Kill(pid, sig); err != nil {
		t.Fatalf("signal %v to mariadbd %d: %v", sig, pid, err)
	}
}
