package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/silo-dev/silo/config"
	"github.com/silo-dev/silo/internal/assembly/app"
	"github.com/silo-dev/silo/internal/lib/token"
	"github.com/silo-dev/silo/internal/testsupport/testdb"
	"github.com/silo-dev/silo/provisioning"
	"github.com/silo-dev/silo/tenantdb"
)

const password = "bench-password-1"

// The secrets of the test installations, written as Silo reads them
// (standard base64): the JWT key is 32 bytes of 's', the master key 32
// bytes of 0xaa (otherMasterKey: of 0xbb).
const (
	jwtSecret      = "c3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3M="
	masterKey      = "qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqo="
	otherMasterKey = "u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7s="
)

// newApp assembles Silo on a fresh central database and tenant prefix.
func newApp(tb testing.TB) (*app.App, *config.Config) {
	tb.Helper()
	return newAppWith(tb, app.Options{})
}

// newAppWith is newApp with options.
func newAppWith(tb testing.TB, o app.Options) (*app.App, *config.Config) {
	tb.Helper()
	cfg := testdb.Config(tb, map[string]string{
		"SILO_BCRYPT_COST": "4", "SILO_SPARE_POOL_SIZE": "0",
		"SILO_LOGIN_IP_LIMIT": "100000", "SILO_LOGIN_EMAIL_LIMIT": "100000",
		"SILO_JWT_SECRET": jwtSecret, "SILO_MASTER_KEY": masterKey,
	})
	a, err := app.OpenWith(context.Background(), cfg, slog.New(slog.DiscardHandler), o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(a.Close)
	return a, cfg
}

// tenantsWithTokens provisions n tenants with a user each and logs them in.
func tenantsWithTokens(tb testing.TB, a *app.App, n int) []string {
	tb.Helper()
	tokens := make([]string, n)
	for i := range tokens {
		slug := fmt.Sprintf("bench-%d", i)
		_, err := a.Provisioner.Create(context.Background(), provisioning.NewTenant{Slug: slug, Name: slug,
			Admin: &provisioning.NewAdmin{Email: "u@" + slug + ".io", Password: password, FirstName: "B", LastName: "U"}})
		if err != nil {
			tb.Fatal(err)
		}
		req := httptest.NewRequest("POST", "/api/auth/login", strings.NewReader(`{"email":"u@`+slug+`.io","password":"`+password+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("x-tenant-id", slug)
		rec := httptest.NewRecorder()
		a.Handler.ServeHTTP(rec, req)
		var s struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &s); err != nil || rec.Code != 200 {
			tb.Fatalf("login %s: %d %s", slug, rec.Code, rec.Body)
		}
		tokens[i] = s.AccessToken
	}
	return tokens
}

func TestOpenServes(t *testing.T) {
	t.Parallel()
	a, _ := newApp(t)
	tokens := tenantsWithTokens(t, a, 2)
	req := httptest.NewRequest("GET", "/api/auth/me", nil)
	req.Header.Set("x-tenant-id", "bench-1")
	req.Header.Set("Authorization", "Bearer "+tokens[1])
	rec := httptest.NewRecorder()
	a.Handler.ServeHTTP(rec, req)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"slug":"bench-1"`) {
		t.Fatalf("me: %d %s", rec.Code, rec.Body)
	}
}

// BenchmarkTenantMe measures Silo's whole tenant path in-process: resolve
// the tenant, lease its pool, verify the JWT, authenticate the caller,
// answer JSON. The instance runs its background work as serve does, so
// callers come from its cache (tenantdb.CallerCache). Compare with
// BenchmarkTenantMeUncached and BenchmarkBaselineMe.
func BenchmarkTenantMe(b *testing.B) { benchmarkMe(b, true) }

// BenchmarkTenantMeUncached is BenchmarkTenantMe on an instance that does
// not follow other instances' changes, and so reads the user with its roles
// from the tenant database on every request.
func BenchmarkTenantMeUncached(b *testing.B) { benchmarkMe(b, false) }

func benchmarkMe(b *testing.B, following bool) {
	a, _ := newApp(b)
	const tenants = 20
	tokens := tenantsWithTokens(b, a, tenants)
	me := func(i int) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/api/auth/me", nil)
		req.Header.Set("x-tenant-id", fmt.Sprintf("bench-%d", i%tenants))
		req.Header.Set("Authorization", "Bearer "+tokens[i%tenants])
		rec := httptest.NewRecorder()
		a.Handler.ServeHTTP(rec, req)
		return rec
	}
	if following {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { a.RunBackground(ctx) })
		b.Cleanup(func() { cancel(); wg.Wait() })
		for deadline := time.Now().Add(30 * time.Second); ; {
			if rec := me(0); rec.Code != http.StatusOK {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if hits, _ := a.Callers.Stats(); hits > 0 {
				break
			}
			if time.Now().After(deadline) {
				b.Fatal("the cache of callers is never used")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			if rec := me(i); rec.Code != http.StatusOK {
				b.Errorf("status %d: %s", rec.Code, rec.Body)
				return
			}
		}
	})
}

// BenchmarkBaselineMe is the floor: a bare Gin handler that verifies the
// same kind of JWT and reads the same row from one fixed database.
func BenchmarkBaselineMe(b *testing.B) {
	a, cfg := newApp(b)
	tokens := tenantsWithTokens(b, a, 1)
	t, err := a.Provisioner.Get(context.Background(), "bench-0")
	if err != nil {
		b.Fatal(err)
	}
	dsn := cfg.TenantAdminDSN.Clone()
	dsn.DBName = t.DatabaseName
	db, err := tenantdb.Open(context.Background(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	aud := token.TenantAudience("bench-0")
	e := gin.New()
	e.GET("/me", func(c *gin.Context) {
		claims, err := a.Keys.Verify(strings.TrimPrefix(c.GetHeader("Authorization"), "Bearer "), aud)
		if err != nil {
			c.AbortWithStatus(401)
			return
		}
		u, err := tenantdb.UserByID(c.Request.Context(), db, claims.Subject)
		if err != nil {
			c.AbortWithStatus(503)
			return
		}
		c.JSON(200, gin.H{"user": gin.H{"id": u.ID, "email": u.Email}})
	})
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("GET", "/me", nil)
			req.Header.Set("Authorization", "Bearer "+tokens[0])
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Errorf("status %d", rec.Code)
				return
			}
		}
	})
}
