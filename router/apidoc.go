package router

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"
)

// Operation documents a route in the OpenAPI document Silo serves at
// /api/openapi.json. Bodies are given as zero values of the Go types the
// handler decodes and encodes, so the schemas are derived from the code;
// the router tests check every answer they receive against them.
//
// Schemas follow the JSON tags: a field without omitempty is always
// present in an answer; a request field is required when tagged
// api:"required". The tags doc:"…" and enum:"a,b" describe a field.
type Operation struct {
	Summary     string
	Description string
	// Body is the JSON request body (nil: none).
	Body any
	// Answers are the success statuses with their JSON bodies (nil: no
	// content).
	Answers map[int]any
	// ContentType is the success answers' type when they are not JSON
	// (their schema is then a string).
	ContentType string
	Query       []Param
	// Errors are the error statuses the route answers besides those every
	// route of its kind can (bad input, authentication, server trouble).
	Errors []int
	// IfMatch: the route accepts If-Match; ETag: its answers carry one.
	IfMatch, ETag bool
}

// Param is a query parameter.
type Param struct {
	Name, Description string
	Type              string // "string" (default), "integer" or "boolean"
	Enum              []string
	// Map: the parameter is a set of name[key]=value pairs.
	Map      bool
	Required bool
}

// The query parameters of Silo's lists.
var (
	qLimit  = Param{Name: "limit", Type: "integer", Description: "page size, 1 to 200 (default 50)"}
	qCursor = Param{Name: "cursor", Description: "the nextCursor of the previous page"}
	qSearch = Param{Name: "q", Description: "matches the start of an email or name"}
	paged   = []Param{qLimit, qCursor}
)

// authKind is how a route authenticates, as the router enforces it.
type authKind int

const (
	authNone      authKind = iota // public
	authCentral                   // a central admin's access token
	authTenant                    // a tenant user's access token
	authTenantKey                 // a tenant user's access token or an API key
	authOptional                  // none, or an access token that changes what the route does
)

// optionalAuth are public routes that also take an access token.
var optionalAuth = map[string]bool{"POST /api/central/auth/register": true, "POST /api/invitations/accept": true}

// apiDocument builds the OpenAPI 3.1 document of the routes gin serves:
// Silo's (operations) and the tenant routes' own (TenantRoute.Doc). A
// route without a description gets a generic one (an application's).
func apiDocument(served gin.RoutesInfo, tenant []TenantRoute) (*openapi3.T, error) {
	doc := newDocument()
	s := newSchemaSet(doc)
	byKey := map[string]TenantRoute{}
	for _, r := range tenant {
		byKey[r.Method+" /api"+r.Path] = r
	}
	// The tenant stream authenticates itself (a ticket may stand for the
	// credential), but as a tenant route with its permission.
	byKey["GET "+tenantStreamPath] = TenantRoute{Method: "GET", Path: "/events", Permission: permAuditRead}
	for _, r := range served {
		key := r.Method + " " + r.Path
		tr, isTenant := byKey[key]
		op, ok := operationFor(key, tr)
		if !ok {
			op = Operation{Summary: key}
		}
		o, err := s.operation(r.Method, r.Path, op, routeAuth(key, tr, isTenant), tr.Permission)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		if r.Method == "GET" && (r.Path == centralStreamPath || r.Path == tenantStreamPath) {
			*o.Security = append(*o.Security, openapi3.SecurityRequirement{"eventTicket": []string{}})
		}
		doc.AddOperation(pathParam.ReplaceAllString(r.Path, "{$1}"), r.Method, o)
	}
	toJSONSchema2020(doc)
	return doc, nil
}

// operationFor is the documentation of the route key: Silo's own, or the
// tenant route's.
func operationFor(key string, tr TenantRoute) (Operation, bool) {
	if op, ok := operations[key]; ok {
		return op, true
	}
	if strings.HasPrefix(key, "HEAD ") {
		op, ok := operations["GET "+strings.TrimPrefix(key, "HEAD ")]
		answers := map[int]any{}
		for status := range op.Answers {
			answers[status] = nil // the same statuses, without a body
		}
		op.Answers, op.Summary = answers, op.Summary+" (headers only)"
		return op, ok
	}
	if tr.Doc != nil {
		return *tr.Doc, true
	}
	return Operation{}, false
}

