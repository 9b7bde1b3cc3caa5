package router

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/silo-dev/silo/tenantdb"
)

// routes lists Silo's whole HTTP surface.
func routes(e *gin.Engine, h *handlers, metrics http.Handler, extra []TenantRoute) {
	e.GET("/healthz", h.healthz)
	e.GET("/readyz", h.readyz)
	e.GET("/metrics", gin.WrapH(metrics))
	e.HEAD("/healthz", bodiless(h.healthz))
	e.HEAD("/readyz", bodiless(h.readyz))
	e.GET("/api/openapi.json", func(c *gin.Context) { c.Data(http.StatusOK, "application/json", h.spec) })
	e.GET("/api/docs", apiDocsPage)
	e.GET("/api/docs/:file", apiDocsAsset)
	e.GET("/", toConsole)
	e.GET("/console/*path", consolePage)

	c := e.Group("/api/central")
	c.POST("/auth/login", h.centralLogin)
	c.POST("/auth/register", h.centralRegister)
	c.POST("/auth/refresh", h.centralRefresh)
	c.POST("/auth/logout", h.centralLogout)

	// The event streams authenticate themselves: by header or by ticket.
	e.GET(centralStreamPath, h.streamTicket(planeCentral), h.centralEvents)
	e.GET(tenantStreamPath, h.streamTicket(planeTenant), h.requireTenant, h.tenantEvents)

	admin := c.Group("", h.requireCentral)
	admin.GET("/auth/me", h.centralMe)
	admin.POST("/events/ticket", h.centralEventsTicket)

	admin.POST("/tenants", h.createTenant)
	admin.GET("/tenants", h.listTenants)
	admin.GET("/tenants/:slug", h.getTenant)
	admin.PATCH("/tenants/:slug", h.patchTenant)
	admin.POST("/tenants/:slug/suspend", h.suspendTenant)
	admin.POST("/tenants/:slug/resume", h.resumeTenant)
	admin.POST("/tenants/:slug/provision", h.provisionTenant)
	admin.POST("/tenants/:slug/invitations", h.inviteToTenant)
	admin.GET("/migrations/status", h.migrationStatus)
	admin.GET("/servers", h.listServers)
	admin.GET("/servers/:name", h.getServer)

	super := admin.Group("", requireSuperadmin)
	super.GET("/admins", h.listAdmins)
	super.GET("/admins/:id", h.getAdmin)
	super.PATCH("/admins/:id", h.updateAdmin)
	super.DELETE("/admins/:id", h.deleteAdmin)
	super.DELETE("/tenants/:slug", h.deleteTenant)
	super.POST("/tenants/:slug/impersonate", h.impersonate)
	super.GET("/audit", h.listAudit)
	super.POST("/servers", h.addServer)
	super.PATCH("/servers/:name", h.patchServer)
	super.DELETE("/servers/:name", h.removeServer)

	// The tenant plane: every route resolves its tenant and leases the
	// tenant's pooled connection first.
	t := e.Group("/api", h.requireTenant, h.tenantDB)
	t.GET("/auth/tenant", h.tenantBranding)
	t.POST("/auth/register", h.tenantRegister)
	t.POST("/auth/login", h.tenantLogin)
	t.POST("/auth/refresh", h.tenantRefresh)
	t.POST("/auth/logout", h.tenantLogout)
	t.POST("/invitations/accept", h.acceptInvitation)

	user := t.Group("", h.requireTenantUser)
	for _, r := range append(tenantRoutes(h), extra...) {
		chain := []gin.HandlerFunc{r.Handler}
		if r.UsersOnly {
			chain = []gin.HandlerFunc{usersOnly, r.Handler}
		}
		if r.Permission != "" {
			chain = append([]gin.HandlerFunc{can(r.Permission)}, chain...)
		}
		user.Handle(r.Method, r.Path, chain...)
	}
}

// TenantRoute is an authenticated tenant route under /api and the
// permission it needs ("" = any user or API key of the tenant). Silo's own
// routes and an application's (silo.WithTenantRoutes) are both listed this
// way; the lists are the single source of the tenant plane's authorization,
// and tests walk them. Silo has resolved the tenant, leased its connection
// and authenticated the caller before Handler runs; see Tenant, DB, Caller
// and Audit.
type TenantRoute struct {
	Method, Path, Permission string
	Handler                  gin.HandlerFunc
	// UsersOnly refuses API keys: only a user's access token may call it.
	UsersOnly bool
	// Doc describes the route in the OpenAPI document (nil: a generic
	// description).
	Doc *Operation
}

