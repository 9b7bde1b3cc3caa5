package provisioning

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
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

// RefillSpares builds spare databases until the pool holds the configured
// number. One instance refills at a time; spares left half-built by a dead
// process are dropped first. It returns how many spares it built.
func (p *Provisioner) RefillSpares(ctx context.Context) (int, error) {
	if p.opts.SparePool <= 0 {
		return 0, nil
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
	ready := 0
	for _, s := range spares {
		if s.Status != central.StatusProvisioning {
			ready++
			continue
		}
		// We hold the pool lock, so nobody is building this one.
		if err := p.dropSpare(ctx, s); err != nil {
			return 0, err
		}
	}
	built := 0
	for ready+built < p.opts.SparePool {
		if err := ctx.Err(); err != nil {
			return built, err
		}
		if err := p.buildSpare(ctx); err != nil {
			return built, err
		}
		built++
	}
	return built, nil
}

func (p *Provisioner) buildSpare(ctx context.Context) error {
	if err := p.acquire(ctx); err != nil {
		return err
	}
	defer p.slots.Release(1)
	password := tenantdb.NewPassword()
	s := &central.Spare{DatabaseName: p.spareName(), DatabaseHost: p.server.Addr(), DBUser: p.newUserName(), Server: central.DefaultServer}
	s.DBPasswordEnc = p.box.Seal([]byte(password), []byte(s.DBUser))
	if err := p.catalog.AddSpare(ctx, s); err != nil {
		return err
	}
	err := p.server.CreateDatabase(ctx, s.DatabaseName)
	if err == nil {
		err = p.server.CreateUser(ctx, s.DBUser, password)
	}
	if err == nil {
		err = p.server.Grant(ctx, s.DBUser, s.DatabaseName)
	}
	var version int64
	if err == nil {
		version, err = p.migrateAll(ctx, s.DatabaseName)
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
	if err := p.server.DropDatabase(ctx, s.DatabaseName); err != nil {
		return err
	}
	if err := p.server.DropUser(ctx, s.DBUser); err != nil {
		return err
	}
	return p.catalog.RemoveSpare(ctx, s.DatabaseName)
}

// RunSpares keeps the spare pool full until ctx ends: at once, whenever a
// spare is claimed, and every interval.
func (p *Provisioner) RunSpares(ctx context.Context, interval time.Duration) {
	if p.opts.SparePool <= 0 {
		return
	}
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
