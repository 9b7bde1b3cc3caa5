package router_test

import (
	"bytes"
	"context"
	"database/sql/driver"
	"encoding/base64"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/config"
	"github.com/silo-dev/silo/internal/assembly/app"
	"github.com/silo-dev/silo/internal/lib/clock"
	"github.com/silo-dev/silo/internal/lib/login"
	"github.com/silo-dev/silo/internal/lib/secretbox"
	"github.com/silo-dev/silo/internal/lib/token"
	"github.com/silo-dev/silo/internal/testsupport/testdb"
	"github.com/silo-dev/silo/internal/testsupport/testsilo"
	"github.com/silo-dev/silo/provisioning"
	"github.com/silo-dev/silo/router"
	"github.com/silo-dev/silo/tenantdb"
)

const (
	// testSecret is SILO_JWT_SECRET: the base64 of testKey, the HMAC key.
	testSecret = "dGVzdC1zZWNyZXQtdGVzdC1zZWNyZXQtdGVzdC1zZWNyZXQtMDEyMw=="
	testKID    = "test"
	password   = testsilo.Password
)

// server is one Silo instance, assembled by internal/assembly/app as the silo
// binary assembles it, on its own central database and tenant
// database/user name prefix, served over HTTP.
type server struct {
	*testsilo.Env
	t       testing.TB
	handler http.Handler   // what url serves, for in-process requests
	db      *sqlx.DB       // the instance's central pool
	cfg     *mysql.Config  // the central database
	install *config.Config // what the installation's instances share
	keys    *token.Keys
	prov    *provisioning.Provisioner
	tenant  *tenantdb.Server
	box     *secretbox.Box // opens the secrets the installation stores
	prefix  string
	guard   *login.Guard // the instance's login guard (it counts bcrypt runs)
	// queries counts the statements sent to db.
	queries *atomic.Int64
	// callers is the instance's cache of authenticated tenant callers.
	callers *tenantdb.CallerCache
}

type serverOptions struct {
	perIP, perEmail int
	bcryptCost      int
	timeout         time.Duration
	sparePool       int
	// poolsMax and connsMax bound the tenant pools (0: Silo's default).
	poolsMax, connsMax int
	trustedProxies     []string
	// corsOrigins is SILO_CORS_ORIGINS, in the form config.ParseOrigin returns.
	corsOrigins []string
	// background runs the instance's background work (the catalog poller
	// among it) for the server's lifetime, as serve does.
	background bool
	// wrapCentral, when set, wraps the connector of the instance's central
	// connections.
	wrapCentral func(driver.Connector) driver.Connector
	// central, for instances only, adjusts the DSN of the instance's own
	// central connections (their address, their timeouts).
	central func(*mysql.Config)
	// tenantServer, when set, is the DSN of the server that holds the
	// tenant databases (a private server a test may stop).
	tenantServer string
	// accountFailures and signupPerTenant are the Guard's (0: its defaults).
	accountFailures, signupPerTenant int
	// closedSignup provisions tenants with public sign-up off, Silo's own
	// default; most tests sign members up, so it is on unless set.
	closedSignup bool
	// streams bound the event streams (zero: Silo's defaults); clock, when
	// set, is the App's clock.
	streams router.StreamOptions
	clock   clock.Clock
}

