// Package benchenv sets up and tears down the throw-away Silo installations
// that the load and benchmark commands (cmd/silo-load, cmd/silo-bench-fleet)
// run against: a fresh central database and tenant prefix on a server, and
// the removal of everything with that prefix afterwards.
package benchenv

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"flag"
	"strings"

	"github.com/jmoiron/sqlx"
	"golang.org/x/sync/errgroup"

	"github.com/silo-dev/silo/config"
	"github.com/silo-dev/silo/tenantdb"
)

// Env is one throw-away installation.
type Env struct {
	Server    string // DSN of the server, no database
	Prefix    string // tenant database and DB user prefix
	CentralDB string
}

// New names a fresh installation on server; tag starts the prefix (two letters).
func New(server, tag string) *Env {
	suffix := randomHex(4)
	return &Env{Server: server, Prefix: tag + suffix + "_", CentralDB: "silo_" + tag + "_" + suffix}
}

// Settings are the SILO_* variables of a production configuration for the
// installation with fresh secrets; extra settings override the defaults.
func (e *Env) Settings(extra map[string]string) map[string]string {
	env := map[string]string{
		"SILO_CENTRAL_DSN": strings.TrimSuffix(e.Server, "/") + "/" + e.CentralDB, "SILO_TENANT_DB_PREFIX": e.Prefix,
		"SILO_BCRYPT_COST": "10", "SILO_SPARE_POOL_SIZE": "0", "SILO_ENV": "production",
		"SILO_JWT_SECRET": randomKey(), "SILO_MASTER_KEY": randomKey(),
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// Config loads the configuration of Settings(extra).
func (e *Env) Config(extra map[string]string) (*config.Config, error) {
	env := e.Settings(extra)
	return config.NewLoader(flag.NewFlagSet("silo", flag.ContinueOnError), func(k string) string { return env[k] }).Load()
}

// Open connects to the server with no database selected.
func (e *Env) Open() (*sqlx.DB, error) {
	cfg, err := config.ParseDSN(e.Server)
	if err != nil {
		return nil, err
	}
	cfg.DBName = ""
	return tenantdb.Open(context.Background(), cfg)
}

// Cleanup drops the central database and every database and DB user with the prefix.
func (e *Env) Cleanup() {
	db, err := e.Open()
	if err != nil {
		return
	}
	defer db.Close()
	like := strings.ReplaceAll(e.Prefix, "_", `\_`) + "%"
	var names []string
	_ = db.Select(&names, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE ?", like)
	// Several at a time: a fleet of 10,000 databases takes minutes even so.
	var g errgroup.Group
	g.SetLimit(cleanupConcurrency)
	for _, n := range append(names, e.CentralDB) {
		if config.ValidDatabaseName(n) {
			g.Go(func() error {
				_, _ = db.Exec("DROP DATABASE IF EXISTS `" + n + "`")
				return nil
			})
		}
	}
	_ = g.Wait()
	var users []string
	_ = db.Select(&users, "SELECT User FROM mysql.user WHERE User LIKE ?", like)
	for _, u := range users {
		g.Go(func() error {
			_, _ = db.Exec("DROP USER IF EXISTS ?@'%'", u)
			_, _ = db.Exec("DROP ROLE IF EXISTS `" + u + "`") // the shared connection mode's (MariaDB)
			return nil
		})
	}
	_ = g.Wait()
}

// cleanupConcurrency is how many DROP statements Cleanup sends at once.
const cleanupConcurrency = 4

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func randomKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}
