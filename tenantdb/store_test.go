package tenantdb_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/internal/lib/clock"
	"github.com/silo-dev/silo/internal/lib/login"
	"github.com/silo-dev/silo/internal/lib/token"
	"github.com/silo-dev/silo/internal/testsupport/testdb"
	"github.com/silo-dev/silo/migrations"
	"github.com/silo-dev/silo/tenantdb"
)

// migratedTenant creates database prefix+"d"+name with the tenant schema and
// returns a pool on it as the tenant's own DB user, closed when t ends.
func migratedTenant(t *testing.T, srv *tenantdb.Server, prefix, name string) *sqlx.DB {
	t.Helper()
	ctx := context.Background()
	database, user, pw := prefix+"d"+name, prefix+"u"+name, tenantdb.NewPassword()
	if err := srv.CreateDatabase(ctx, database); err != nil {
		t.Fatal(err)
	}
	if err := srv.CreateUser(ctx, user, pw); err != nil {
		t.Fatal(err)
	}
	if err := srv.Grant(ctx, user, database); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Migrate(ctx, database, migrations.CoreSet(migrations.Tenant())); err != nil {
		t.Fatal(err)
	}
	db, err := tenantdb.Open(ctx, srv.TenantConfig(database, user, pw))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestStoreIsBoundToItsTenant drives the tenant schema through Auth.Store
// alone: a store works on its own tenant's database and slug, so a session
// started by one tenant's store authenticates there and nowhere else, and
// an administrator's changes through the store are read back and audited
// in that tenant only.
func TestStoreIsBoundToItsTenant(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := openServer(t, rootConfig(t, testdb.ServerDSN()))
	prefix := testdb.Prefix(t)
	dbA, dbB := migratedTenant(t, srv, prefix, "a"), migratedTenant(t, srv, prefix, "b")

	keys, err := token.NewKeys("k", map[string][]byte{"k": []byte("0123456789abcdef0123456789abcdef")}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	guard := login.NewGuard(login.GuardOptions{Cost: 4, PerIPPerMinute: 100, PerEmailPerMinute: 100})
	auth := tenantdb.NewAuth(keys, guard, time.Hour, slog.New(slog.DiscardHandler))
	a, b := auth.Store(dbA, "acme", ""), auth.Store(dbB, "globex", "")

	hash, err := guard.Hash(ctx, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	now := clock.Now()
	admin := &tenantdb.User{ID: uuid.Must(uuid.NewV7()).String(), Email: "ada@acme.test", PasswordHash: hash,
		IsActive: true, CreatedAt: now, UpdatedAt: now}
	if err := tenantdb.CreateUser(ctx, dbA, admin, tenantdb.RoleTenantAdmin); err != nil {
		t.Fatal(err)
	}

	s, err := a.Login(ctx, "192.0.2.1", "ada@acme.test", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	caller, err := a.Authenticate(ctx, s.AccessToken)
	if err != nil || caller.User.ID != admin.ID || !caller.Has("users:write") {
		t.Fatalf("own tenant: caller %+v, %v", caller, err)
	}
	if _, err := b.Authenticate(ctx, s.AccessToken); !errors.Is(err, token.ErrBadAccessToken) {
		t.Fatalf("another tenant's store took the token: %v", err)
	}
	if _, err := b.Refresh(ctx, s.RefreshToken); err == nil {
		t.Fatal("another tenant's store rotated the refresh token")
	}

	u, err := a.AddUser(ctx, caller, tenantdb.NewUser{Email: "bob@acme.test", Password: "another good password", FirstName: "Bob", LastName: "Jones"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := a.GetUser(ctx, u.ID); err != nil || got.Email != "bob@acme.test" {
		t.Fatalf("GetUser: %+v, %v", got, err)
	}
	if _, err := b.GetUser(ctx, u.ID); !errors.Is(err, tenantdb.ErrUserNotFound) {
		t.Fatalf("another tenant's store found the user: %v", err)
	}
	entries, _, err := a.AuditLog(ctx, 10, "")
	if err != nil || len(entries) != 1 || entries[0].Action != "user.create" || entries[0].ActorID.String != admin.ID {
		t.Fatalf("audit log of acme: %+v, %v", entries, err)
	}
	if entries, _, err := b.AuditLog(ctx, 10, ""); err != nil || len(entries) != 0 {
		t.Fatalf("audit log of globex: %+v, %v", entries, err)
	}
}
