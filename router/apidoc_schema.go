package router

import (
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3gen"
)

var pathParam = regexp.MustCompile(`[:*]([A-Za-z_]+)`)

// schemaSet turns Go types into the document's component schemas: one
// generator for request bodies (a field is required when tagged
// api:"required") and one for answers (a field is required unless
// omitempty).
type schemaSet struct {
	doc               *openapi3.T
	requests, answers *openapi3gen.Generator
}

func newSchemaSet(doc *openapi3.T) *schemaSet {
	gen := func(requests bool) *openapi3gen.Generator {
		return openapi3gen.NewGenerator(
			openapi3gen.CreateComponentSchemas(openapi3gen.ExportComponentSchemasOptions{
				ExportComponentSchemas: true, ExportTopLevelSchema: true}),
			openapi3gen.CreateTypeNameGenerator(componentName),
			openapi3gen.SchemaCustomizer(func(_ string, t reflect.Type, tag reflect.StructTag, s *openapi3.Schema) error {
				return customize(t, tag, s, requests)
			}),
		)
	}
	s := &schemaSet{doc: doc, requests: gen(true), answers: gen(false)}
	ref, err := s.schema(errorBody{}, false)
	if err != nil {
		panic(err)
	}
	if ref.Ref != "#/components/schemas/Error" {
		panic("the error envelope's schema is " + ref.Ref)
	}
	return s
}

// componentName names a Go type's schema: its name with a capital and
// without a View suffix ("tenantUserView" → "TenantUser").
func componentName(t reflect.Type) string {
	if n, ok := componentNames[t.Name()]; ok {
		return n
	}
	name := strings.TrimSuffix(t.Name(), "View")
	if name == "" {
		return ""
	}
	r := []rune(name)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// componentNames are the names that the rule does not give well.
var componentNames = map[string]string{
	"errorBody": "Error", "errorDetail": "ErrorDetail", "auditView": "AuditEntry", "tenantAuditView": "TenantAuditEntry",
	"body": "RecordData", "apiKeyView": "APIKey", "apiKeyAnswer": "APIKeyAnswer", "apiKeysAnswer": "APIKeysAnswer",
	"apiKeyRequest": "APIKeyRequest",
}

// customize applies the struct tags to a field's schema, and marks which
// fields an object always has.
func customize(t reflect.Type, tag reflect.StructTag, s *openapi3.Schema, requests bool) error {
	switch {
	case t == rawJSON || t == anyType:
		*s = openapi3.Schema{Description: "any JSON value"}
		if tag.Get("type") == "object" {
			s.Type = &openapi3.Types{"object"}
			s.AdditionalProperties = openapi3.AdditionalProperties{Has: openapi3.Ptr(true)}
			s.Description = ""
		}
	case t.Kind() == reflect.Struct && t != timeType:
		s.Required = requiredFields(t, requests)
		s.AdditionalProperties = openapi3.AdditionalProperties{Has: openapi3.Ptr(false)}
		return nil // a field's tags describe the field, not the shared type
	}
	if d := tag.Get("doc"); d != "" {
		s.Description = d
	}
	if e := tag.Get("enum"); e != "" {
		s.Enum = nil
		for _, v := range strings.Split(e, ",") {
			s.Enum = append(s.Enum, v)
		}
	}
	return nil
}

func requiredFields(t reflect.Type, requests bool) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" || name == "" {
			continue
		}
		if requests && f.Tag.Get("api") == "required" || !requests && !strings.Contains(opts, "omitempty") {
			out = append(out, name)
		}
	}
	return out
}

// schema is the schema of v's type, registering the component schemas it
// needs.
func (s *schemaSet) schema(v any, request bool) (*openapi3.SchemaRef, error) {
	g := s.answers
	if request {
		g = s.requests
	}
	fresh := openapi3.Schemas{}
	ref, err := g.NewSchemaRefForValue(v, fresh)
	if err != nil {
		return nil, err
	}
	for name, c := range fresh {
		if old, ok := s.doc.Components.Schemas[name]; ok && !reflect.DeepEqual(old.Value, c.Value) {
			return nil, fmt.Errorf("two types are named %s in the document (one as a request body, one as an answer?)", name)
		}
		s.doc.Components.Schemas[name] = c
	}
	return ref, nil
}

