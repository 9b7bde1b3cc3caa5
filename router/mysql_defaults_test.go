package router_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/silo-dev/silo/internal/testsupport/testdb"
	"github.com/silo-dev/silo/internal/testsupport/testsilo"
)

// TestManyRolesUnderMySQLDefaults: a user whose role names add up to more
// than 1024 bytes gets every one of them back, whole, on a server that
// cuts GROUP_CONCAT at 1024 bytes as MySQL does by default (MariaDB's
// default is 1 MiB, so every connection of this installation sets
// MySQL's).
func TestManyRolesUnderMySQLDefaults(t *testing.T) {
	t.Parallel()
	central := testdb.Central(t)
	central.Params["group_concat_max_len"] = "1024"
	e := testsilo.Start(t, map[string]string{"SILO_CENTRAL_DSN": central.FormatDSN()})
	if n := sessionGroupConcatMax(t, e.Config.TenantAdminDSN); n != 1024 {
		t.Fatalf("group_concat_max_len is %d on the tenant server's connections, want MySQL's default 1024", n)
	}

	admin := e.CreateTenant("acme")
	e.SignUp(t, "acme", "many@acme.test", testsilo.Password)
	login := e.TenantLogin(t, "acme", "many@acme.test", testsilo.Password)
	id := login.Obj("user")["id"].(string)
	want := []string{"member"}
	for i := range 20 {
		name := fmt.Sprintf("r%02d-%s", i, strings.Repeat("x", 58)) // 62 bytes
		want = append(want, name)
		e.Expect(t, http.StatusCreated, "", testsilo.Request{Method: "POST", Path: "/api/roles", Tenant: "acme", Token: admin,
			Body: map[string]any{"name": name, "permissions": []string{"data:read"}}})
	}
	if n := len(strings.Join(want, ",")); n <= 1024 {
		t.Fatalf("the role names take %d bytes, not more than 1024", n)
	}
	e.Expect(t, http.StatusOK, "", testsilo.Request{Method: "PUT", Path: "/api/users/" + id + "/roles", Tenant: "acme", Token: admin,
		Body: map[string]any{"roles": want}})
	slices.Sort(want)

	check := func(what string, user map[string]any) {
		t.Helper()
		var got []string
		for _, r := range user["roles"].([]any) {
			got = append(got, r.(string))
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s: roles %q, want %q", what, got, want)
		}
	}
	got := e.Expect(t, http.StatusOK, "", testsilo.Request{Method: "GET", Path: "/api/users/" + id, Tenant: "acme", Token: admin})
	check("GET /api/users/:id", got.Obj("user"))
	login = e.TenantLogin(t, "acme", "many@acme.test", testsilo.Password)
	check("login", login.Obj("user"))
	me := e.Expect(t, http.StatusOK, "", testsilo.Request{Method: "GET", Path: "/api/auth/me", Tenant: "acme", Token: login.Str("access_token")})
	check("GET /api/auth/me", me.Obj("user"))
}

// sessionGroupConcatMax is group_concat_max_len on a connection made with cfg.
func sessionGroupConcatMax(t *testing.T, cfg *mysql.Config) int {
	t.Helper()
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	var n int
	if err := db.QueryRowContext(context.Background(), "SELECT @@SESSION.group_concat_max_len").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
