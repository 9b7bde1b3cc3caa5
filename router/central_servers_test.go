package router_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/internal/assembly/app"
	"github.com/silo-dev/silo/internal/testsupport/testdb"
	"github.com/silo-dev/silo/internal/testsupport/testsilo"
)

// adminPrivileges are what a tenant admin account needs (tenantdb.AdminPrivileges).
const adminPrivileges = "SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, REFERENCES, CREATE USER"

// dbAccount creates the DB user name@'%' with password and privs ON *.*
// (WITH GRANT OPTION when grant), dropped when t ends, and returns its DSN
// on the test server.
func dbAccount(t *testing.T, name, password, privs string, grant bool) string {
	t.Helper()
	root := testdb.Server(t)
	t.Cleanup(func() {
		_, _ = root.Exec("DROP USER IF EXISTS ?@'%'", name)
		root.Close()
	})
	if _, err := root.Exec("CREATE USER ?@'%' IDENTIFIED BY ?", name, password); err != nil {
		t.Fatal(err)
	}
	q := "GRANT " + privs + " ON *.* TO ?@'%'"
	if grant {
		q += " WITH GRANT OPTION"
	}
	if _, err := root.Exec(q, name); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s:%s@tcp(127.0.0.1:3306)/", name, password)
}

// noSecrets fails t when raw shows a DSN, a password field or any of secrets.
func noSecrets(t *testing.T, raw []byte, secrets ...string) {
	t.Helper()
	for _, s := range append([]string{`"dsn":`, `"password":`, `"passwordEnc":`, `"PasswordEnc":`, `"DSN":`}, secrets...) {
		if bytes.Contains(raw, []byte(s)) {
			t.Fatalf("the answer shows %q: %s", s, raw)
		}
	}
}

func detailMessages(r *testsilo.Response) string {
	e, _ := r.JSON["error"].(map[string]any)
	ds, _ := e["details"].([]any)
	var out []string
	for _, d := range ds {
		m, _ := d.(map[string]any)
		out = append(out, fmt.Sprint(m["field"], ": ", m["message"]))
	}
	return strings.Join(out, "\n")
}

