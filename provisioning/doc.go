// Package provisioning drives a tenant's lifecycle: creating its database
// and least-privilege DB user, migrating it, creating its first admin, and
// suspending, resuming, deleting and purging it. Each provisioning step is
// idempotent and recorded in the catalog, so a failed or interrupted run
// resumes where it stopped and never leaves an orphan. A central admin's
// access to a tenant goes through it too (Invite, with the first-admin
// rule; Impersonate, which issues the token), audited in both audit logs. It also keeps a pool
// of spare, fully migrated databases that new tenants claim, migrates the
// whole fleet (MigrateFleet), repairs tenants' DB accounts, checks the
// server against the catalog, and leases a tenant's pooled connection as
// the tenant's own DB user (Connections).
//
// It joins the two data planes: the SQL lives in central (catalog) and
// tenantdb (server and tenant schema); this package only orchestrates and
// writes no SQL. It must not import router or know HTTP; internal/testsupport/layout
// checks both.
package provisioning
