package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"

	"github.com/silo-dev/silo/config"
	"github.com/silo-dev/silo/tenantdb"
)

// openShared returns the connections of the shared connection mode
// (SILO_TENANT_CONN_MODE=shared; nil in the per-tenant mode). The tenant
// server's shared login (tenantdb.SharedLoginName) has a password derived
// from the master key, which every instance holds: each instance that
// may write (create) sets the same one, and none is stored.
func openShared(ctx context.Context, cfg *config.Config, server *tenantdb.Server, create bool) (*tenantdb.SharedConns, error) {
	if cfg.TenantConnMode != config.ConnShared {
		return nil, nil
	}
	login := tenantdb.SharedLoginName(cfg.TenantDBPrefix)
	password := sharedPassword(cfg.MasterKey, login)
	if create {
		if err := server.EnsureSharedLogin(ctx, login, password); err != nil {
			return nil, fmt.Errorf("shared tenant login %s: %w", login, err)
		}
	}
	dsn := server.SharedLoginConfig(login, password)
	// As the tenant pools' (see provisioning.NewConnections): a COMMIT to a
	// server that stopped answering holds a request no longer than this.
	dsn.ReadTimeout, dsn.WriteTimeout = cfg.RequestTimeout, cfg.RequestTimeout
	return tenantdb.NewSharedConns(dsn, tenantdb.SharedOptions{
		MaxConns: cfg.TenantConnsMax, AcquireTimeout: cfg.RequestTimeout,
	})
}

// sharedPassword derives the shared login's password from the master key.
func sharedPassword(masterKey []byte, login string) string {
	m := hmac.New(sha256.New, masterKey)
	m.Write([]byte("silo tenant shared login\x00" + login))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// poolStats are the tenant connections' figures for metrics: the pool
// manager's, or in the shared mode the shared connections'.
func (a *App) poolStats() tenantdb.PoolStats {
	if a.Shared == nil {
		return a.Pools.Stats()
	}
	s := a.Shared.Stats()
	return tenantdb.PoolStats{OpenConns: s.OpenConns, InUse: s.OpenConns - s.Idle, Waits: s.Waits}
}
