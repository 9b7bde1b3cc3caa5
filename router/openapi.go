package router

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"

	"github.com/gin-gonic/gin"
)

var pathParam = regexp.MustCompile(`:([A-Za-z_]+)`)

// publicRoutes need no credentials.
var publicRoutes = map[string]bool{
	"POST /api/central/auth/login": true, "POST /api/central/auth/register": true,
	"POST /api/central/auth/refresh": true, "POST /api/central/auth/logout": true,
	"POST /api/auth/register": true, "POST /api/auth/login": true, "POST /api/auth/refresh": true,
	"POST /api/auth/logout": true, "POST /api/invitations/accept": true,
	"GET /healthz": true, "GET /readyz": true, "GET /metrics": true, "GET /api/openapi.json": true,
}

// openAPI describes the routes gin serves as an OpenAPI 3 document, built
// from the router itself so that it cannot drift from it: every path and
// method, its path parameters, how it authenticates, the tenant header of
// the tenant plane, the permission of each tenant route (x-permission) and
// the error envelope of API.md. Bodies are described as JSON objects; the
// field-level contract is API.md.
func openAPI(served gin.RoutesInfo, tenant []TenantRoute) []byte {
	perms := map[string]string{}
	for _, r := range tenant {
		perms[r.Method+" /api"+r.Path] = r.Permission
	}
	object := map[string]any{"type": "object"}
	errorRef := map[string]any{"$ref": "#/components/responses/Error"}
	paths := map[string]map[string]any{}
	for _, r := range served {
		key := r.Method + " " + r.Path
		op := map[string]any{
			"operationId": strings.ToLower(r.Method) + strings.NewReplacer("/", "_", ":", "", "-", "_", ".", "_").Replace(r.Path),
			"summary":     key,
			"responses":   map[string]any{"2XX": map[string]any{"description": "success"}, "4XX": errorRef, "5XX": errorRef},
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(r.Path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		central := strings.HasPrefix(r.Path, "/api/central/")
		if strings.HasPrefix(r.Path, "/api/") && !central && r.Path != "/api/openapi.json" {
			params = append(params, map[string]any{"$ref": "#/components/parameters/TenantID"})
		}
		if params != nil {
			op["parameters"] = params
		}
		switch perm, isTenant := perms[key]; {
		case publicRoutes[key]:
			op["security"] = []any{}
		case isTenant:
			op["security"] = []any{map[string]any{"bearer": []any{}}, map[string]any{"apiKey": []any{}}}
			op["x-permission"] = perm
		default:
			op["security"] = []any{map[string]any{"bearer": []any{}}}
		}
		if r.Method == "POST" || r.Method == "PUT" || r.Method == "PATCH" {
			op["requestBody"] = map[string]any{"content": map[string]any{"application/json": map[string]any{"schema": object}}}
		}
		p := pathParam.ReplaceAllString(r.Path, "{$1}")
		if paths[p] == nil {
			paths[p] = map[string]any{}
		}
		paths[p][strings.ToLower(r.Method)] = op
	}
	doc := map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{"title": "Silo", "version": "1",
			"description": "Database-per-tenant control plane. Request and response fields are described in the guides under docs/ in the Silo repository."},
		"paths": paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
				"apiKey": map[string]any{"type": "apiKey", "in": "header", "name": "X-API-Key"},
			},
			"parameters": map[string]any{"TenantID": map[string]any{"name": "x-tenant-id", "in": "header", "required": false,
				"description": "The tenant's slug; or use its subdomain of the base domain, or a mapped custom domain.",
				"schema":      map[string]any{"type": "string", "pattern": "^[a-z][a-z0-9-]{1,38}[a-z0-9]$"}}},
			"responses": map[string]any{"Error": map[string]any{"description": "the error envelope",
				"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}},
			"schemas": map[string]any{"Error": map[string]any{"type": "object", "required": []any{"error"}, "properties": map[string]any{
				"error": map[string]any{"type": "object", "required": []any{"code", "message", "requestId"}, "properties": map[string]any{
					"code": map[string]any{"type": "string"}, "message": map[string]any{"type": "string"},
					"requestId": map[string]any{"type": "string"},
					"details": map[string]any{"type": "array", "items": map[string]any{"type": "object", "properties": map[string]any{
						"field": map[string]any{"type": "string"}, "message": map[string]any{"type": "string"}}}},
				}}}}},
		},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err) // maps of strings always marshal
	}
	return b
}

// OpenAPIDocument is the document /api/openapi.json serves for Silo with
// extra tenant routes (the record store's and an application's), built
// without a database: what `silo openapi` prints.
func OpenAPIDocument(extra []TenantRoute) []byte {
	e := gin.New()
	h := &handlers{}
	routes(e, h, http.NotFoundHandler(), extra)
	return openAPI(e.Routes(), append(tenantRoutes(h), extra...))
}
