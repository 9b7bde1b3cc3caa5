package router

import (
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"
)

// Every route the router serves is described, and every description
// names a route the router serves.
func TestOperationsDescribeEveryRoute(t *testing.T) {
	e := gin.New()
	h := &handlers{}
	routes(e, h, http.NotFoundHandler(), nil)
	served := map[string]bool{}
	for _, r := range e.Routes() {
		key := r.Method + " " + r.Path
		served[key] = true
		if _, ok := operationFor(key, TenantRoute{}); !ok {
			t.Errorf("%s is served but has no entry in operations", key)
		}
	}
	for key := range operations {
		if !served[key] {
			t.Errorf("operations describes %s, which the router does not serve", key)
		}
	}
	for key, op := range operations {
		if op.Summary == "" || len(op.Answers) == 0 {
			t.Errorf("%s: a summary and at least one success answer are needed", key)
		}
	}
}

// An application's route without a description still gets one.
func TestUndescribedRouteIsDocumented(t *testing.T) {
	extra := []TenantRoute{{Method: "GET", Path: "/widgets", Handler: func(*gin.Context) {}}}
	e := gin.New()
	routes(e, &handlers{}, http.NotFoundHandler(), extra)
	doc, err := apiDocument(e.Routes(), append(tenantRoutes(&handlers{}), extra...))
	if err != nil {
		t.Fatal(err)
	}
	op := doc.Paths.Value("/api/widgets").Get
	if op == nil || op.Summary != "GET /api/widgets" || len(*op.Security) != 3 {
		t.Fatalf("%+v", op)
	}
}
