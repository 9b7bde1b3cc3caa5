package testsilo

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// documents holds each Silo's OpenAPI document, fetched once per server.
var documents sync.Map // URL → *document

type document struct {
	once   sync.Once
	router routers.Router
	err    error
}

// conform checks an answer against the OpenAPI document the server itself
// serves at /api/openapi.json: its status is one the route documents, its
// headers and its body match their schemas. Answers to requests that match
// no documented route (404 and 405 of unknown paths) are left to Check.
func (c *Client) conform(req *http.Request, res *Response) error {
	v, _ := documents.LoadOrStore(c.URL, &document{})
	d := v.(*document)
	d.once.Do(func() { d.router, d.err = c.loadDocument() })
	if d.err != nil {
		return fmt.Errorf("the server's OpenAPI document: %w", d.err)
	}
	route, params, err := d.router.FindRoute(req)
	if err != nil || unrouted(res) {
		return nil
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 res.Status,
		Header:                 res.Header,
		// A HEAD answer has its GET's headers and no body; the bodies checked
		// are JSON (the others are pages, scripts and metrics text).
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true,
			ExcludeResponseBody: req.Method == http.MethodHead || !isJSON(res.Header.Get("Content-Type"))},
	}
	in.SetBodyBytes(res.Raw)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		msg, body := err.Error(), string(res.Raw)
		if len(msg) > 2000 {
			msg = msg[:2000] + "…"
		}
		if len(body) > 1000 {
			body = body[:1000] + "…"
		}
		return fmt.Errorf("%s %s answered %d, which does not match the OpenAPI document: %s\nbody: %s",
			req.Method, req.URL.Path, res.Status, msg, body)
	}
	return nil
}

func (c *Client) loadDocument() (routers.Router, error) {
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Get(c.URL + "/api/openapi.json")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/openapi.json answered %d", res.StatusCode)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("invalid: %w", err)
	}
	doc.Servers = nil // match paths whatever the test server's address
	return legacy.NewRouter(doc)
}

// unrouted is the answer to a request the router matched to no route
// (the document's path matching forgives a trailing slash; gin does not).
func unrouted(res *Response) bool {
	e, _ := res.JSON["error"].(map[string]any)
	return res.Status == http.StatusNotFound && e["message"] == "No such route" ||
		res.Status == http.StatusMethodNotAllowed
}

func isJSON(contentType string) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	return mt == "application/json"
}
