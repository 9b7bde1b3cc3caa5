package router

import "net/http"

// publicRoutes need no credentials.
var publicRoutes = map[string]bool{
	"POST /api/central/auth/login": true, "POST /api/central/auth/register": true,
	"POST /api/central/auth/refresh": true, "POST /api/central/auth/logout": true,
	"POST /api/auth/register": true, "POST /api/auth/login": true, "POST /api/auth/refresh": true,
	"POST /api/auth/logout": true, "POST /api/invitations/accept": true, "GET /api/auth/tenant": true,
	"GET /healthz": true, "GET /readyz": true, "GET /metrics": true, "GET /api/openapi.json": true,
}

func ok(body any) map[int]any      { return map[int]any{http.StatusOK: body} }
func created(body any) map[int]any { return map[int]any{http.StatusCreated: body} }

var noContent = map[int]any{http.StatusNoContent: nil}

// streamQuery are the query parameters of the event streams.
var streamQuery = []Param{
	{Name: "ticket", Description: "a ticket from POST …/events/ticket, in place of the Authorization header (single use, 30 s)"},
	{Name: "lastEventId", Description: "resume after this event id (the Last-Event-ID header wins)"},
}

// operations describe Silo's own routes (the tests check that every
// served route has one and that each names a served route).
var operations = map[string]Operation{
	"GET /healthz": {Summary: "Liveness", Description: "200 while the process serves HTTP; touches no database.",
		Answers: ok(statusAnswer{})},
	"GET /readyz": {Summary: "Readiness", Description: "200 when the central database answers, else 503.",
		Answers: ok(statusAnswer{}), Errors: []int{http.StatusServiceUnavailable}},
	"GET /metrics":          {Summary: "Prometheus metrics", ContentType: "text/plain", Answers: ok(nil)},
	"GET /api/openapi.json": {Summary: "This document", Answers: ok(nil), ContentType: "application/json"},
	"GET /api/docs": {Summary: "The interactive API reference (an HTML page)", ContentType: "text/html",
		Description: "Swagger UI, served from the binary under its own Content-Security-Policy; it shows this document.",
		Answers:     map[int]any{http.StatusOK: nil, http.StatusNotModified: nil}},
	"GET /api/docs/:file": {Summary: "A file of the API reference page (script, stylesheet, licence)", ContentType: "*/*",
		Answers: map[int]any{http.StatusOK: nil, http.StatusNotModified: nil}, Errors: []int{http.StatusNotFound}},
	"GET /": {Summary: "Send a browser to the admin console", Description: "302 to /console/, without a body.",
		Answers: map[int]any{http.StatusFound: nil}},
	"GET /console/*path": {Summary: "The admin console (an HTML page) and its files", ContentType: "*/*",
		Description: "A built file (app.js, app.css, app.js.map) by its name, with its type and an ETag; any other path " +
			"is the console's page (its script renders the path), under its own Content-Security-Policy. A name at the top " +
			"with an extension that is no file is a 404.",
		Answers: map[int]any{http.StatusOK: nil, http.StatusNotModified: nil}, Errors: []int{http.StatusNotFound}},

	"POST /api/central/auth/login": {Summary: "Log a central admin in", Body: credentials{}, Answers: ok(sessionView{}),
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests}},
	"POST /api/central/auth/register": {Summary: "Register the first central admin",
		Description: "Open only while no central admin exists (the bootstrap); afterwards 403.",
		Body:        registerRequest{}, Answers: created(adminAnswer{}),
		Errors: []int{http.StatusForbidden, http.StatusConflict, http.StatusTooManyRequests}},
	"POST /api/central/auth/refresh": {Summary: "Exchange a refresh token for new tokens",
		Description: "The refresh token rotates: the old one is spent; presenting a spent one revokes its whole family.",
		Body:        refreshRequest{}, Answers: ok(sessionView{}), Errors: []int{http.StatusUnauthorized}},
	"POST /api/central/auth/logout": {Summary: "Revoke a refresh token", Body: refreshRequest{}, Answers: noContent},
	"GET /api/central/auth/me":      {Summary: "The calling central admin", Answers: ok(adminAnswer{})},

	"POST /api/central/tenants": {Summary: "Create a tenant",
		Description: "Creates the tenant's database and DB user on a database server (by name, labels or free room), " +
			"migrates it, and optionally adds its first tenant_admin. On failure the tenant is failed and POST …/provision resumes it.",
		Body: createTenantRequest{}, Answers: created(tenantAnswer{}),
		Errors: []int{http.StatusConflict, http.StatusServiceUnavailable}},
	"GET /api/central/tenants": {Summary: "List tenants", Answers: ok(tenantsAnswer{}), Query: []Param{qLimit, qCursor,
		{Name: "q", Description: "matches the start of a slug or name"},
		{Name: "status", Enum: []string{"provisioning", "active", "suspended", "failed", "deleted"}}}},
	"GET /api/central/tenants/:slug": {Summary: "Get a tenant", Answers: ok(tenantAnswer{})},
	"PATCH /api/central/tenants/:slug": {Summary: "Rename a tenant or replace its custom domains", Body: patchTenantRequest{},
		Answers: ok(tenantAnswer{}), Errors: []int{http.StatusConflict}},
	"POST /api/central/tenants/:slug/suspend": {Summary: "Suspend a tenant", Answers: ok(tenantAnswer{}),
		Description: "Its users' requests answer 403 TENANT_SUSPENDED until it is resumed.", Errors: []int{http.StatusConflict}},
	"POST /api/central/tenants/:slug/resume": {Summary: "Resume a suspended tenant", Answers: ok(tenantAnswer{}),
		Errors: []int{http.StatusConflict}},
	"POST /api/central/tenants/:slug/provision": {Summary: "Resume or redo a tenant's provisioning",
		Description: "Resumes a failed provisioning; for an active or suspended tenant, redoes its DB account.",
		Answers:     ok(tenantAnswer{}), Errors: []int{http.StatusConflict}},
	"POST /api/central/tenants/:slug/invitations": {Summary: "Invite someone to a tenant",
		Body: invitationRequest{}, Answers: created(invitationAnswer{}), Errors: []int{http.StatusConflict}},
	"DELETE /api/central/tenants/:slug": {Summary: "Delete a tenant (superadmin)",
		Description: "Without purge the database is kept and the DB user locked; purge=true drops both.",
		Answers:     noContent, Query: []Param{{Name: "purge", Type: "boolean", Description: "drop the database and DB user too"}},
		Errors: []int{http.StatusConflict}},
	"POST /api/central/tenants/:slug/impersonate": {Summary: "Act as a tenant user (superadmin)",
		Description: "The user is named by userId or by email (exactly one). A tenant access token (lifetime SILO_ACCESS_TOKEN_TTL) " +
			"naming the superadmin in its act claim; audited in both logs.",
		Body: impersonateRequest{}, Answers: ok(impersonationAnswer{}), Errors: []int{http.StatusConflict}},
	"GET /api/central/migrations/status": {Summary: "Every tenant's schema version", Answers: ok(fleetStatusAnswer{})},

	"GET /api/central/events": {Summary: "Follow the central plane's live events (server-sent events)",
		Description: "A text/event-stream of `tenant.status`, `migration.progress` and (superadmins only) `audit` events, " +
			"each `id:`, `event:` and one `data:` line of JSON {id, type, tenant?, at, data}; first a `hello` event, " +
			"`: ping` every 15 s, and an `end` event when the server ends it (token expired or revoked, shutdown). " +
			"Authenticate with the Authorization header or a ticket (?ticket=, from POST …/events/ticket). " +
			"Last-Event-ID (or ?lastEventId=) resumes after that event.",
		ContentType: "text/event-stream", Answers: ok(nil), Query: streamQuery, Errors: []int{http.StatusTooManyRequests}},
	"POST /api/central/events/ticket": {Summary: "A single-use ticket to open the central event stream (for EventSource)",
		Description: "The ticket stands for the caller's access token for 30 seconds, once: GET /api/central/events?ticket=….",
		Answers:     ok(ticketAnswer{})},

	"GET /api/central/admins":        {Summary: "List central admins (superadmin)", Answers: ok(adminsAnswer{}), Query: paged},
	"GET /api/central/admins/:id":    {Summary: "Get a central admin (superadmin)", Answers: ok(adminAnswer{})},
	"PATCH /api/central/admins/:id":  {Summary: "Change a central admin (superadmin)", Body: adminPatchRequest{}, Answers: ok(adminAnswer{}), Errors: []int{http.StatusConflict}},
	"DELETE /api/central/admins/:id": {Summary: "Delete a central admin (superadmin)", Answers: noContent, Errors: []int{http.StatusConflict}},
	"GET /api/central/audit":         {Summary: "The central audit log (superadmin)", Answers: ok(auditAnswer{}), Query: paged},

	"GET /api/central/servers":       {Summary: "List database servers", Answers: ok(serversAnswer{})},
	"GET /api/central/servers/:name": {Summary: "Get a database server", Answers: ok(serverAnswer{})},
	"POST /api/central/servers": {Summary: "Register a database server (superadmin)",
		Description: "Silo connects with the DSN's admin account, checks its privileges and stores the DSN sealed with the master key.",
		Body:        addServerRequest{}, Answers: created(serverAnswer{}), Errors: []int{http.StatusConflict}},
	"PATCH /api/central/servers/:name": {Summary: "Change a database server (superadmin)", Body: patchServerRequest{},
		Answers: ok(serverAnswer{}), Errors: []int{http.StatusConflict}},
	"DELETE /api/central/servers/:name": {Summary: "Remove an empty database server (superadmin)", Answers: noContent,
		Errors: []int{http.StatusConflict}},

	"POST /api/auth/register": {Summary: "Sign up to a tenant", Description: "Only when the tenant allows public sign-up (else 403).",
		Body: registerRequest{}, Answers: created(tenantUserAnswer{}),
		Errors: []int{http.StatusConflict, http.StatusTooManyRequests}},
	"GET /api/auth/tenant": {Summary: "The tenant's branding, for a login page",
		Description: "The tenant the request resolves to (x-tenant-id, subdomain or custom domain): its slug, the name to show, " +
			"primary colour, logo and whether it takes sign-ups. Nothing else; no credentials, no password hashing.",
		Answers: ok(brandingAnswer{})},
	"POST /api/auth/login": {Summary: "Log a tenant user in", Body: credentials{}, Answers: ok(tenantSessionView{}),
		Errors: []int{http.StatusUnauthorized, http.StatusTooManyRequests}},
	"POST /api/auth/refresh": {Summary: "Exchange a tenant refresh token for new tokens", Body: refreshRequest{},
		Answers: ok(tenantSessionView{}), Errors: []int{http.StatusUnauthorized}},
	"POST /api/auth/logout": {Summary: "Revoke a tenant refresh token", Body: refreshRequest{}, Answers: noContent},
	"POST /api/invitations/accept": {Summary: "Accept an invitation",
		Description: "With a password (and names) it creates the invited account (201); with the invitee's bearer token instead, " +
			"it adds the role to their existing account (200).",
		Body:    acceptRequest{},
		Answers: map[int]any{http.StatusOK: tenantUserAnswer{}, http.StatusCreated: tenantUserAnswer{}},
		Errors:  []int{http.StatusUnauthorized, http.StatusConflict, http.StatusTooManyRequests}},

	"GET /api/auth/me":     {Summary: "The calling tenant user, with roles and permissions", Answers: ok(meAnswer{})},
	"GET /api/auth/config": {Summary: "The calling user's config (any JSON)", Answers: ok(configBody{})},
	"PUT /api/auth/config": {Summary: "Replace the calling user's config", Body: configRequest{}, Answers: ok(configBody{})},

	"GET /api/users":              {Summary: "List users", Answers: ok(tenantUsersAnswer{}), Query: []Param{qLimit, qCursor, qSearch}},
	"GET /api/users/:id":          {Summary: "Get a user", Answers: ok(tenantUserAnswer{})},
	"POST /api/users":             {Summary: "Add a user", Body: addUserRequest{}, Answers: created(tenantUserAnswer{}), Errors: []int{http.StatusConflict}},
	"PUT /api/users/:id/roles":    {Summary: "Replace a user's roles", Body: rolesRequest{}, Answers: ok(tenantUserAnswer{}), Errors: []int{http.StatusConflict}},
	"PATCH /api/users/:id":        {Summary: "Deactivate or reactivate a user", Body: patchUserRequest{}, Answers: ok(tenantUserAnswer{}), Errors: []int{http.StatusConflict}},
	"DELETE /api/users/:id":       {Summary: "Delete a user", Answers: noContent, Errors: []int{http.StatusConflict}},
	"GET /api/roles":              {Summary: "List roles", Answers: ok(rolesAnswer{})},
	"POST /api/roles":             {Summary: "Create a custom role", Body: roleRequest{}, Answers: created(roleAnswer{}), Errors: []int{http.StatusConflict}},
	"PUT /api/roles/:name":        {Summary: "Change a custom role", Body: roleRequest{}, Answers: ok(roleAnswer{}), Errors: []int{http.StatusConflict}},
	"DELETE /api/roles/:name":     {Summary: "Delete a custom role", Answers: noContent, Errors: []int{http.StatusConflict}},
	"GET /api/settings":           {Summary: "The tenant's settings", Answers: ok(settingsAnswer{})},
	"PUT /api/settings":           {Summary: "Change the tenant's settings", Body: settingsRequest{}, Answers: ok(settingsAnswer{})},
	"GET /api/audit":              {Summary: "The tenant's audit log", Answers: ok(tenantAuditAnswer{}), Query: paged},
	"POST /api/invitations":       {Summary: "Invite someone", Body: invitationRequest{}, Answers: created(invitationAnswer{}), Errors: []int{http.StatusConflict}},
	"GET /api/invitations":        {Summary: "List invitations", Answers: ok(invitationsAnswer{})},
	"DELETE /api/invitations/:id": {Summary: "Revoke an invitation", Answers: noContent, Errors: []int{http.StatusConflict}},
	"POST /api/api-keys":          {Summary: "Create an API key", Description: "The key is in the answer once; only its hash is kept.", Body: apiKeyRequest{}, Answers: created(apiKeyAnswer{})},
	"GET /api/api-keys":           {Summary: "List API keys", Answers: ok(apiKeysAnswer{})},
	"DELETE /api/api-keys/:id":    {Summary: "Revoke an API key", Answers: noContent},

	"GET /api/events": {Summary: "Follow the tenant's audit log live (server-sent events)",
		Description: "A text/event-stream of `audit` events (a new entry of the tenant's audit log), " +
			"each `id:`, `event:` and one `data:` line of JSON {id, type, tenant, at, data}; first a `hello` event, " +
			"`: ping` every 15 s, and an `end` event when the server ends it. Authenticate with the Authorization " +
			"(or X-API-Key) header or a ticket (?ticket=, from POST /api/events/ticket; the ticket also names the tenant). " +
			"Last-Event-ID (or ?lastEventId=) resumes after that entry.",
		ContentType: "text/event-stream", Answers: ok(nil), Query: streamQuery, Errors: []int{http.StatusTooManyRequests}},
	"POST /api/events/ticket": {Summary: "A single-use ticket to open the tenant's event stream (for EventSource)",
		Description: "The ticket stands for the caller's credential at this tenant for 30 seconds, once: GET /api/events?ticket=….",
		Answers:     ok(ticketAnswer{})},
}
