package testsilo

import (
	"context"
	"testing"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/config"
	"github.com/silo-dev/silo/internal/lib/secretbox"
	"github.com/silo-dev/silo/provisioning"
)

// AddServer registers the database server at dsn as name in e's registry,
// active, with room for capacity tenants, straight into the central
// database (the API's privilege check aside): for tests that start
// private servers. Every instance on e's central database sees it within
// a catalog poll.
func (e *Env) AddServer(t testing.TB, name, dsn string, capacity int) {
	t.Helper()
	cfg, err := config.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	box, err := secretbox.New(e.Config.MasterKey)
	if err != nil {
		t.Fatal(err)
	}
	db, err := central.Open(context.Background(), e.Config.CentralDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rec := &central.Server{Name: name, Status: central.ServerActive, Capacity: capacity}
	provisioning.SealServer(box, rec, cfg)
	if err := central.NewCatalog(db, e.Config.CentralDSN.DBName).AddServer(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
}
