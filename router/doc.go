// Package router is Silo's HTTP layer: gin middleware and handlers that
// decode and validate requests, call one service method, and answer in the
// JSON envelope of API.md. It resolves a request's tenant (x-tenant-id, a
// subdomain or a custom domain), leases the tenant's pooled database and
// authenticates the caller, and offers the same tenant-route API to Silo's
// own routes and an application's (TenantRoute, Tenant, DB, Caller, Audit,
// Fail). It maps error kinds to HTTP statuses in one table (errors.go).
//
// It never writes SQL (every statement lives in central or tenantdb), and
// it imports no feature (internal/feature/records) and nothing of the assembly
// (internal/assembly/app, internal/assembly/cli); internal/testsupport/layout checks both.
package router
