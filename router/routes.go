package router

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// routes lists Silo's whole HTTP surface.
func routes(e *gin.Engine, h *handlers, metrics http.Handler) {
	e.GET("/healthz", h.healthz)
	e.GET("/readyz", h.readyz)
	e.GET("/metrics", gin.WrapH(metrics))

	c := e.Group("/api/central")
	c.POST("/auth/login", h.centralLogin)
	c.POST("/auth/register", h.centralRegister)
	c.POST("/auth/refresh", h.centralRefresh)
	c.POST("/auth/logout", h.centralLogout)

	admin := c.Group("", h.requireCentral)
	admin.GET("/auth/me", h.centralMe)

	admin.POST("/tenants", h.createTenant)
	admin.GET("/tenants", h.listTenants)
	admin.GET("/tenants/:slug", h.getTenant)
	admin.PATCH("/tenants/:slug", h.patchTenant)
	admin.POST("/tenants/:slug/suspend", h.suspendTenant)
	admin.POST("/tenants/:slug/resume", h.resumeTenant)
	admin.POST("/tenants/:slug/provision", h.provisionTenant)
	admin.POST("/tenants/:slug/invitations", h.inviteToTenant)
	admin.GET("/migrations/status", h.migrationStatus)

	super := admin.Group("", requireSuperadmin)
	super.GET("/admins", h.listAdmins)
	super.GET("/admins/:id", h.getAdmin)
	super.PATCH("/admins/:id", h.updateAdmin)
	super.DELETE("/admins/:id", h.deleteAdmin)
	super.DELETE("/tenants/:slug", h.deleteTenant)
	super.POST("/tenants/:slug/impersonate", h.impersonate)
	super.GET("/audit", h.listAudit)

	// The tenant plane: every route resolves its tenant and leases the
	// tenant's pooled connection first.
	t := e.Group("/api", h.requireTenant, h.tenantDB)
	t.POST("/auth/register", h.tenantRegister)
	t.POST("/auth/login", h.tenantLogin)
	t.POST("/auth/refresh", h.tenantRefresh)
	t.POST("/auth/logout", h.tenantLogout)
	t.POST("/invitations/accept", h.acceptInvitation)

	user := t.Group("", h.requireTenantUser)
	for _, r := range tenantRoutes(h) {
		chain := []gin.HandlerFunc{r.handler}
		if r.Permission != "" {
			chain = []gin.HandlerFunc{can(r.Permission), r.handler}
		}
		user.Handle(r.Method, r.Path, chain...)
	}
}

// TenantRoute is an authenticated tenant route and the permission it needs
// ("" = any user of the tenant). The list is the single source of the
// tenant plane's authorization, and tests walk it.
type TenantRoute struct {
	Method, Path, Permission string
	handler                  gin.HandlerFunc
}

// TenantRoutes lists the authenticated tenant routes with their permissions.
func TenantRoutes() []TenantRoute { return tenantRoutes(&handlers{}) }

func tenantRoutes(h *handlers) []TenantRoute {
	return []TenantRoute{
		{"GET", "/auth/me", "", userOnly(h.tenantMe)},
		{"GET", "/auth/config", "", userOnly(h.getTenantConfig)},
		{"PUT", "/auth/config", "", userOnly(h.putTenantConfig)},
		{"GET", "/users", "users:read", h.listUsers},
		{"GET", "/users/:id", "users:read", h.getUser},
		{"POST", "/users", "users:write", h.addUser},
		{"PUT", "/users/:id/roles", "users:write", h.setUserRoles},
		{"DELETE", "/users/:id", "users:write", h.deleteUser},
		{"GET", "/roles", "", h.listRoles},
		{"POST", "/roles", "roles:write", h.createRole},
		{"PUT", "/roles/:name", "roles:write", h.updateRole},
		{"DELETE", "/roles/:name", "roles:write", h.deleteRole},
		{"GET", "/settings", "", h.getSettings},
		{"PUT", "/settings", "settings:write", h.putSettings},
		{"GET", "/audit", "audit:read", h.tenantAudit},
		{"POST", "/invitations", "users:write", h.createInvitation},
		{"GET", "/invitations", "users:write", h.listInvitations},
		{"DELETE", "/invitations/:id", "users:write", h.revokeInvitation},
		{"POST", "/api-keys", "apikeys:write", h.createAPIKey},
		{"GET", "/api-keys", "apikeys:write", h.listAPIKeys},
		{"DELETE", "/api-keys/:id", "apikeys:write", h.revokeAPIKey},
	}
}
