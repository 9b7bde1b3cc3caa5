package provisioning

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/config"
	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/internal/lib/secretbox"
	"github.com/silo-dev/silo/tenantdb"
)

// Limits of a server registration.
const (
	MaxServerCapacity = 1000000
	MaxServerConns    = 100000 // as SILO_TENANT_CONNS_MAX
	MaxServerSpares   = 100    // as SILO_SPARE_POOL_SIZE
)

// AdminCheck connects to a server as its admin account and reports its
// version and what the account lacks (tenantdb.CheckAdmin).
type AdminCheck func(ctx context.Context, cfg *mysql.Config) (version string, missing []string, err error)

// ServerAdmin registers, changes and removes the database servers that
// hold tenant databases. It checks every DSN it is given by connecting
// with it (CheckAdmin) before storing it, password sealed; the catalog
// writes the audit log.
type ServerAdmin struct {
	catalog *central.Catalog
	box     *secretbox.Box
	check   AdminCheck
}

// NewServerAdmin returns the registry's administration over catalog, with
// passwords sealed by box.
func NewServerAdmin(catalog *central.Catalog, box *secretbox.Box) *ServerAdmin {
	return &ServerAdmin{catalog: catalog, box: box, check: tenantdb.CheckAdmin}
}

// NewServer is a server registration. Capacity nil is DefaultCapacity;
// ConnsMax 0 is the instance's SILO_TENANT_CONNS_MAX; SparePool nil is its
// SILO_SPARE_POOL_SIZE.
type NewServer struct {
	Name      string
	DSN       string
	Capacity  *int
	Labels    map[string]string
	ConnsMax  int
	SparePool *int
}

// ServerPatch changes a server; nil fields stay. Labels replace the
// server's labels. SparePool {Valid: false} returns to SILO_SPARE_POOL_SIZE.
type ServerPatch struct {
	Status    *string
	Capacity  *int
	Labels    *map[string]string
	DSN       *string
	ConnsMax  *int
	SparePool *sql.NullInt64
}

// ListServers returns every registered server by name.
func (a *ServerAdmin) ListServers(ctx context.Context) ([]central.Server, error) {
	return a.catalog.Servers(ctx)
}

// GetServer returns the server name (404 SERVER_NOT_FOUND if none).
func (a *ServerAdmin) GetServer(ctx context.Context, name string) (*central.Server, error) {
	if !central.ValidServerName(name) {
		return nil, central.ErrServerNotFound
	}
	return a.catalog.Server(ctx, name)
}

// AddServer checks in and its DSN's account, then registers the server as
// active.
func (a *ServerAdmin) AddServer(ctx context.Context, in NewServer) (*central.Server, error) {
	var v apperr.Validator
	v.Check(central.ValidServerName(in.Name), "name", "must be 1 to 31 lowercase letters, digits and dashes, starting with a letter")
	capacity := DefaultCapacity
	if in.Capacity != nil {
		capacity = *in.Capacity
	}
	checkCapacity(&v, capacity)
	central.CheckLabels(&v, "labels", in.Labels)
	checkConnsMax(&v, in.ConnsMax)
	if in.SparePool != nil {
		checkSparePool(&v, *in.SparePool)
	}
	cfg := checkDSN(&v, in.DSN)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if _, err := a.catalog.Server(ctx, in.Name); err == nil {
		return nil, central.ErrServerExists // before connecting anywhere
	} else if !errors.Is(err, central.ErrServerNotFound) {
		return nil, err
	}
	version, err := a.verify(ctx, cfg)
	if err != nil {
		return nil, err
	}
	rec := &central.Server{Name: in.Name, Status: central.ServerActive, Capacity: capacity, Labels: in.Labels,
		ConnsMax: in.ConnsMax, Version: version}
	if in.SparePool != nil {
		rec.SparePool = sql.NullInt64{Int64: int64(*in.SparePool), Valid: true}
	}
	SealServer(a.box, rec, cfg)
	if err := a.catalog.AddServer(ctx, rec); err != nil {
		return nil, err
	}
	if err := a.catalog.RecordServerCheck(ctx, in.Name, version, ""); err != nil {
		return nil, err
	}
	return a.catalog.Server(ctx, in.Name)
}