func routeAuth(key string, tr TenantRoute, isTenant bool) authKind {
	switch path := key[strings.Index(key, " ")+1:]; {
	case isTenant && tr.UsersOnly:
		return authTenant
	case isTenant:
		return authTenantKey
	case optionalAuth[key]:
		return authOptional
	case publicRoutes[key] || !strings.HasPrefix(path, "/api/"):
		return authNone
	case strings.HasPrefix(path, "/api/central/"):
		return authCentral
	default:
		return authNone
	}
}

func newDocument() *openapi3.T {
	return &openapi3.T{
		OpenAPI: "3.1.0",
		Info: &openapi3.Info{
			Title:   "Silo",
			Version: "1",
			Description: "Silo's HTTP API: the central plane (/api/central/…: central admins, tenants, database servers, " +
				"migrations, audit) and the tenant plane (/api/…: the tenant named by x-tenant-id, its subdomain or a custom domain). " +
				"Every error answers the same JSON envelope. docs/API.md in the Silo repository explains each route with examples.",
			Contact: &openapi3.Contact{Name: "Silo", URL: "https://github.com/silo-dev/silo"},
		},
		Servers: openapi3.Servers{{URL: "/", Description: "the Silo instance serving this document"}},
		Paths:   openapi3.NewPaths(),
		Tags:    apiTags(),
		Components: &openapi3.Components{
			Schemas:         openapi3.Schemas{},
			SecuritySchemes: securitySchemes(),
			Parameters:      openapi3.ParametersMap{"TenantID": {Value: tenantIDParam()}, "RequestID": {Value: requestIDParam()}},
			Headers:         standardHeaders(),
			Responses:       errorResponses(),
		},
	}
}

// tagOf groups a route by its path.
func tagOf(path string) string {
	seg := func(p string) string {
		p = strings.TrimPrefix(p, "/")
		if i := strings.IndexAny(p, "/."); i >= 0 {
			p = p[:i]
		}
		return p
	}
	switch {
	case strings.HasPrefix(path, "/api/central/"):
		return centralTags[seg(strings.TrimPrefix(path, "/api/central"))]
	case strings.HasPrefix(path, "/api/"):
		if t, ok := tenantTags[seg(strings.TrimPrefix(path, "/api"))]; ok {
			return t
		}
		return "Application"
	case path == "/" || strings.HasPrefix(path, "/console"):
		return "Console"
	default:
		return "Operations"
	}
}

var (
	centralTags = map[string]string{"auth": "Central auth", "tenants": "Tenants", "admins": "Central admins",
		"audit": "Central audit", "servers": "Database servers", "migrations": "Migrations", "events": "Live events"}
	tenantTags = map[string]string{"auth": "Tenant auth", "users": "Users", "roles": "Roles", "settings": "Settings",
		"audit": "Tenant audit", "invitations": "Invitations", "api-keys": "API keys", "collections": "Records",
		"openapi": "Operations", "docs": "Operations", "events": "Live events"}
)

func apiTags() openapi3.Tags {
	desc := map[string]string{
		"Central auth":   "Central admins' login, bootstrap registration, token refresh and logout.",
		"Tenants":        "The tenant catalog: create, list, change, suspend, resume, provision, delete, invite, impersonate.",
		"Central admins": "Superadmins manage the central admins.", "Central audit": "The central audit log (superadmins).",
		"Database servers": "The registry of MySQL/MariaDB servers holding tenant databases.",
		"Migrations":       "The tenants' schema versions.",
		"Tenant auth":      "Tenant users' sign-up, login, token refresh, logout, profile and per-user config.",
		"Users":            "A tenant's users.", "Roles": "A tenant's roles and their permissions.",
		"Settings": "A tenant's settings.", "Tenant audit": "A tenant's audit log.",
		"Invitations": "Invitations to join a tenant.", "API keys": "A tenant's API keys.",
		"Records": "The tenant's JSON record store.", "Application": "Routes the application adds.",
		"Operations": "Health, readiness, metrics and this document.",
		"Console":    "The admin console: a page for people, served from the binary.",
		"Live events": "Server-sent event streams of the central plane (tenant status, fleet migrations, audit) " +
			"and of a tenant (its audit log), and the tickets a browser opens them with.",
	}
	names := make([]string, 0, len(desc))
	for n := range desc {
		names = append(names, n)
	}
	sort.Strings(names)
	tags := make(openapi3.Tags, 0, len(names))
	for _, n := range names {
		tags = append(tags, &openapi3.Tag{Name: n, Description: desc[n]})
	}
	return tags
}