func TestServerRegistry(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	super := s.AdminToken()
	_, adminTok := s.AddAdmin(t, super, "plain@example.com", "admin")
	s.Tenant(t, testsilo.TenantOf("acme"))
	const pw = "Adm1n-Secret-pw"
	full := dbAccount(t, s.prefix+"adm", pw, adminPrivileges, true)
	readOnly := dbAccount(t, s.prefix+"ro", pw+"ro", "SELECT", false)
	req := func(method, path, token string, body any) testsilo.Request {
		return testsilo.Request{Method: method, Path: "/api/central/servers" + path, Token: token, Body: body}
	}

	t.Run("ListAsAdmin", func(t *testing.T) {
		r := s.Expect(t, 200, "", req("GET", "", adminTok, nil))
		noSecrets(t, r.Raw)
		list := r.List("servers")
		if len(list) != 1 || list[0]["name"] != "default" || list[0]["tenants"] != 1.0 || list[0]["status"] != "active" ||
			list[0]["capacity"] != 10000.0 || !strings.Contains(list[0]["version"].(string), "MariaDB") && list[0]["version"] != "" {
			t.Fatalf("servers %v", list)
		}
		s.Expect(t, 200, "", req("GET", "/default", adminTok, nil))
	})
	t.Run("AdminMayNotChange", func(t *testing.T) {
		s.Expect(t, 403, "FORBIDDEN", req("POST", "", adminTok, map[string]any{"name": "second", "dsn": full}))
		s.Expect(t, 403, "FORBIDDEN", req("PATCH", "/default", adminTok, map[string]any{"status": "draining"}))
		s.Expect(t, 403, "FORBIDDEN", req("DELETE", "/default", adminTok, nil))
		s.Expect(t, 401, "UNAUTHENTICATED", req("GET", "", "", nil))
	})
	t.Run("Add", func(t *testing.T) {
		r := s.Expect(t, 201, "", req("POST", "", super, map[string]any{"name": "second", "dsn": full, "capacity": 5,
			"labels": map[string]string{"region": "eu", "tier": "dedicated"}, "connsMax": 7, "sparePool": 2}))
		noSecrets(t, r.Raw, pw)
		v := r.Obj("server")
		if v["name"] != "second" || v["host"] != "127.0.0.1:3306" || v["status"] != "active" || v["capacity"] != 5.0 ||
			v["connsMax"] != 7.0 || v["sparePool"] != 2.0 || v["tenants"] != 0.0 || v["spares"] != 0.0 ||
			!strings.Contains(v["version"].(string), "MariaDB") || v["checkedAt"] == nil || v["lastError"] != nil ||
			v["labels"].(map[string]any)["region"] != "eu" {
			t.Fatalf("server %s", r.Raw)
		}
		r = s.Expect(t, 200, "", req("GET", "", super, nil))
		noSecrets(t, r.Raw, pw)
		if len(r.List("servers")) != 2 {
			t.Fatalf("servers %s", r.Raw)
		}
		r = s.Expect(t, 200, "", req("GET", "/second", adminTok, nil))
		noSecrets(t, r.Raw, pw)
		var stored []byte
		if err := s.db.Get(&stored, "SELECT CONCAT(dsn, password_enc) FROM db_servers WHERE name = 'second'"); err != nil || bytes.Contains(stored, []byte(pw)) {
			t.Fatalf("the password is stored in clear (%v)", err)
		}
		s.Expect(t, 409, "SERVER_EXISTS", req("POST", "", super, map[string]any{"name": "second", "dsn": full}))
	})
	t.Run("AddRefusesBadInput", func(t *testing.T) {
		cases := []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"name": "Bad_Name", "dsn": full}, "name"},
			{map[string]any{"name": "", "dsn": full}, "name"},
			{map[string]any{"name": "a" + strings.Repeat("b", 31), "dsn": full}, "name"},
			{map[string]any{"name": "third"}, "dsn"},
			{map[string]any{"name": "third", "dsn": "u:" + pw + "@tcp(127.0.0.1:3306"}, "dsn"},
			{map[string]any{"name": "third", "dsn": "@tcp(127.0.0.1:3306)/"}, "dsn"},
			{map[string]any{"name": "third", "dsn": strings.TrimSuffix(full, "/") + "/somedb"}, "dsn"},
			{map[string]any{"name": "third", "dsn": full, "capacity": 0}, "capacity"},
			{map[string]any{"name": "third", "dsn": full, "connsMax": -1}, "connsMax"},
			{map[string]any{"name": "third", "dsn": full, "sparePool": -1}, "sparePool"},
			{map[string]any{"name": "third", "dsn": full, "labels": map[string]string{"Bad Key": "x"}}, "labels"},
			{map[string]any{"name": "third", "dsn": full, "labels": map[string]string{"ok": "bad value!"}}, "labels"},
			{map[string]any{"name": "third", "dsn": full, "extra": 1}, "extra"},
		}
		for _, c := range cases {
			r := s.Expect(t, 400, "", req("POST", "", super, c.body))
			if !r.Details()[c.field] {
				t.Errorf("%v: details %s, want field %s", c.body, r.Raw, c.field)
			}
			noSecrets(t, r.Raw, pw)
		}
		many := map[string]string{}
		for i := 0; i < 17; i++ {
			many[fmt.Sprintf("k%d", i)] = "v"
		}
		if r := s.Expect(t, 400, "VALIDATION_FAILED", req("POST", "", super, map[string]any{"name": "third", "dsn": full, "labels": many})); !r.Details()["labels"] {
			t.Errorf("17 labels: %s", r.Raw)
		}
		s.Expect(t, 404, "SERVER_NOT_FOUND", req("GET", "/third", super, nil))
	})
	t.Run("AddRefusesAnAccountWithoutPrivileges", func(t *testing.T) {
		r := s.Expect(t, 400, "VALIDATION_FAILED", req("POST", "", super, map[string]any{"name": "third", "dsn": readOnly}))
		noSecrets(t, r.Raw, pw)
		msgs := detailMessages(r)
		for _, p := range []string{"INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "INDEX", "REFERENCES", "CREATE USER", "GRANT OPTION"} {
			if !strings.Contains(msgs, "lacks the "+p+" privilege") {
				t.Errorf("%s not named:\n%s", p, msgs)
			}
		}
		if strings.Contains(msgs, "the SELECT privilege") {
			t.Errorf("SELECT is held:\n%s", msgs)
		}
		s.Expect(t, 404, "SERVER_NOT_FOUND", req("GET", "/third", super, nil))
	})
	t.Run("AddRefusesAnUnreachableServer", func(t *testing.T) {
		r := s.Expect(t, 400, "VALIDATION_FAILED", req("POST", "", super, map[string]any{"name": "third", "dsn": "u:" + pw + "@tcp(127.0.0.1:1)/"}))
		if !strings.Contains(detailMessages(r), "could not connect to 127.0.0.1:1") {
			t.Fatalf("%s", r.Raw)
		}
		noSecrets(t, r.Raw, pw)
		r = s.Expect(t, 400, "VALIDATION_FAILED", req("POST", "", super, map[string]any{"name": "third", "dsn": s.prefix + "adm:wrong-" + pw + "@tcp(127.0.0.1:3306)/"}))
		if !strings.Contains(detailMessages(r), "Access denied") {
			t.Fatalf("%s", r.Raw)
		}
		noSecrets(t, r.Raw, pw)
	})
	t.Run("Patch", func(t *testing.T) {
		s.Expect(t, 404, "SERVER_NOT_FOUND", req("PATCH", "/nope", super, map[string]any{"status": "draining"}))
		s.Expect(t, 404, "SERVER_NOT_FOUND", req("PATCH", "/Bad_Name", super, map[string]any{"status": "draining"}))
		for _, body := range []map[string]any{{"status": "paused"}, {"capacity": 0}, {"connsMax": -3}, {"sparePool": "x"},
			{"labels": map[string]string{"": "x"}}, {"dsn": "nonsense"}} {
			r := s.Expect(t, 400, "", req("PATCH", "/second", super, body))
			if len(r.Details()) == 0 {
				t.Errorf("%v: %s", body, r.Raw)
			}
		}
		r := s.Expect(t, 200, "", req("PATCH", "/second", super, map[string]any{"status": "draining"}))
		if r.Obj("server")["status"] != "draining" {
			t.Fatalf("%s", r.Raw)
		}
		if r := s.Expect(t, 200, "", req("GET", "/second", adminTok, nil)); r.Obj("server")["status"] != "draining" || r.Obj("server")["capacity"] != 5.0 {
			t.Fatalf("%s", r.Raw)
		}
		r = s.Expect(t, 200, "", req("PATCH", "/second", super, map[string]any{"capacity": 9, "labels": map[string]string{"region": "us"}, "connsMax": 0, "sparePool": nil}))
		v := r.Obj("server")
		if v["capacity"] != 9.0 || v["connsMax"] != 0.0 || v["sparePool"] != nil || len(v["labels"].(map[string]any)) != 1 || v["status"] != "draining" {
			t.Fatalf("%s", r.Raw)
		}
		r = s.Expect(t, 400, "VALIDATION_FAILED", req("PATCH", "/default", super, map[string]any{"dsn": full}))
		if !strings.Contains(detailMessages(r), "SILO_TENANT_ADMIN_DSN") {
			t.Fatalf("%s", r.Raw)
		}
		r = s.Expect(t, 400, "VALIDATION_FAILED", req("PATCH", "/second", super, map[string]any{"dsn": readOnly}))
		noSecrets(t, r.Raw, pw)
		s.Expect(t, 400, "VALIDATION_FAILED", req("PATCH", "/second", super, map[string]any{"dsn": "u:" + pw + "@tcp(127.0.0.1:1)/"}))
		r = s.Expect(t, 200, "", req("PATCH", "/second", super, map[string]any{"dsn": full, "status": "active"}))
		noSecrets(t, r.Raw, pw)
		if r.Obj("server")["status"] != "active" || r.Obj("server")["checkedAt"] == nil {
			t.Fatalf("%s", r.Raw)
		}
	})
	t.Run("Remove", func(t *testing.T) {
		s.Expect(t, 404, "SERVER_NOT_FOUND", req("DELETE", "/nope", super, nil))
		s.Expect(t, 409, "CONFLICT", req("DELETE", "/default", super, nil)) // the tenant acme lives there
		catalog := central.NewCatalog(s.db, s.cfg.DBName)
		spare := &central.Spare{DatabaseName: s.prefix + "spare", DatabaseHost: "127.0.0.1:3306", Server: "second", DBUser: s.prefix + "spareu", DBPasswordEnc: []byte{1}}
		if err := catalog.AddSpare(context.Background(), spare); err != nil {
			t.Fatal(err)
		}
		if r := s.Expect(t, 200, "", req("GET", "/second", super, nil)); r.Obj("server")["spares"] != 1.0 {
			t.Fatalf("%s", r.Raw)
		}
		s.Expect(t, 409, "CONFLICT", req("DELETE", "/second", super, nil))
		if err := catalog.RemoveSpare(context.Background(), spare.DatabaseName); err != nil {
			t.Fatal(err)
		}
		s.Expect(t, 204, "", req("DELETE", "/second", super, nil))
		s.Expect(t, 404, "SERVER_NOT_FOUND", req("GET", "/second", super, nil))
		s.Expect(t, 404, "SERVER_NOT_FOUND", req("DELETE", "/second", super, nil))
	})
	t.Run("Audited", func(t *testing.T) {
		a := s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: "/api/central/audit?limit=100", Token: super})
		for _, action := range []string{"server.add", "server.update", "server.remove"} {
			if !bytes.Contains(a.Raw, []byte(`"`+action+`"`)) {
				t.Errorf("no %s in the audit log", action)
			}
		}
		noSecrets(t, a.Raw, pw)
	})
}