// operation is op as an OpenAPI operation of method and path.
func (s *schemaSet) operation(method, path string, op Operation, auth authKind, perm string) (*openapi3.Operation, error) {
	o := openapi3.NewOperation()
	o.OperationID = strings.ToLower(method) + strings.NewReplacer("/", "_", ":", "", "*", "", "-", "_", ".", "_").Replace(path)
	o.Summary, o.Description = op.Summary, op.Description
	o.Tags = []string{tagOf(path)}
	o.Security = security(auth)
	if perm != "" {
		o.Extensions = map[string]any{"x-permission": perm}
	}
	o.Description = strings.TrimSpace(o.Description + "\n\n" + whoMayCall(auth, perm, op.Summary))
	o.Parameters = parameters(path, op, auth)
	if op.Body != nil {
		ref, err := s.schema(op.Body, true)
		if err != nil {
			return nil, err
		}
		o.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().WithRequired(true).WithJSONSchemaRef(ref)}
	}
	o.Responses = openapi3.NewResponses()
	o.Responses.Delete("default")
	for status, body := range op.Answers {
		r, err := s.answer(status, body, op)
		if err != nil {
			return nil, err
		}
		o.Responses.Set(strconv.Itoa(status), &openapi3.ResponseRef{Value: r})
	}
	if len(op.Answers) == 0 { // an application's route it has not described
		r := openapi3.NewResponse().WithDescription("Success (the route has no description of its answer).")
		r.Content = openapi3.NewContentWithJSONSchema(&openapi3.Schema{})
		o.Responses.Set("2XX", &openapi3.ResponseRef{Value: r})
	}
	for _, status := range errorsOf(path, op, auth) {
		o.Responses.Set(strconv.Itoa(status), &openapi3.ResponseRef{Ref: "#/components/responses/E" + strconv.Itoa(status)})
	}
	return o, nil
}

func (s *schemaSet) answer(status int, body any, op Operation) (*openapi3.Response, error) {
	r := openapi3.NewResponse().WithDescription(http.StatusText(status))
	r.Headers = openapi3.Headers{"X-Request-Id": headerRef("X-Request-Id")}
	if op.ETag {
		r.Headers["ETag"] = headerRef("ETag")
	}
	switch {
	case status == http.StatusNoContent || status == http.StatusNotModified:
	case op.ContentType == "application/json":
		r.Content = openapi3.NewContentWithSchema(openapi3.NewObjectSchema(), []string{op.ContentType})
	case op.ContentType == "*/*": // files of several types, JSON among them
		r.Content = openapi3.NewContentWithSchema(&openapi3.Schema{}, []string{op.ContentType})
	case op.ContentType != "":
		r.Content = openapi3.NewContentWithSchema(openapi3.NewStringSchema(), []string{op.ContentType})
	case body != nil:
		ref, err := s.schema(body, false)
		if err != nil {
			return nil, err
		}
		r.WithJSONSchemaRef(ref)
	}
	return r, nil
}

// whoMayCall says in words what the security requirements and the
// permission say.
func whoMayCall(auth authKind, perm, summary string) string {
	switch {
	case auth == authCentral && strings.Contains(summary, "(superadmin)"):
		return "Who may call: a superadmin's access token."
	case auth == authCentral:
		return "Who may call: a central admin's access token."
	case auth == authTenant:
		return "Who may call: any user of the tenant, with an access token (API keys are refused)."
	case auth == authTenantKey && perm != "":
		return "Who may call: a user of the tenant or an API key holding the permission `" + perm + "`."
	case auth == authTenantKey:
		return "Who may call: any user or API key of the tenant."
	case auth == authOptional:
		return "Who may call: anyone; an access token changes what it does (see above)."
	default:
		return "Who may call: anyone (no credentials)."
	}
}

func security(auth authKind) *openapi3.SecurityRequirements {
	req := func(name string) openapi3.SecurityRequirement { return openapi3.SecurityRequirement{name: []string{}} }
	switch auth {
	case authCentral, authTenant:
		return &openapi3.SecurityRequirements{req("accessToken")}
	case authTenantKey:
		return &openapi3.SecurityRequirements{req("accessToken"), req("apiKey"), req("apiKeyHeader")}
	case authOptional:
		return &openapi3.SecurityRequirements{openapi3.SecurityRequirement{}, req("accessToken")}
	default:
		return &openapi3.SecurityRequirements{}
	}
}

