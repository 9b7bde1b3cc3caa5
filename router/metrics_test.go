package router_test

import (
	"errors"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/silo-dev/silo"
	"github.com/silo-dev/silo/internal/testsupport/testsilo"
	"github.com/silo-dev/silo/router"
)

// metricLine is one sample of the text format: name, labels, value.
var metricLine = regexp.MustCompile(`^([a-z_]+)\{(.*)\} (\S+)$`)

// TestRequestDurationByStatusClass: after a 2xx, a 4xx and a 5xx answer,
// /metrics times requests by method, route and status class, and
// docs/tenant-plane.md names the labels each request metric has.
func TestRequestDurationByStatusClass(t *testing.T) {
	t.Parallel()
	boom := router.TenantRoute{Method: "GET", Path: "/boom", Handler: func(c *gin.Context) { router.Fail(c, errors.New("boom")) }}
	e := testsilo.Start(t, nil, silo.WithTenantRoutes(boom))
	admin := e.CreateTenant("acme")
	e.Expect(t, http.StatusOK, "", testsilo.Request{Method: "GET", Path: "/healthz"})
	e.Expect(t, http.StatusUnauthorized, "UNAUTHENTICATED", testsilo.Request{Method: "GET", Path: "/api/central/auth/me"})
	e.Expect(t, http.StatusInternalServerError, "INTERNAL", testsilo.Request{Method: "GET", Path: "/api/boom", Tenant: "acme", Token: admin})

	r := e.Do(t, testsilo.Request{Method: "GET", Path: "/metrics"})
	if r.Status != http.StatusOK {
		t.Fatalf("/metrics: %d", r.Status)
	}
	samples := map[string]bool{}
	labelsOf := map[string][]string{} // metric → its label names
	for _, line := range strings.Split(string(r.Raw), "\n") {
		m := metricLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		samples[m[1]+"{"+m[2]+"}"] = true
		var names []string
		for _, pair := range strings.Split(m[2], ",") {
			name, _, _ := strings.Cut(pair, "=")
			if name != "le" {
				names = append(names, name)
			}
		}
		labelsOf[strings.TrimSuffix(m[1], "_count")] = names
	}
	for _, want := range []string{
		`silo_http_request_duration_seconds_count{method="GET",route="/healthz",status_class="2xx"}`,
		`silo_http_request_duration_seconds_count{method="GET",route="/api/central/auth/me",status_class="4xx"}`,
		`silo_http_request_duration_seconds_count{method="GET",route="/api/boom",status_class="5xx"}`,
		`silo_http_requests_total{method="GET",route="/api/boom",status="500"}`,
	} {
		if !samples[want] {
			t.Errorf("/metrics has no %s:\n%s", want, r.Raw)
		}
	}

	doc, err := os.ReadFile("../docs/tenant-plane.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, metric := range []string{"silo_http_requests_total", "silo_http_request_duration_seconds"} {
		row := "| `" + metric + "` |"
		i := strings.Index(string(doc), row)
		if i < 0 {
			t.Errorf("docs/tenant-plane.md has no row %s", row)
			continue
		}
		line := string(doc[i : i+strings.IndexByte(string(doc[i:]), '\n')])
		names := labelsOf[metric]
		if len(names) == 0 {
			t.Errorf("/metrics has no sample of %s", metric)
		}
		for _, name := range names {
			if !strings.Contains(line, "`"+name+"`") {
				t.Errorf("docs/tenant-plane.md row of %s does not name its label %s: %s", metric, name, line)
			}
		}
		if metric == "silo_http_request_duration_seconds" && !slices.Contains(names, "status_class") {
			t.Errorf("%s has labels %q, without status_class", metric, names)
		}
	}
}