// lockedLog is a log destination many goroutines write.
type lockedLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// A DSN's password appears neither in answers nor in the log, whatever
// is wrong with the DSN.
func TestServerPasswordNeverLogged(t *testing.T) {
	t.Parallel()
	install := testdb.Config(t, map[string]string{
		"SILO_BASE_DOMAIN": "silo.test", "SILO_JWT_SECRET": testSecret, "SILO_JWT_KID": testKID,
		"SILO_MASTER_KEY": base64.StdEncoding.EncodeToString(testMasterKey), "SILO_BCRYPT_COST": "4",
	})
	logs := &lockedLog{}
	e := testsilo.StartApp(t, install, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), app.Options{}, false)
	super := e.AdminToken()
	const pw = "Never-Log-Me-42"
	full := dbAccount(t, install.TenantDBPrefix+"adm", pw, adminPrivileges, true)
	readOnly := dbAccount(t, install.TenantDBPrefix+"ro", pw, "SELECT", false)
	r := e.Expect(t, 201, "", testsilo.Request{Method: "POST", Path: "/api/central/servers", Token: super, Body: map[string]any{"name": "other", "dsn": full}})
	noSecrets(t, r.Raw, pw)
	for _, dsn := range []string{
		"u:" + pw + "@tcp(127.0.0.1:3306", "u:" + pw + "@tcp(127.0.0.1:1)/", "u:" + pw + "@tcp(127.0.0.1:3306)/db",
		install.TenantDBPrefix + "adm:x" + pw + "@tcp(127.0.0.1:3306)/", readOnly, "u:" + pw + "@bogus(127.0.0.1)/",
	} {
		for _, r := range []*testsilo.Response{
			e.Expect(t, 400, "VALIDATION_FAILED", testsilo.Request{Method: "POST", Path: "/api/central/servers", Token: super, Body: map[string]any{"name": "another", "dsn": dsn}}),
			e.Expect(t, 400, "VALIDATION_FAILED", testsilo.Request{Method: "PATCH", Path: "/api/central/servers/other", Token: super, Body: map[string]any{"dsn": dsn}}),
		} {
			noSecrets(t, r.Raw, pw)
		}
	}
	if !strings.Contains(logs.String(), "request refused") {
		t.Fatalf("the log is not captured:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), pw) {
		t.Fatalf("the password is in the log:\n%s", logs.String())
	}
	root := testdb.Server(t)
	defer root.Close()
	var n int
	if err := root.QueryRow("SELECT COUNT(*) FROM `"+install.CentralDSN.DBName+"`.audit_log WHERE detail LIKE ?", "%"+pw+"%").Scan(&n); err != nil || n > 0 {
		t.Fatalf("the password is in the audit log %d times (%v)", n, err)
	}
}

// docs/API.md has a row for every database-server route the router serves.
func TestDocsListServerRoutes(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../docs/API.md")
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(t)
	r := s.Expect(t, 200, "", testsilo.Request{Method: "GET", Path: "/api/openapi.json"})
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(r.Raw, &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	for path, ops := range doc.Paths {
		if !strings.HasPrefix(path, "/api/central/servers") {
			continue
		}
		for method := range ops {
			n++
			row := "| `" + strings.ToUpper(method) + " " + strings.ReplaceAll(path, "{name}", ":name") + "` |"
			if !strings.Contains(string(b), row) {
				t.Errorf("docs/API.md has no row %s", row)
			}
		}
	}
	if n != 5 {
		t.Errorf("%d server routes in the OpenAPI document, want 5", n)
	}
}
