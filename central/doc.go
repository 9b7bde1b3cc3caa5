// Package central owns the central database, Silo's control plane:
//
//   - its schema (Migrator runs the central migration set of package
//     migrations; EnsureDatabase, RequireDatabase and Open reach it);
//   - central admins and their sessions (Service: register, login with
//     the audit of refused logins, refresh-token rotation, logout, admin
//     management, who may still impersonate) and the central audit log
//     (Audit; Service.Audit is the process's one instance);
//   - the tenant catalog (Catalog): tenants and their provisioning state,
//     custom domains, spare databases, application migration-set versions,
//     and named locks (GET_LOCK) that serialise work across instances;
//   - TenantCache, which resolves slugs and domains from memory and
//     follows catalog changes;
//   - the master-key check (CheckMasterKey).
//
// It holds all of the central database's SQL and the rules that go with it
// (who may register, the last superadmin, provisioning state changes). It
// must not import another plane (tenantdb, provisioning, router), know
// HTTP, or open a tenant database: provisioning joins the catalog with the
// tenant databases.
package central
