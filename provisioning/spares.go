package provisioning

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/tenantdb"
)

// spareName returns a fresh spare database name. Tenant slugs start with a
// letter, so a name whose first character after the prefix is a digit can
// never collide with a tenant's database.
func (p *Provisioner) spareName() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return p.opts.Prefix + "0" + hex.EncodeToString(b)
}

func (p *Provisioner) requestRefill() {
	select {
	case p.refill <- struct{}{}:
	default:
	}
}

// RefillSpares builds spare databases on every active server until each
// holds its spare pool size (the server's own, else Options.SparePool).
// One instance refills at a time; spares left half-built by a dead
// process are dropped first. It returns how many spares it built; a server that fails
// does not stop the others.
func (p *Provisioner) RefillSpares(ctx context.Context) (int, error) {
	servers, err := p.catalog.Servers(ctx)
	if err != nil {
		return 0, err
	}
	want := map[string]int{}
	for _, rec := range servers {
		if rec.Status == central.ServerActive && rec.Free() > 0 {
			want[rec.Name] = p.sparePool(rec)
		}
	}
	release, ok, err := p.catalog.TryLock(ctx, "spares")
	if err != nil || !ok {
		return 0, err
	}
	defer release()
	spares, err := p.catalog.Spares(ctx)
	if err != nil {
		return 0, err
	}
	ready := map[string]int{}
	var errs []error
	for _, s := range spares {
		if s.Status != central.StatusProvisioning {
			// Ready spares stay, wanted or not: a tenant may be claiming
			// one right now, and only its claim may remove it.
			ready[s.Server]++
			continue
		}
		// We hold the pool lock, so nobody is building this one.
		if err := p.dropSpare(ctx, s); err != nil {
			errs = append(errs, err)
		}
	}
	built := 0
	for _, rec := range servers {
		n, err := p.fillServer(ctx, rec.Name, want[rec.Name]-ready[rec.Name])
		built += n
		if err != nil {
			errs = append(errs, fmt.Errorf("server %s: %w", rec.Name, err))
		}
	}
	return built, errors.Join(errs...)
}

// sparePool is how many spares server rec keeps.
func (p *Provisioner) sparePool(rec central.Server) int {
	if rec.SparePool.Valid {
		return int(rec.SparePool.Int64)
	}
	return max(p.opts.SparePool, 0)
}

// fillServer builds n spares on the server name.
func (p *Provisioner) fillServer(ctx context.Context, name string, n int) (int, error) {
	if n <= 0 {
		return 0, nil
	}
	srv, err := p.servers.Get(ctx, name)
	if err != nil {
		return 0, err
	}
	for built := 0; built < n; built++ {
		if err := ctx.Err(); err != nil {
			return built, err
		}
		if err := p.buildSpare(ctx, srv, name); err != nil {
			return built, err
		}
	}
	return n, nil
}

func (p *Provisioner) buildSpare(ctx context.Context, srv Server, server string) error {
	if err := p.acquire(ctx); err != nil {
		return err
	}
	defer p.slots.Release(1)
	password := tenantdb.NewPassword()
	s := &central.Spare{DatabaseName: p.spareName(), DatabaseHost: srv.Addr(), DBUser: p.newUserName(), Server: server}
	s.DBPasswordEnc = p.box.Seal([]byte(password), []byte(s.DBUser))
	if err := p.catalog.AddSpare(ctx, s); err != nil {
		return err
	}
	err := srv.CreateDatabase(ctx, s.DatabaseName)
	if err == nil {
		err = srv.CreateUser(ctx, s.DBUser, password)
	}
	if err == nil {
		err = srv.Grant(ctx, s.DBUser, s.DatabaseName)
	}
	var version int64
	if err == nil {
		version, err = p.migrateAll(ctx, srv, s.DatabaseName)
	}
	if err == nil {
		err = p.catalog.SpareReady(ctx, s.DatabaseName, version)
	}
	if err != nil {
		return errors.Join(err, p.dropSpare(context.WithoutCancel(ctx), *s))
	}
	return nil
}

func (p *Provisioner) dropSpare(ctx context.Context, s central.Spare) error {
	srv, err := p.servers.Get(ctx, s.Server)
	if err != nil {
		return err
	}
	if err := srv.DropDatabase(ctx, s.DatabaseName); err != nil {
		return err
	}
	if err := srv.DropUser(ctx, s.DBUser); err != nil {
		return err
	}
	return p.catalog.RemoveSpare(ctx, s.DatabaseName)
}

// RunSpares keeps the spare pool full until ctx ends: at once, whenever a
// spare is claimed, and every interval.
func (p *Provisioner) RunSpares(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := p.RefillSpares(ctx); err != nil && ctx.Err() == nil {
			p.log.ErrorContext(ctx, "spare pool refill failed", "built", n, "err", err)
		} else if n > 0 {
			p.log.InfoContext(ctx, "spare pool refilled", "built", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-p.refill:
		case <-t.C:
		}
	}
}
