//go:build chaos

package chaos

import (
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/silo-dev/silo/internal/testsupport/testdb"
	"github.com/silo-dev/silo/internal/testsupport/testsilo"
)

const (
	killTenants = 20
	killRounds  = 2
)

// TestChaosKillDuringProvisioning creates 20 tenants at once through the
// API of the silo binary (no spare pool, so each is a real provisioning:
// database, DB user, grants, migrations, first admin) and SIGKILLs the
// process while they are being provisioned; then starts it again, creates
// the tenants the dead process never recorded, and SIGKILLs it again mid-way
// (while it may still be resuming the first round's); then starts it a
// last time. Nothing may be left half-made:
//
//   - right after each kill, before any repair, "silo tenant repair
//     --check" finds no orphan database or DB user (nothing is created
//     unrecorded);
//   - every tenant a dead process left `provisioning` is made active by the
//     next silo serve on its own (it resumes them at start);
//   - every create answered 201 is active;
//   - every tenant ends active (directly, after POST …/provision, or, never
//     recorded, created again) and its first admin can log in;
//   - "silo tenant repair --check" is clean at the end.
func TestChaosKillDuringProvisioning(t *testing.T) {
	testStart := time.Now()
	m := testdb.StartMariaDB(t)
	env := siloEnv(t, m, map[string]string{"SILO_SPARE_POOL_SIZE": "0"})
	server := openServer(t, m, centralDB)
	slugs := make([]string, killTenants)
	for i := range slugs {
		slugs[i] = fmt.Sprintf("kill-%02d", i)
	}

	var (
		central string              // a superadmin's token, valid across restarts
		acked   = map[string]bool{} // creates answered 201
		stuck   map[string]bool     // left provisioning by the last kill
		timings []string
	)
	for round := 1; round <= killRounds+1; round++ {
		p := startSilo(t, fmt.Sprintf("round-%d", round), env)
		start := time.Now()
		c := newClient(p.url, 2*time.Minute, killTenants+4)
		if round == 1 {
			central = c.Bootstrap(t, testsilo.Superadmin)
		}
		if round > killRounds {
			took := waitResumed(t, server, stuck)
			timings = append(timings, fmt.Sprintf("last start: from listening to the %d tenants the last kill left provisioning active: %v",
				len(stuck), took.Round(time.Millisecond)))
			finish(t, c, central, server, slugs, acked)
			break
		}
		// In later rounds this process resumes what the last kill left
		// behind while it serves the new creates, and may be killed amid.

		// Create every tenant the catalog does not know yet, all at once.
		known := catalog(t, server)
		var pending []string
		for _, s := range slugs {
			if _, ok := known[s]; !ok {
				pending = append(pending, s)
			}
		}
		type result struct {
			slug string
			answer
		}
		results := make(chan result, len(pending))
		sent := time.Now()
		for _, slug := range pending {
			go func() {
				results <- result{slug, c.do("POST", "/api/central/tenants", "", central, testsilo.TenantOf(slug).Body())}
			}()
		}

		// Kill once some of them are done and others half-way: past
		// their first step and before their last.
		want := 2
		if len(pending) < 8 {
			want = 1
		}
		var atKill map[string]catalogRow
		for {
			rows := catalog(t, server)
			active, midway := 0, 0
			for _, s := range pending {
				switch r, ok := rows[s]; {
				case !ok:
				case r.status == "active":
					active++
				case r.status == "provisioning" && r.step != "created":
					midway++
				}
			}
			if active >= want && midway >= want {
				p.kill()
				atKill = rows
				break
			}
			if active == len(pending) || time.Since(sent) > time.Minute {
				t.Fatalf("round %d: found no moment to kill silo: %v after the create requests the catalog holds %s",
					round, time.Since(sent).Round(time.Millisecond), summary(rows))
			}
			time.Sleep(5 * time.Millisecond)
		}
		killedAfter := time.Since(sent)
		dead := catalog(t, server) // with what the server finished for the dead process
		t.Logf("round %d: %d create requests; SIGKILL %v after them; catalog at the kill: %s; once dead: %s",
			round, len(pending), killedAfter.Round(time.Millisecond), summary(atKill), summary(dead))
		if len(stuck) > 0 {
			var states []string
			for s := range stuck {
				states = append(states, s+" "+atKill[s].status+"/"+atKill[s].step)
			}
			sort.Strings(states)
			t.Logf("round %d: at the kill, the tenants the previous kill left provisioning were: %s", round, strings.Join(states, ", "))
		}
		timings = append(timings, fmt.Sprintf("round %d: silo listening to kill %v (kill %v after the create requests)",
			round, time.Since(start).Round(time.Millisecond), killedAfter.Round(time.Millisecond)))

		// Every client gets a 201 or a broken connection.
		var lines []string
		for range pending {
			r := <-results
			switch {
			case r.Status == 201:
				acked[r.slug] = true
				lines = append(lines, r.slug+": 201")
			case r.err != nil:
				lines = append(lines, r.slug+": no answer ("+shortErr(r.err)+")")
			default:
				lines = append(lines, fmt.Sprintf("%s: %s", r.slug, r.answer))
				t.Errorf("round %d: create %s: want 201 or a broken connection, got %s", round, r.slug, r.answer)
			}
		}
		sort.Strings(lines)
		t.Logf("round %d: the create requests as the clients saw them: %s", round, strings.Join(lines, ", "))

		// Nothing is created unrecorded: before any repair, every
		// database and DB user with the prefix is in the catalog.
		if out, err := runSilo(t, env, "tenant", "repair", "--check"); err != nil {
			t.Errorf("round %d: silo tenant repair --check right after the kill: %v\n%s", round, err, out)
		}
		stuck = map[string]bool{}
		for s, r := range dead {
			if r.status == "provisioning" {
				stuck[s] = true
			}
		}
	}

	// No orphan database or DB user, no missing one.
	out, err := runSilo(t, env, "tenant", "repair", "--check")
	if err != nil {
		t.Errorf("silo tenant repair --check at the end: %v\n%s", err, out)
	} else {
		t.Logf("silo tenant repair --check at the end: %s", strings.TrimSpace(out))
	}
	timings = append(timings, fmt.Sprintf("whole test %v", time.Since(testStart).Round(time.Millisecond)))
	t.Logf("timings:\n  %s", strings.Join(timings, "\n  "))
}