func defaultOptions(opts []func(*serverOptions)) serverOptions {
	o := serverOptions{perIP: 10000, perEmail: 10000, signupPerTenant: 100000, bcryptCost: 4, timeout: 10 * time.Second,
		connsMax: 20}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// testKey is the key testSecret encodes, which signs every test token.
var testKey = []byte("test-secret-test-secret-test-secret-0123")

// testMasterKey encrypts the secrets every test installation stores.
var testMasterKey = bytes.Repeat([]byte{7}, 32)

func newServer(t testing.TB, opts ...func(*serverOptions)) *server {
	t.Helper()
	o := defaultOptions(opts)
	install := testdb.Config(t, map[string]string{
		"SILO_TENANT_ADMIN_DSN": o.tenantServer, "SILO_BASE_DOMAIN": "silo.test", "SILO_REFRESH_TOKEN_TTL": "24h",
		"SILO_JWT_SECRET": testSecret, "SILO_JWT_KID": testKID, "SILO_MASTER_KEY": base64.StdEncoding.EncodeToString(testMasterKey),
	})
	return start(t, install, o)
}

// instance starts another Silo instance of s's installation, with central
// connections of its own (closing db cuts this instance alone off the
// central database).
func (s *server) instance(t testing.TB, opts ...func(*serverOptions)) *server {
	t.Helper()
	return start(t, s.install, defaultOptions(opts))
}

// start assembles an instance of install with o and serves it.
func start(t testing.TB, install *config.Config, o serverOptions) *server {
	t.Helper()
	cfg := *install
	cfg.CentralDSN = install.CentralDSN.Clone()
	if o.central != nil {
		o.central(cfg.CentralDSN)
	}
	cfg.BcryptCost, cfg.RequestTimeout, cfg.SparePoolSize = o.bcryptCost, o.timeout, o.sparePool
	cfg.LoginPerIPPerMinute, cfg.LoginPerEmailPerMinute = o.perIP, o.perEmail
	cfg.SignupPerTenantPerMinute, cfg.DefaultPublicSignup = o.signupPerTenant, !o.closedSignup
	if o.poolsMax > 0 {
		cfg.TenantPoolsMax = o.poolsMax
	}
	if o.connsMax > 0 {
		cfg.TenantConnsMax = o.connsMax
	}
	cfg.TrustedProxies = o.trustedProxies
	cfg.CORSOrigins = o.corsOrigins
	queries := new(atomic.Int64)
	e := testsilo.StartApp(t, &cfg, slog.New(slog.DiscardHandler), app.Options{
		AccountFailures: o.accountFailures, Streams: o.streams, Clock: o.clock,
		WrapCentral: func(c driver.Connector) driver.Connector {
			if o.wrapCentral != nil {
				c = o.wrapCentral(c)
			}
			return &countingConnector{Connector: c, n: queries}
		},
	}, o.background)
	box, err := secretbox.New(cfg.MasterKey)
	if err != nil {
		t.Fatal(err)
	}
	a := e.App
	return &server{Env: e, t: t, handler: a.Handler, db: a.CentralDB(), cfg: install.CentralDSN, install: install,
		keys: a.Keys, prov: a.Provisioner, tenant: a.TenantServer(), box: box, prefix: cfg.TenantDBPrefix, guard: a.Guard,
		queries: queries, callers: a.Callers}
}

// countingConnector counts the statements its connections run.
type countingConnector struct {
	driver.Connector
	n *atomic.Int64
}

func (c *countingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: conn, n: c.n}, nil
}

type countingConn struct {
	driver.Conn
	n *atomic.Int64
}

func (c *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	c.n.Add(1)
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *countingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	c.n.Add(1)
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

func (c *countingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	c.n.Add(1)
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
}

func (c *countingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	c.n.Add(1)
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
}

func (c *countingConn) Ping(ctx context.Context) error { return c.Conn.(driver.Pinger).Ping(ctx) }

func (c *countingConn) ResetSession(ctx context.Context) error {
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c *countingConn) IsValid() bool { return c.Conn.(driver.Validator).IsValid() }

func (c *countingConn) CheckNamedValue(nv *driver.NamedValue) error {
	return c.Conn.(driver.NamedValueChecker).CheckNamedValue(nv)
}

// headerMap is the headers of name, value pairs.
func headerMap(pairs []string) map[string]string {
	h := map[string]string{}
	for i := 0; i+1 < len(pairs); i += 2 {
		h[pairs[i]] = pairs[i+1]
	}
	return h
}

type adminInput struct {
	Email     string `json:"email"`
	Password  string `json:"password"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	Role      string `json:"role,omitempty"`
}

func newAdmin(email, role string) adminInput {
	return adminInput{Email: email, Password: password, FirstName: "Ada", LastName: "Lovelace", Role: role}
}

// rows returns a fingerprint of the central tables, to show nothing changed.
func (s *server) rows() string {
	s.t.Helper()
	var out []string
	for _, q := range []string{
		"SELECT CONCAT_WS('|', id, email, password_hash, first_name, last_name, role, is_active, updated_at) FROM users ORDER BY id",
		"SELECT CONCAT_WS('|', id, family_id, HEX(token_hash), IFNULL(used_at, '-'), IFNULL(revoked_at, '-')) FROM refresh_tokens ORDER BY id",
	} {
		var rs []string
		if err := s.db.Select(&rs, q); err != nil {
			s.t.Fatal(err)
		}
		out = append(out, rs...)
	}
	return strings.Join(out, "\n")
}
