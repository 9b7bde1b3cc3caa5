package provisioning

import (
	"context"

	"github.com/silo-dev/silo/central"
)

// Report is the reconciliation of the database server with the catalog.
type Report struct {
	// Databases and DB users on the server (with Silo's prefix) that no
	// tenant or spare owns.
	OrphanDatabases []string `json:"orphanDatabases"`
	OrphanUsers     []string `json:"orphanUsers"`
	// Tenants whose catalog says their database or DB user exists, but the
	// server has none: "slug: name".
	MissingDatabases []string `json:"missingDatabases"`
	MissingUsers     []string `json:"missingUsers"`
}

// Clean reports whether the server and the catalog agree.
func (r *Report) Clean() bool {
	return len(r.OrphanDatabases)+len(r.OrphanUsers)+len(r.MissingDatabases)+len(r.MissingUsers) == 0
}

// Check compares the databases and DB users on the server with the catalog.
func (p *Provisioner) Check(ctx context.Context) (*Report, error) {
	// Read the catalog before the server: an object created in between is
	// then seen as an orphan only if its catalog row is newer than this
	// read, which a repeated check clears up.
	tenants, err := p.catalog.TenantsByStatus(ctx, central.StatusProvisioning, central.StatusActive,
		central.StatusSuspended, central.StatusFailed, central.StatusDeleted)
	if err != nil {
		return nil, err
	}
	spares, err := p.catalog.Spares(ctx)
	if err != nil {
		return nil, err
	}
	dbs, err := p.server.Databases(ctx, p.opts.Prefix)
	if err != nil {
		return nil, err
	}
	users, err := p.server.Users(ctx, p.opts.Prefix)
	if err != nil {
		return nil, err
	}
	onServerDB, onServerUser := set(dbs), set(users)
	ownedDB, ownedUser := map[string]bool{}, map[string]bool{}
	r := &Report{OrphanDatabases: []string{}, OrphanUsers: []string{}, MissingDatabases: []string{}, MissingUsers: []string{}}
	for _, t := range tenants {
		ownedDB[t.DatabaseName], ownedUser[t.DBUser] = true, true
		if t.Status == central.StatusProvisioning || t.Status == central.StatusFailed {
			continue // not created yet, or half-way: repair finishes it
		}
		// A tenant deleted before provisioning finished may never have had
		// its database or DB user: expect only what its steps created.
		if stepIndex(t.Step) >= stepIndex(stepDatabase) && !onServerDB[t.DatabaseName] {
			r.MissingDatabases = append(r.MissingDatabases, t.Slug+": "+t.DatabaseName)
		}
		if stepIndex(t.Step) >= stepIndex(stepUser) && !onServerUser[t.DBUser] {
			r.MissingUsers = append(r.MissingUsers, t.Slug+": "+t.DBUser)
		}
	}
	for _, s := range spares {
		ownedDB[s.DatabaseName], ownedUser[s.DBUser] = true, true
	}
	for _, d := range dbs {
		if !ownedDB[d] {
			r.OrphanDatabases = append(r.OrphanDatabases, d)
		}
	}
	for _, u := range users {
		if !ownedUser[u] {
			r.OrphanUsers = append(r.OrphanUsers, u)
		}
	}
	return r, nil
}

func set(items []string) map[string]bool {
	m := make(map[string]bool, len(items))
	for _, s := range items {
		m[s] = true
	}
	return m
}
