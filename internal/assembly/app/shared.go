package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"

	"github.com/go-sql-driver/mysql"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/config"
	"github.com/silo-dev/silo/tenantdb"
)

// sharedOpener opens a server's connections of the shared connection mode
// (SILO_TENANT_CONN_MODE=shared). The server's shared login
// (tenantdb.SharedLoginName) has a password derived from the master key,
// which every instance holds: each instance sets the same one on each
// server, and none is stored.
func (a *App) sharedOpener(cfg *config.Config) func(ctx context.Context, rec *central.Server, admin *mysql.Config, capacity int) (*tenantdb.SharedConns, error) {
	login := tenantdb.SharedLoginName(cfg.TenantDBPrefix)
	password := sharedPassword(cfg.MasterKey, login)
	return func(ctx context.Context, rec *central.Server, admin *mysql.Config, capacity int) (*tenantdb.SharedConns, error) {
		srv, err := a.servers.Get(ctx, rec.Name)
		if err != nil {
			return nil, err
		}
		if err := srv.EnsureSharedLogin(ctx, login, password); err != nil {
			return nil, fmt.Errorf("shared tenant login %s on server %s: %w", login, rec.Name, err)
		}
		dsn := tenantdb.TenantConfig(admin, "", login, password)
		// As the tenant pools' (see provisioning.NewConnections): a COMMIT to a
		// server that stopped answering holds a request no longer than this.
		dsn.ReadTimeout, dsn.WriteTimeout = cfg.RequestTimeout, cfg.RequestTimeout
		return tenantdb.NewSharedConns(dsn, tenantdb.SharedOptions{MaxConns: capacity, AcquireTimeout: cfg.RequestTimeout})
	}
}

// sharedPassword derives the shared login's password from the master key.
func sharedPassword(masterKey []byte, login string) string {
	m := hmac.New(sha256.New, masterKey)
	m.Write([]byte("silo tenant shared login\x00" + login))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
