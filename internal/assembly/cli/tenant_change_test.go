package cli

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestTenantInvite(t *testing.T) {
	t.Parallel()
	e := newTenantEnv(t)
	e.silo(t, "tenant", "create", "--slug", "acme", "--name", "Acme")
	db := e.tenantDB("acme")
	invitations := func() int { return e.count(t, "SELECT COUNT(*) FROM `"+db+"`.invitations") }

	out := e.silo(t, "tenant", "invite", "acme", "--email", "Boss@Acme.io", "--role", "tenant_admin")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	token, ok := strings.CutPrefix(lines[len(lines)-1], "token (shown once): ")
	if len(lines) != 2 || !ok || token == "" || !strings.HasPrefix(lines[0], "invited boss@acme.io into acme as tenant_admin; the invitation expires at ") {
		t.Fatalf("invite printed:\n%s", out)
	}
	v := decodeObject(t, e.silo(t, "tenant", "invite", "acme", "--email", "member@acme.io", "--role", "member", "--json"))
	inv, _ := v["invitation"].(map[string]any)
	if inv["email"] != "member@acme.io" || inv["role"] != "member" || inv["status"] != "pending" || v["token"] == "" || v["token"] == nil {
		t.Fatalf("invite --json: %v", v)
	}

	// Refused: nothing is written.
	e.silo(t, "tenant", "create", "--slug", "idle", "--name", "Idle")
	e.silo(t, "tenant", "suspend", "idle")
	for args, want := range map[string]string{
		"acme --email nope --role member":               "--email must be a valid email address",
		"acme --email x@acme.io":                        "--role is required",
		"acme --email x@acme.io --role owner":           "--role",
		"nosuch --email x@acme.io --role member":        "Tenant not found",
		"idle --email x@acme.io --role member":          "The tenant is not active",
		"acme --email x@acme.io --role member --bogus=": "unknown flag: --bogus",
	} {
		_, _, err := runCmd(t, e.env, append([]string{"tenant", "invite"}, strings.Fields(args)...)...)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("invite %s: %v, want %q", args, err, want)
		}
	}
	if n := invitations(); n != 2 {
		t.Fatalf("%d invitations, want 2", n)
	}

	// The token is what the HTTP route hands out: the invitee accepts it.
	url, stop := startServe(t, e.env)
	req, _ := http.NewRequest("POST", url+"/api/invitations/accept",
		strings.NewReader(fmt.Sprintf(`{"token": %q, "password": "correct horse battery", "firstName": "B", "lastName": "O"}`, token)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Tenant-ID", "acme")
	if status, body := do(t, req); status != http.StatusCreated {
		t.Fatalf("accepting the token: %d %v", status, body)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// Both audit logs name the operator.
	got := e.auditOf(t, "tenant.invite")
	if len(got) != 2 || got[0] != "tenant.invite acme cli/operator success" || got[1] != got[0] {
		t.Fatalf("central audit log: %q", got)
	}
	var kind, id string
	err := e.root.QueryRow("SELECT actor_kind, actor_id FROM `"+db+"`.audit_log WHERE action = 'invitation.create' ORDER BY id LIMIT 1").Scan(&kind, &id)
	if err != nil || kind != "cli" || id != "operator" {
		t.Fatalf("tenant audit log: %s/%s %v", kind, id, err)
	}
}

func TestTenantRenameAndDomains(t *testing.T) {
	t.Parallel()
	e := newTenantEnv(t)
	e.silo(t, "tenant", "create", "--slug", "acme", "--name", "Acme", "--domain", "acme.io")
	e.silo(t, "tenant", "create", "--slug", "beta", "--name", "Beta", "--domain", "beta.io")
	state := func() string {
		v := e.tenantJSON(t, "acme")
		return fmt.Sprint(v["slug"], " ", v["name"], " ", v["domains"])
	}

	_, rows := tableRows(t, e.silo(t, "tenant", "rename", "acme", "--name", "  Acme Corp "))
	checkRow(t, rows[0], "acme", "Acme Corp", "active", e.tenantDB("acme"))
	if got := state(); got != "acme Acme Corp [acme.io]" {
		t.Fatalf("after rename: %s", got)
	}
	v := decodeObject(t, e.silo(t, "tenant", "domains", "add", "acme", "WWW.Acme.io.", "acme.dev", "--json"))
	if fmt.Sprint(v["domains"]) != "[acme.dev acme.io www.acme.io]" || v["name"] != "Acme Corp" {
		t.Fatalf("domains add: %v", v)
	}
	e.silo(t, "tenant", "domains", "remove", "acme", "ACME.IO")
	if got := state(); got != "acme Acme Corp [acme.dev www.acme.io]" {
		t.Fatalf("after domains remove: %s", got)
	}

	before := state()
	for args, want := range map[string]string{
		"rename acme --name":             "--name is required",
		"rename nosuch --name X":         "Tenant not found",
		"domains add acme acme.dev":      "tenant acme already has the domain acme.dev (nothing was changed)",
		"domains add acme not_a_domain":  `DOMAIN is not a valid domain name: "not_a_domain"`,
		"domains add acme new.io new.io": "DOMAIN: new.io is listed twice",
		"domains add acme beta.io":       "A domain is already mapped to another tenant",
		"domains remove acme nope.io":    `tenant acme has no domain "nope.io" (nothing was changed)`,
		"domains remove nosuch acme.dev": "Tenant not found",
		"domains add":                    "missing SLUG",
	} {
		argv := append([]string{"tenant"}, strings.Fields(args)...)
		if strings.HasSuffix(args, "--name") {
			argv = append(argv, "")
		}
		_, _, err := runCmd(t, e.env, argv...)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("tenant %s: %v, want %q", args, err, want)
		}
	}
	if got := state(); got != before {
		t.Fatalf("the refused commands changed the tenant: %s, was %s", got, before)
	}
	if v := e.tenantJSON(t, "beta"); fmt.Sprint(v["domains"]) != "[beta.io]" {
		t.Fatalf("beta: %v", v)
	}

	got := e.auditOf(t, "tenant.update")
	if len(got) != 3 {
		t.Fatalf("audit log: %q", got)
	}
	for _, entry := range got {
		if entry != "tenant.update acme cli/operator success" {
			t.Fatalf("audit entry %q", entry)
		}
	}
}