// waitResumed waits until no tenant is provisioning (a freshly started silo
// serve resumes them) and checks that each of stuck became active on its
// own. It returns how long that took.
func waitResumed(t *testing.T, server *sql.DB, stuck map[string]bool) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		rows := catalog(t, server)
		left := 0
		for s := range stuck {
			if rows[s].status == "provisioning" {
				left++
			}
		}
		if left == 0 {
			for s := range stuck {
				if r := rows[s]; r.status != "active" {
					t.Errorf("%s was left provisioning by the kill; after the restart it is %s/%s, not active", s, r.status, r.step)
				}
			}
			return time.Since(start)
		}
		if time.Since(start) > time.Minute {
			t.Errorf("a minute after the restart %d of the %d tenants the kill left provisioning still are: %s", left, len(stuck), summary(rows))
			return time.Since(start)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// finish makes every tenant active (creating again those never recorded,
// provisioning those failed) and logs each first admin in.
func finish(t *testing.T, c *client, central string, server *sql.DB, slugs []string, acked map[string]bool) {
	t.Helper()
	rows := catalog(t, server)
	for slug := range acked {
		if r := rows[slug]; r.status != "active" {
			t.Errorf("%s was answered 201 before a kill, but after the restart it is %s/%s", slug, r.status, r.step)
		}
	}
	var (
		mu    sync.Mutex
		how   []string
		stale []string
	)
	parallel(t, 4, slugs, func(slug string) error {
		r, known := rows[slug]
		var path string
		switch {
		case !known:
			if a := c.do("POST", "/api/central/tenants", "", central, testsilo.TenantOf(slug).Body()); a.Status != 201 {
				return fmt.Errorf("%s was never recorded, and creating it again answers %s", slug, a)
			}
			path = "created again"
		case r.status == "active":
			path = "active"
		default:
			a := c.do("POST", "/api/central/tenants/"+slug+"/provision", "", central, nil)
			if a.Status != 200 || a.str("tenant", "status") != "active" {
				return fmt.Errorf("%s is %s/%s; POST /provision answers %s", slug, r.status, r.step, a)
			}
			path = "active after POST /provision (was " + r.status + "/" + r.step + ")"
		}
		// Its first admin exists: the admin step ran. The tenant is usable
		// at once on the instance that answered 201 (central/cache.go:
		// the cache "reloads … at once after a change made through this
		// instance's Catalog").
		login := map[string]string{"email": testsilo.TenantOf(slug).AdminEmail, "password": password}
		a := c.do("POST", "/api/auth/login", slug, "", login)
		if a.Status != 200 {
			if a.Code() == "TENANT_NOT_FOUND" || a.Code() == "TENANT_UNAVAILABLE" {
				mu.Lock()
				stale = append(stale, fmt.Sprintf("%s (%s): %s", slug, path, a))
				mu.Unlock()
				time.Sleep(1500 * time.Millisecond)
				a = c.do("POST", "/api/auth/login", slug, "", login)
			}
			if a.Status != 200 {
				return fmt.Errorf("%s (%s): its admin's login answers %s", slug, path, a)
			}
		}
		mu.Lock()
		how = append(how, slug+": "+path)
		mu.Unlock()
		return nil
	})
	sort.Strings(how)
	t.Logf("every tenant active, its admin logging in: %s", strings.Join(how, ", "))
	if len(stale) > 0 {
		t.Errorf("read-your-writes: right after its creation was answered (201, or 200 from /provision), the same silo "+
			"answered the tenant's first login with an old catalog snapshot (it succeeds 1.5 s later); "+
			"see the report on TenantCache.current in central/cache.go:\n  %s", strings.Join(stale, "\n  "))
	}
	if rows := catalog(t, server); len(rows) != len(slugs) || summary(rows) != fmt.Sprintf("active/done=%d", len(slugs)) {
		t.Errorf("catalog at the end: %d tenants, %s", len(rows), summary(rows))
	}
}

func shortErr(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	return s
}
