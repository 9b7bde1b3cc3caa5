package silo_test

import (
	"context"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"testing/fstest"

	"github.com/gin-gonic/gin"

	"github.com/silo-dev/silo"
	"github.com/silo-dev/silo/config"
	"github.com/silo-dev/silo/router"
)

// An application's binary is the silo command line with its extensions:
// "serve", "migrate tenants", "tenant create" and the rest include them.
// examples/notes is a complete, tested application built this way.
func ExampleMain() {
	migrations := fstest.MapFS{"00001_notes.sql": {Data: []byte(
		"-- +goose Up\nCREATE TABLE notes (id BIGINT AUTO_INCREMENT PRIMARY KEY, title VARCHAR(200) NOT NULL);\n" +
			"-- +goose Down\nDROP TABLE notes;\n")}}
	silo.Main(
		silo.WithTenantMigrations("notes", migrations),
		silo.WithTenantRoutes(router.TenantRoute{Method: "GET", Path: "/notes", Permission: "data:read",
			Handler: func(c *gin.Context) {
				var titles []string
				// The request's tenant database, as the tenant's own DB user.
				if err := router.DB(c).SelectContext(c.Request.Context(), &titles, "SELECT title FROM notes"); err != nil {
					router.Fail(c, err)
					return
				}
				c.JSON(http.StatusOK, gin.H{"tenant": router.Tenant(c).Slug, "notes": titles})
			}}),
	)
}

// New builds Silo as an http.Handler, for tests or a server of your own.
func ExampleNew() {
	cfg, err := config.NewLoader(flag.NewFlagSet("app", flag.ExitOnError), os.Getenv).Load()
	if err != nil {
		panic(err)
	}
	s, err := silo.New(context.Background(), cfg, slog.Default())
	if err != nil {
		panic(err)
	}
	defer s.Close()
	go s.RunBackground(context.Background())
	_ = http.ListenAndServe(cfg.Listen, s.Handler())
}