// pathParamPatterns are the shapes of the path parameters.
var pathParamPatterns = map[string]string{
	"slug":       "^[a-z][a-z0-9-]{1,38}[a-z0-9]$",
	"collection": "^[a-z][a-z0-9_]{0,62}$",
}

func parameters(path string, op Operation, auth authKind) openapi3.Parameters {
	ps := openapi3.Parameters{{Ref: "#/components/parameters/RequestID"}}
	for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
		s := openapi3.NewStringSchema()
		s.Pattern = pathParamPatterns[m[1]]
		ps = append(ps, &openapi3.ParameterRef{Value: openapi3.NewPathParameter(m[1]).WithSchema(s)})
	}
	if isTenantPlane(path) {
		ps = append(ps, &openapi3.ParameterRef{Ref: "#/components/parameters/TenantID"})
	}
	if op.IfMatch {
		p := openapi3.NewHeaderParameter("If-Match").WithSchema(openapi3.NewStringSchema())
		p.Description = "The record's ETag: the change applies only to that version (else 412)."
		ps = append(ps, &openapi3.ParameterRef{Value: p})
	}
	for _, q := range op.Query {
		ps = append(ps, &openapi3.ParameterRef{Value: queryParam(q)})
	}
	return ps
}

func queryParam(q Param) *openapi3.Parameter {
	s := openapi3.NewStringSchema()
	switch q.Type {
	case "integer":
		s = openapi3.NewIntegerSchema()
	case "boolean":
		s = openapi3.NewStringSchema().WithEnum("true", "false")
	}
	for _, e := range q.Enum {
		s.Enum = append(s.Enum, e)
	}
	p := openapi3.NewQueryParameter(q.Name).WithSchema(s)
	if q.Map {
		p.Style, p.Explode = "deepObject", openapi3.Ptr(true)
		p.Schema = openapi3.NewObjectSchema().WithAdditionalProperties(openapi3.NewStringSchema()).NewRef()
	}
	p.Description, p.Required = q.Description, q.Required
	return p
}

func isTenantPlane(path string) bool {
	return strings.HasPrefix(path, "/api/") && !strings.HasPrefix(path, "/api/central/") &&
		path != "/api/openapi.json" && !strings.HasPrefix(path, "/api/docs")
}

// errorsOf lists the error statuses of a route: what every route of its
// kind can answer, and the operation's own.
func errorsOf(path string, op Operation, auth authKind) []int {
	// Any request may carry a body, and every route refuses one that is
	// too large or not JSON.
	set := map[int]bool{413: true, 415: true, 500: true}
	for _, s := range op.Errors {
		set[s] = true
	}
	if !strings.HasPrefix(path, "/api/") || path == "/api/openapi.json" || strings.HasPrefix(path, "/api/docs") {
		return sortedStatuses(set)
	}
	set[503] = true
	set[400] = true
	if auth != authNone {
		set[401], set[403] = true, true
	}
	if strings.Contains(path, ":") {
		set[404] = true
	}
	if isTenantPlane(path) {
		set[400], set[403], set[404] = true, true, true // no tenant named; tenant not active; no such tenant
	}
	return sortedStatuses(set)
}

func sortedStatuses(set map[int]bool) []int {
	out := make([]int, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Ints(out)
	return out
}

// toJSONSchema2020 rewrites OpenAPI 3.0's nullable into 3.1's type lists
// (the schema generator speaks 3.0).
func toJSONSchema2020(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	var walk func(s *openapi3.Schema)
	walk = func(s *openapi3.Schema) {
		if s == nil || seen[s] {
			return
		}
		seen[s] = true
		if s.Nullable {
			s.Nullable = false
			if s.Type != nil {
				t := append(s.Type.Clone(), "null")
				s.Type = &t
			}
		}
		for _, p := range s.Properties {
			walk(p.Value)
		}
		if s.Items != nil {
			walk(s.Items.Value)
		}
		if s.AdditionalProperties.Schema != nil {
			walk(s.AdditionalProperties.Schema.Value)
		}
	}
	for _, c := range doc.Components.Schemas {
		walk(c.Value)
	}
}
