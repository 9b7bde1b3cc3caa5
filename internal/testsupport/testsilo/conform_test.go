package testsilo

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const tinyDocument = `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/thing":{"get":{
 "responses":{"200":{"description":"ok","content":{"application/json":{"schema":{
  "type":"object","required":["n"],"properties":{"n":{"type":"integer"}},"additionalProperties":false}}}}}}}}}`

// The client fails an answer that its server's own document does not
// describe: a wrong body, an undocumented status; and passes one it does.
func TestClientChecksAnswersAgainstTheDocument(t *testing.T) {
	answer := `{"n":1}`
	status := 200
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/api/openapi.json" {
			_, _ = w.Write([]byte(tinyDocument))
			return
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(answer))
	}))
	defer srv.Close()
	c := &Client{URL: srv.URL}
	if _, err := c.Send(Request{Method: "GET", Path: "/thing"}); err != nil {
		t.Fatalf("a conforming answer was refused: %v", err)
	}
	for _, bad := range []struct {
		status int
		body   string
		want   string
	}{
		{200, `{"n":"one"}`, "/n"},
		{200, `{"n":1,"extra":true}`, "extra"},
		{200, `{}`, "n"},
		{418, `{"n":1}`, "status is not supported"},
	} {
		status, answer = bad.status, bad.body
		_, err := c.Send(Request{Method: "GET", Path: "/thing"})
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%d %s: err = %v, want one naming %q", bad.status, bad.body, err, bad.want)
		}
	}
}
