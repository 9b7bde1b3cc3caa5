package browser_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/silo-dev/silo/internal/assembly/app"
	"github.com/silo-dev/silo/internal/assembly/cli"
	"github.com/silo-dev/silo/internal/testsupport/testsilo"
)

// site is the Silo the scenarios run against and the tenants made on it.
type site struct {
	*testsilo.Env
	tenants map[string]bool
}

// ensure creates testsilo.TenantOf(slug) (admin@<slug>.test) once and
// returns its admin's access token.
func (s *site) ensure(t *testing.T, slug string) string {
	t.Helper()
	if !s.tenants[slug] {
		s.Client.CreateTenant(t, s.AdminToken(), testsilo.TenantOf(slug))
		s.tenants[slug] = true
	}
	return s.TenantLogin(t, slug, testsilo.TenantOf(slug).AdminEmail, testsilo.Password).Str("access_token")
}

// tenant is the setup of a scenario that needs tenant slug with its admin.
func tenant(slug string) func(*testing.T, *site) map[string]string {
	return func(t *testing.T, s *site) map[string]string {
		s.ensure(t, slug)
		return map[string]string{"TENANT": slug, "TENANT_EMAIL": testsilo.TenantOf(slug).AdminEmail}
	}
}

// member: tenant acme and a member, whom the scenario deactivates.
func member(t *testing.T, s *site) map[string]string {
	s.ensure(t, "acme")
	const email = "member@acme.test"
	id := s.SignUp(t, "acme", email, testsilo.Password)
	return map[string]string{"TENANT": "acme", "MEMBER_EMAIL": email, "MEMBER_ID": id}
}

// impersonation: tenant initech and the id of its admin, whom the central
// superadmin acts as.
func impersonation(t *testing.T, s *site) map[string]string {
	token := s.ensure(t, "initech")
	me := s.Expect(t, http.StatusOK, "", testsilo.Request{Method: "GET", Path: "/api/auth/me", Tenant: "initech", Token: token})
	id, _ := me.Obj("user")["id"].(string)
	return map[string]string{"TENANT": "initech", "TENANT_EMAIL": testsilo.TenantOf("initech").AdminEmail, "TENANT_USER_ID": id}
}

// record: tenant stark and a record in its collection todos, which the
// scenario edits in two browsers at once.
func record(t *testing.T, s *site) map[string]string {
	token := s.ensure(t, "stark")
	r := s.Expect(t, http.StatusCreated, "", testsilo.Request{Method: "POST", Path: "/api/collections/todos/records",
		Tenant: "stark", Token: token, Body: map[string]any{"data": map[string]any{"title": "Ship the console", "done": false}}})
	id, _ := r.Obj("record")["id"].(string)
	return map[string]string{"TENANT": "stark", "TENANT_EMAIL": testsilo.TenantOf("stark").AdminEmail,
		"COLLECTION": "todos", "RECORD_ID": id}
}

// fleet: a few tenants for a fleet run to go through.
func fleet(t *testing.T, s *site) map[string]string {
	for _, slug := range []string{"fleet-a", "fleet-b", "fleet-c"} {
		s.ensure(t, slug)
	}
	return map[string]string{}
}

// fleetRun runs a fleet migration (silo migrate tenants up) on the
// scenarios' Silo, as an operator would from another terminal.
func fleetRun(s *site) error {
	var out, errOut strings.Builder
	getenv := func(k string) string { return s.Settings[k] }
	err := cli.Run(context.Background(), app.Extensions{}, []string{"migrate", "tenants", "up"}, getenv, strings.NewReader(""), &out, &errOut)
	if err != nil {
		return fmt.Errorf("silo migrate tenants up: %w: %s", err, errOut.String())
	}
	return nil
}