// TenantRoutes lists Silo's own authenticated tenant routes with their
// permissions (the record store's are in internal/feature/records).
func TenantRoutes() []TenantRoute { return tenantRoutes(&handlers{}) }

// CheckTenantRoutes reports what is wrong with additional tenant routes:
// an unknown method or permission, a path not starting with "/", a missing
// handler, or a route that clashes with Silo's or another one.
func CheckTenantRoutes(extra []TenantRoute) (err error) {
	var errs []error
	for _, r := range extra {
		name := r.Method + " " + r.Path
		switch {
		case !knownMethods[r.Method] || r.Method == "HEAD" || r.Method == "OPTIONS":
			errs = append(errs, fmt.Errorf("tenant route %s: method must be GET, POST, PUT, PATCH or DELETE", name))
		case !strings.HasPrefix(r.Path, "/"):
			errs = append(errs, fmt.Errorf("tenant route %s: the path must start with / (it is mounted under /api)", name))
		case r.Handler == nil:
			errs = append(errs, fmt.Errorf("tenant route %s: no handler", name))
		case r.Permission != "" && !tenantdb.ValidPermission(r.Permission):
			errs = append(errs, fmt.Errorf("tenant route %s: unknown permission %q (one of %s, or \"\" for any caller)",
				name, r.Permission, strings.Join(tenantdb.Permissions, ", ")))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	// gin panics on a clash; find it on a scratch engine with Silo's routes.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("tenant routes clash: %v", p)
		}
	}()
	routes(gin.New(), &handlers{}, http.NotFoundHandler(), extra)
	return nil
}

func tenantRoutes(h *handlers) []TenantRoute {
	return []TenantRoute{
		{Method: "GET", Path: "/auth/me", Handler: h.tenantMe, UsersOnly: true},
		{Method: "GET", Path: "/auth/config", Handler: h.getTenantConfig, UsersOnly: true},
		{Method: "PUT", Path: "/auth/config", Handler: h.putTenantConfig, UsersOnly: true},
		{Method: "GET", Path: "/users", Permission: "users:read", Handler: h.listUsers},
		{Method: "GET", Path: "/users/:id", Permission: "users:read", Handler: h.getUser},
		{Method: "POST", Path: "/users", Permission: "users:write", Handler: h.addUser},
		{Method: "PUT", Path: "/users/:id/roles", Permission: "users:write", Handler: h.setUserRoles},
		{Method: "PATCH", Path: "/users/:id", Permission: "users:write", Handler: h.patchUser},
		{Method: "DELETE", Path: "/users/:id", Permission: "users:write", Handler: h.deleteUser},
		{Method: "GET", Path: "/roles", Handler: h.listRoles},
		{Method: "POST", Path: "/roles", Permission: "roles:write", Handler: h.createRole},
		{Method: "PUT", Path: "/roles/:name", Permission: "roles:write", Handler: h.updateRole},
		{Method: "DELETE", Path: "/roles/:name", Permission: "roles:write", Handler: h.deleteRole},
		{Method: "GET", Path: "/settings", Handler: h.getSettings},
		{Method: "PUT", Path: "/settings", Permission: "settings:write", Handler: h.putSettings},
		{Method: "GET", Path: "/audit", Permission: "audit:read", Handler: h.tenantAudit},
		{Method: "POST", Path: "/events/ticket", Permission: permAuditRead, Handler: h.tenantEventsTicket},
		{Method: "POST", Path: "/invitations", Permission: "users:write", Handler: h.createInvitation},
		{Method: "GET", Path: "/invitations", Permission: "users:write", Handler: h.listInvitations},
		{Method: "DELETE", Path: "/invitations/:id", Permission: "users:write", Handler: h.revokeInvitation},
		{Method: "POST", Path: "/api-keys", Permission: "apikeys:write", Handler: h.createAPIKey},
		{Method: "GET", Path: "/api-keys", Permission: "apikeys:write", Handler: h.listAPIKeys},
		{Method: "DELETE", Path: "/api-keys/:id", Permission: "apikeys:write", Handler: h.revokeAPIKey},
	}
}
