package provisioning

import (
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/internal/lib/secretbox"
	"github.com/silo-dev/silo/tenantdb"
)

// Connections leases tenants' pooled database connections, connecting as
// each tenant's own DB user; the password is decrypted only when a pool
// opens.
type Connections struct {
	pools     *tenantdb.PoolManager
	box       *secretbox.Box
	server    *tenantdb.Server
	ioTimeout time.Duration
	shared    *tenantdb.SharedConns // the shared connection mode, when on
}

// NewConnections returns Connections over pools.
//
// ioTimeout, when not 0, bounds each read and write on a tenant connection:
// a request's context cancels its queries, but database/sql's Commit takes
// no context, so without this a COMMIT to a server that stopped answering
// would hold the request for the driver's default (30 s).
func NewConnections(pools *tenantdb.PoolManager, box *secretbox.Box, server *tenantdb.Server, ioTimeout time.Duration) *Connections {
	return &Connections{pools: pools, box: box, server: server, ioTimeout: ioTimeout}
}

// UseShared switches c to the shared connection mode: every lease is a
// connection of shared switched to the tenant's role (tenantdb.RoleFor its
// DB user) and database.
func (c *Connections) UseShared(shared *tenantdb.SharedConns) *Connections {
	c.shared = shared
	return c
}

func poolKey(t *central.Tenant) string { return t.ID + "/" + t.DBUser }

// Forget closes t's pool (once its leases are released), so that the next
// request connects afresh: after its DB account was repaired.
func (c *Connections) Forget(t *central.Tenant) { c.pools.Forget(poolKey(t)) }

// Lease borrows t's pool for one request; release the lease when done.
func (c *Connections) Lease(t *central.Tenant) (*tenantdb.Lease, error) {
	if c.shared != nil {
		role, err := tenantdb.RoleFor(t.DBUser)
		if err != nil {
			return nil, apperr.Wrap(apperr.Internal, "INTERNAL", "Internal server error", err)
		}
		return c.shared.Lease(role, t.DatabaseName)
	}
	return c.pools.Acquire(tenantdb.Credentials{
		Key: poolKey(t),
		Open: func() (*mysql.Config, error) {
			pw, err := c.box.Open(t.DBPasswordEnc, []byte(t.DBUser))
			if err != nil {
				return nil, apperr.Wrap(apperr.Internal, "INTERNAL", "Internal server error", err)
			}
			cfg := c.server.TenantConfig(t.DatabaseName, t.DBUser, string(pw))
			if c.ioTimeout > 0 {
				cfg.ReadTimeout, cfg.WriteTimeout = c.ioTimeout, c.ioTimeout
			}
			return cfg, nil
		},
	})
}