// UpdateServer applies p to the server name. A new DSN is checked as
// AddServer checks it; the default server's comes from
// SILO_TENANT_ADMIN_DSN alone. A capacity below the server's tenant count is
// allowed: the server keeps its tenants and takes no new ones.
func (a *ServerAdmin) UpdateServer(ctx context.Context, name string, p ServerPatch) (*central.Server, error) {
	if _, err := a.GetServer(ctx, name); err != nil {
		return nil, err
	}
	var v apperr.Validator
	ch := central.ServerChange{Status: p.Status, Capacity: p.Capacity, ConnsMax: p.ConnsMax, SparePool: p.SparePool}
	if p.Status != nil {
		switch *p.Status {
		case central.ServerActive, central.ServerDraining, central.ServerDisabled:
		default:
			v.Add("status", "must be active, draining or disabled")
		}
	}
	if p.Capacity != nil {
		checkCapacity(&v, *p.Capacity)
	}
	if p.Labels != nil {
		central.CheckLabels(&v, "labels", *p.Labels)
		ch.Labels = central.Labels{}
		for k, val := range *p.Labels {
			ch.Labels[k] = val
		}
	}
	if p.ConnsMax != nil {
		checkConnsMax(&v, *p.ConnsMax)
	}
	if p.SparePool != nil && p.SparePool.Valid {
		checkSparePool(&v, int(p.SparePool.Int64))
	}
	var cfg *mysql.Config
	switch {
	case p.DSN != nil && name == central.DefaultServer:
		v.Add("dsn", "the default server's DSN is SILO_TENANT_ADMIN_DSN, registered again at every start: change it there")
	case p.DSN != nil:
		cfg = checkDSN(&v, *p.DSN)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if cfg != nil {
		version, err := a.verify(ctx, cfg)
		if err != nil {
			return nil, err
		}
		rec := &central.Server{Name: name}
		SealServer(a.box, rec, cfg)
		ch.DSN, ch.Addr, ch.PasswordEnc, ch.Version = &rec.DSN, &rec.Addr, rec.PasswordEnc, &version
	}
	s, err := a.catalog.UpdateServer(ctx, name, ch)
	if err != nil || cfg == nil {
		return s, err
	}
	if err := a.catalog.RecordServerCheck(ctx, name, s.Version, ""); err != nil {
		return nil, err
	}
	return a.catalog.Server(ctx, name)
}

// RemoveServer forgets the server name; 409 CONFLICT while a tenant (even
// a deleted, unpurged one) or a spare database lives there.
func (a *ServerAdmin) RemoveServer(ctx context.Context, name string) error {
	if !central.ValidServerName(name) {
		return central.ErrServerNotFound
	}
	return a.catalog.RemoveServer(ctx, name)
}

// CheckServer connects to the registered server name with its stored
// credentials, records the outcome (version, or the error) and returns
// the server with what its account lacks; a failure to connect is
// recorded and returned in the server's LastError, not as an error.
func (a *ServerAdmin) CheckServer(ctx context.Context, name string) (*central.Server, []string, error) {
	rec, err := a.GetServer(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := ServerConfig(a.box, rec)
	if err != nil {
		return nil, nil, err
	}
	version, missing, err := a.check(ctx, cfg)
	msg := ""
	switch {
	case err != nil:
		msg = "could not connect: " + err.Error()
	case len(missing) > 0:
		msg = "the account lacks: " + strings.Join(missing, ", ")
	}
	if err := a.catalog.RecordServerCheck(ctx, name, version, msg); err != nil {
		return nil, nil, err
	}
	rec, err = a.catalog.Server(ctx, name)
	return rec, missing, err
}

// verify connects with cfg: 400 on dsn when the server cannot be reached
// or the account lacks privileges, naming each.
func (a *ServerAdmin) verify(ctx context.Context, cfg *mysql.Config) (string, error) {
	version, missing, err := a.check(ctx, cfg)
	if err != nil {
		return "", apperr.Validation(apperr.FieldError{Field: "dsn", Message: "could not connect to " + cfg.Addr + ": " + redact(err.Error(), cfg.Passwd)})
	}
	if len(missing) > 0 {
		var details []apperr.FieldError
		for _, m := range missing {
			msg := m
			if !strings.HasPrefix(m, "server version") {
				msg = "the account lacks the " + m + " privilege (ON *.*)"
			}
			details = append(details, apperr.FieldError{Field: "dsn", Message: msg})
		}
		return "", apperr.Validation(details...)
	}
	return version, nil
}

func redact(s, password string) string {
	if password == "" {
		return s
	}
	return strings.ReplaceAll(s, password, "***")
}

// checkDSN parses dsn: an account (user, and the password if any) on a
// server, no database named. Its messages never repeat the DSN.
func checkDSN(v *apperr.Validator, dsn string) *mysql.Config {
	if strings.TrimSpace(dsn) == "" {
		v.Add("dsn", "is required")
		return nil
	}
	cfg, err := config.ParseDSN(dsn)
	if err != nil {
		v.Add("dsn", "is not a valid DSN; expected user:password@tcp(host:port)/[?params]")
		return nil
	}
	switch {
	case cfg.User == "":
		v.Add("dsn", "must name the admin account's user")
	case cfg.DBName != "":
		v.Add("dsn", "must name no database (user:password@tcp(host:port)/): Silo creates the tenant databases")
	case len(cfg.Addr) > 255:
		v.Add("dsn", "the address is longer than 255 characters")
	default:
		return cfg
	}
	return nil
}

func checkCapacity(v *apperr.Validator, n int) {
	v.Check(n >= 1 && n <= MaxServerCapacity, "capacity", "must be an integer from 1 to "+strconv.Itoa(MaxServerCapacity))
}

func checkConnsMax(v *apperr.Validator, n int) {
	v.Check(n >= 0 && n <= MaxServerConns, "connsMax", "must be an integer from 0 (the instance's SILO_TENANT_CONNS_MAX) to "+strconv.Itoa(MaxServerConns))
}

func checkSparePool(v *apperr.Validator, n int) {
	v.Check(n >= 0 && n <= MaxServerSpares, "sparePool", "must be an integer from 0 to "+strconv.Itoa(MaxServerSpares)+", or null for SILO_SPARE_POOL_SIZE")
}
