// Package provisioning drives a tenant's lifecycle: creating its database
// and least-privilege DB user, migrating it, creating its first admin, and
// suspending, resuming, deleting and purging it. Each provisioning step is
// idempotent and recorded in the catalog, so a failed or interrupted run
// resumes where it stopped and never leaves an orphan. It also keeps a pool
// of spare, fully migrated databases that new tenants claim, and checks the
// server against the catalog. The SQL lives in central (catalog) and
// tenantdb (server and tenant schema); this package only orchestrates.
package provisioning
