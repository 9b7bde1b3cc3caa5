package provisioning

import (
	"github.com/go-sql-driver/mysql"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/internal/apperr"
	"github.com/silo-dev/silo/internal/secretbox"
	"github.com/silo-dev/silo/tenantdb"
)

// Connections leases tenants' pooled database connections, connecting as
// each tenant's own DB user; the password is decrypted only when a pool
// opens.
type Connections struct {
	pools  *tenantdb.PoolManager
	box    *secretbox.Box
	server *tenantdb.Server
}

// NewConnections returns Connections over pools.
func NewConnections(pools *tenantdb.PoolManager, box *secretbox.Box, server *tenantdb.Server) *Connections {
	return &Connections{pools: pools, box: box, server: server}
}

// Lease borrows t's pool for one request; release the lease when done.
func (c *Connections) Lease(t *central.Tenant) (*tenantdb.Lease, error) {
	return c.pools.Acquire(tenantdb.Credentials{
		Key: t.ID + "/" + t.DBUser,
		Open: func() (*mysql.Config, error) {
			pw, err := c.box.Open(t.DBPasswordEnc, []byte(t.DBUser))
			if err != nil {
				return nil, apperr.Wrap(apperr.Internal, "INTERNAL", "Internal server error", err)
			}
			return c.server.TenantConfig(t.DatabaseName, t.DBUser, string(pw)), nil
		},
	})
}