func securitySchemes() openapi3.SecuritySchemes {
	return openapi3.SecuritySchemes{
		"accessToken": {Value: &openapi3.SecurityScheme{Type: "http", Scheme: "bearer", BearerFormat: "JWT",
			Description: "An access token from a login (central or tenant; each is refused on the other plane)."}},
		"apiKey": {Value: &openapi3.SecurityScheme{Type: "http", Scheme: "bearer", BearerFormat: "silo_…",
			Description: "A tenant API key (silo_…) as the bearer token."}},
		"apiKeyHeader": {Value: &openapi3.SecurityScheme{Type: "apiKey", In: "header", Name: "X-API-Key",
			Description: "A tenant API key (silo_…) in X-API-Key."}},
		"eventTicket": {Value: &openapi3.SecurityScheme{Type: "apiKey", In: "query", Name: "ticket",
			Description: "A single-use ticket (evt_…, 30 s) from POST …/events/ticket: what an EventSource, which sends no header, opens an event stream with."}},
	}
}

func tenantIDParam() *openapi3.Parameter {
	p := openapi3.NewHeaderParameter("x-tenant-id").WithSchema(&openapi3.Schema{
		Type: &openapi3.Types{"string"}, Pattern: "^[a-z][a-z0-9-]{1,38}[a-z0-9]$"})
	p.Description = "The tenant's slug. Optional when the request's host is the tenant's subdomain of the base domain or one of its custom domains."
	return p
}

func requestIDParam() *openapi3.Parameter {
	p := openapi3.NewHeaderParameter("X-Request-Id").WithSchema(&openapi3.Schema{
		Type: &openapi3.Types{"string"}, Pattern: "^[A-Za-z0-9._:-]{1,128}$"})
	p.Description = "Your id for the request, echoed in the answer and the logs; without it (or when it does not match), Silo makes one."
	return p
}

func header(description string, s *openapi3.Schema) *openapi3.HeaderRef {
	return &openapi3.HeaderRef{Value: &openapi3.Header{Parameter: openapi3.Parameter{Description: description, Schema: s.NewRef()}}}
}

func standardHeaders() openapi3.Headers {
	return openapi3.Headers{
		"X-Request-Id": requiredHeader(header("The request's id, also in error envelopes and the server's logs.", openapi3.NewStringSchema())),
		"ETag":         header("The record's version, quoted; send it back in If-Match.", openapi3.NewStringSchema()),
		"Retry-After":  header("Seconds to wait before trying again.", openapi3.NewIntegerSchema()),
	}
}

func requiredHeader(h *openapi3.HeaderRef) *openapi3.HeaderRef {
	h.Value.Required = true
	return h
}

func headerRef(name string) *openapi3.HeaderRef {
	return &openapi3.HeaderRef{Ref: "#/components/headers/" + name}
}

// errorStatuses are the error answers of the document, each with the
// error envelope.
var errorStatuses = map[int]string{
	400: "The request is invalid (VALIDATION_FAILED names the fields).",
	401: "No valid credentials.",
	403: "The caller may not do this, or the tenant is not active.",
	404: "No such resource (or tenant).",
	409: "The request conflicts with the current state.",
	412: "If-Match names another version.",
	413: "The body is larger than 1 MiB.",
	415: "The body is not JSON.",
	429: "Too many attempts; Retry-After says when to try again.",
	500: "An unexpected failure (logged with the request id).",
	503: "A database is unavailable or the request timed out; Retry-After may say when to try again.",
}

func errorResponses() openapi3.ResponseBodies {
	out := openapi3.ResponseBodies{}
	for status, desc := range errorStatuses {
		r := openapi3.NewResponse().WithDescription(desc).WithJSONSchemaRef(&openapi3.SchemaRef{Ref: "#/components/schemas/Error"})
		r.Headers = openapi3.Headers{"X-Request-Id": headerRef("X-Request-Id")}
		if status == 429 || status == 503 {
			r.Headers["Retry-After"] = headerRef("Retry-After")
		}
		out["E"+strconv.Itoa(status)] = &openapi3.ResponseRef{Value: r}
	}
	return out
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

// openAPI is the served document as JSON.
func openAPI(served gin.RoutesInfo, tenant []TenantRoute) []byte {
	doc, err := apiDocument(served, tenant)
	if err != nil {
		panic(err) // Silo's own types; a test builds the document
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return b
}

var (
	timeType = reflect.TypeOf(time.Time{})
	rawJSON  = reflect.TypeOf(json.RawMessage{})
	anyType  = reflect.TypeOf((*any)(nil)).Elem()
)
