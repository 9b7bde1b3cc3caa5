//go:build chaos

package chaos

import (
	"fmt"
	"testing"
	"time"

	"github.com/silo-dev/silo/internal/testsupport/testdb"
	"github.com/silo-dev/silo/internal/testsupport/testsilo"
)

// TestChaosStatementUnanswered sends the tenant databases' traffic through
// a proxy that holds back one statement of a registration for five times
// the request timeout, as a database that stops answering mid-request
// would. Whatever the statement, the request must be answered 503 within
// the request timeout (plus a second): a registration's INSERT, and its
// COMMIT.
func TestChaosStatementUnanswered(t *testing.T) {
	const timeout = 2 * time.Second
	m := testdb.StartMariaDB(t)
	px := startProxy(t, fmt.Sprintf("127.0.0.1:%d", m.Port()))
	env := siloEnv(t, m, map[string]string{
		"SILO_TENANT_ADMIN_DSN": "root@tcp(" + px.addr() + ")/",
		"SILO_REQUEST_TIMEOUT":  timeout.String(),
		"SILO_SPARE_POOL_SIZE":  "0",
	})
	silo := startSilo(t, "unanswered", env)
	c := newClient(silo.url, time.Minute, 4)
	central := c.Bootstrap(t, testsilo.Superadmin)
	c.CreateTenant(t, central, testsilo.TenantOf("stmt-00"))
	server := openServer(t, m, centralDB)
	database := catalog(t, server)["stmt-00"].database

	for i, statement := range []string{"INSERT INTO users", "COMMIT"} {
		t.Run(statement, func(t *testing.T) {
			email := fmt.Sprintf("held-%d@stmt-00.test", i)
			held := px.holdNext(statement, 5*timeout)
			a := c.do("POST", "/api/auth/register", "stmt-00", "", map[string]string{
				"email": email, "password": password, "firstName": "Held", "lastName": "Back"})
			select {
			case q := <-held:
				t.Logf("held back %q for %v", q, 5*timeout)
			default:
				t.Fatalf("the registration sent no statement starting with %q; it answered %s", statement, a)
			}
			// Let the held statement through before judging, so that the
			// database state below is final.
			time.Sleep(time.Until(a.start.Add(5*timeout + time.Second)))
			stored := users(t, server, database)[email]
			t.Logf("registration with its %s unanswered: %s; user stored: %v", statement, a, stored)
			if a.latency() > timeout+time.Second {
				t.Errorf("answered after %v, past the %v request timeout: %s", a.latency().Round(time.Millisecond), timeout, a)
			}
			if a.err != nil || a.Status != 503 {
				t.Errorf("want 503 DATABASE_UNAVAILABLE or TIMEOUT, got %s", a)
			}
			if a.ok() && !stored {
				t.Errorf("answered %d but the user is not stored", a.Status)
			}
		})
	}
	// Silo serves normally afterwards.
	must(t, "register after the faults", c.do("POST", "/api/auth/register", "stmt-00", "", map[string]string{
		"email": "after@stmt-00.test", "password": password, "firstName": "Af", "lastName": "Ter"}), 201)
}
