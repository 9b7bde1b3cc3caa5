package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/config"
	"github.com/silo-dev/silo/internal/login"
	"github.com/silo-dev/silo/internal/secretbox"
	"github.com/silo-dev/silo/provisioning"
	"github.com/silo-dev/silo/tenantdb"
)

// plane is the central database and what is built on it, shared by serve
// and the tenant commands.
type plane struct {
	db          *sqlx.DB
	box         *secretbox.Box
	server      *tenantdb.Server
	catalog     *central.Catalog
	guard       *login.Guard
	provisioner *provisioning.Provisioner
}

// openPlane migrates and opens the central database and connects to the
// tenant database server.
func openPlane(ctx context.Context, cfg *config.Config, log *slog.Logger) (*plane, error) {
	if _, err := central.NewMigrator(cfg.CentralDSN).Up(ctx); err != nil {
		return nil, fmt.Errorf("migrate central database %s: %w", describeDSN(cfg), err)
	}
	db, err := central.Open(ctx, cfg.CentralDSN)
	if err != nil {
		return nil, err
	}
	server, err := tenantdb.OpenServer(ctx, cfg.TenantAdminDSN)
	if err != nil {
		db.Close()
		return nil, err
	}
	box, err := secretbox.New(cfg.MasterKey)
	if err != nil {
		db.Close()
		server.Close()
		return nil, err
	}
	guard := login.NewGuard(login.GuardOptions{
		Cost: cfg.BcryptCost, PerIPPerMinute: cfg.LoginPerIPPerMinute, PerEmailPerMinute: cfg.LoginPerEmailPerMinute,
	})
	catalog := central.NewCatalog(db, cfg.CentralDSN.DBName)
	prov := provisioning.New(catalog, server, box, guard, provisioning.Options{
		Prefix: cfg.TenantDBPrefix, BaseDomain: cfg.BaseDomain, SparePool: cfg.SparePoolSize,
		Concurrency: cfg.ProvisionConcurrency, Log: log,
	})
	return &plane{db: db, box: box, server: server, catalog: catalog, guard: guard, provisioner: prov}, nil
}

func (p *plane) Close() {
	p.server.Close()
	p.db.Close()
}
