// Package tenantdb owns what Silo does on the tenant database server and
// inside each tenant's database:
//
//   - Server administers the server through Silo's admin account: creating
//     and dropping a tenant's database and its least-privilege DB user,
//     grants, and running the tenant migration sets of package migrations;
//   - PoolManager keeps one connection pool per tenant, connected as the
//     tenant's own DB user, all pools together bounded to a number of
//     connections; a Lease lends a pool to one request;
//   - Store: the tenant schema of one tenant's database, bound per request
//     to its leased pool by Auth.Store, one file per topic: users and their
//     config (users.go), roles (roles.go; permissions.go holds the
//     permission list and Caller's checks), settings (settings.go), the
//     audit log (audit.go), API keys (apikeys.go), invitations
//     (invitations.go), and sign-up, login, refresh, logout and token and
//     API-key authentication into a Caller (auth.go, with refresh sessions
//     through package refresh). Writes check the caller's permissions and
//     write an audit entry, in the change's transaction where it has one;
//   - Auth: what the stores of every tenant share (token keys, login guard,
//     refresh-token lifetime, log, impersonator check), the only part of
//     the tenant plane not bound to one tenant's database;
//   - a few building blocks that take any query runner or transaction, for
//     the lifecycle and for Silo's tenant-route API: Audit (an entry in the
//     caller's transaction), UserByID, CreateUser, SetPublicSignup,
//     CreateInvitation.
//
// All SQL on the tenant server and in tenant databases is here. It must
// not import another plane (central, provisioning, router) or know HTTP.
// It never reads the central catalog: it is handed the tenant's database,
// and what it needs of the central plane is passed in (ImpersonatorCheck,
// CentralCaller).
package tenantdb
