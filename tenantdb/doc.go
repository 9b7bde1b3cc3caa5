// Package tenantdb owns what Silo does on the tenant database server and
// inside each tenant's database:
//
//   - Server administers the server through Silo's admin account: creating
//     and dropping a tenant's database and its least-privilege DB user,
//     grants, and running the tenant migration sets of package migrations;
//   - PoolManager keeps one connection pool per tenant, connected as the
//     tenant's own DB user, all pools together bounded to a number of
//     connections; a Lease lends a pool to one request;
//   - the tenant schema's data: users and roles, permissions, settings and
//     user config, the audit log, API keys, invitations and refresh
//     sessions (through package refresh);
//   - Auth: tenant users' sign-up, login, refresh and logout, token and
//     API-key authentication into a Caller, and the administration that
//     checks the caller's permissions.
//
// All SQL on the tenant server and in tenant databases is here. It must
// not import another plane (central, provisioning, router) or know HTTP.
// It never reads the central catalog: it is handed the tenant's database,
// and what it needs of the central plane is passed in (ImpersonatorCheck,
// CentralCaller).
package tenantdb
