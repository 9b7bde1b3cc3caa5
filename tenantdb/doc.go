// Package tenantdb owns everything Silo does inside tenant databases: the
// server-level administration that creates and drops a tenant's database
// and its least-privilege DB user, the tenant schema migrations, and the
// tenant-schema stores (users and roles). It knows nothing of HTTP or of
// the central catalog.
package tenantdb
