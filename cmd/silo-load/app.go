package main

import (
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo"
	"github.com/silo-dev/silo/internal/assembly/app"
	"github.com/silo-dev/silo/internal/lib/token"
	"github.com/silo-dev/silo/router"
)

// The app scenario: an application's route on Silo's public embedding API
// (silo.WithTenantRoutes over a table of silo.WithTenantMigrations) that
// reads one row by primary key, against the same handler on a plain Gin +
// sqlx server.

//go:embed appmigrations/*.sql
var appMigrations embed.FS

// appItems is how many rows the migration seeds in every tenant.
const appItems = 10

// item is one row of the application's table.
type item struct {
	ID    int64  `db:"id" json:"id"`
	Title string `db:"title" json:"title"`
	Body  string `db:"body" json:"body"`
}

const itemQuery = "SELECT id, title, body FROM items WHERE id = ?"

// extensions are the application's migrations and route (scenario app);
// other scenarios run Silo alone.
func extensions(o options) (app.Extensions, error) {
	var x app.Extensions
	if o.scenario != "app" {
		return x, nil
	}
	sub, err := fs.Sub(appMigrations, "appmigrations")
	if err != nil {
		return x, err
	}
	route := router.TenantRoute{Method: "GET", Path: "/items/:id", Permission: "data:read", Handler: func(c *gin.Context) {
		// Silo has resolved the tenant, leased its pool, authenticated
		// the caller and checked data:read.
		readItem(c, router.DB(c), router.Fail)
	}}
	for _, opt := range []silo.Option{silo.WithTenantMigrations("loadapp", sub), silo.WithTenantRoutes(route)} {
		if err := opt(&x); err != nil {
			return x, err
		}
	}
	return x, nil
}

// readItem answers the item named by :id from db, the same way on both sides.
func readItem(c *gin.Context, db *sqlx.DB, fail func(*gin.Context, error)) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		fail(c, router.NotFound())
		return
	}
	var it item
	err = db.GetContext(c.Request.Context(), &it, itemQuery, id)
	if errors.Is(err, sql.ErrNoRows) {
		err = router.NotFound()
	}
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"item": it})
}

// appComparison drives GET /api/items/:id over the tenants against a
// baseline GET /items/:id that verifies the same kind of JWT and reads the
// same row from tenant 0's database as root, over a pool of -conns-max
// connections: the total Silo's tenant pools may hold.
func appComparison(o options, silo string, baseTenant int, database string, keys *token.Keys, tokens []string) (comparison, error) {
	db, err := baselineDB(o.server, database, o.connsMax)
	if err != nil {
		return comparison{}, err
	}
	aud := token.TenantAudience(slug(baseTenant))
	e := gin.New()
	e.GET("/items/:id", func(c *gin.Context) {
		raw := strings.TrimPrefix(c.GetHeader("Authorization"), "Bearer ")
		if _, err := keys.Verify(raw, aud); err != nil {
			c.AbortWithStatus(http.StatusUnauthorized)
			return
		}
		readItem(c, db, func(c *gin.Context, err error) {
			status := http.StatusServiceUnavailable
			if errors.Is(err, router.NotFound()) {
				status = http.StatusNotFound
			}
			c.AbortWithStatus(status)
		})
	})
	base, stop := listen(e)
	return comparison{
		silo: func(g *gen) *http.Request {
			i := g.tenant()
			return tenantRequest("GET", fmt.Sprintf("%s/api/items/%d", silo, 1+g.r.IntN(appItems)), slug(i), tokens[i], "")
		},
		baseline: func(g *gen) *http.Request {
			req, _ := http.NewRequest("GET", fmt.Sprintf("%s/items/%d", base, 1+g.r.IntN(appItems)), nil)
			req.Header.Set("Authorization", "Bearer "+tokens[baseTenant])
			return req
		},
		stop: func() { stop(); db.Close() },
	}, nil
}
