package provisioning

import (
	"context"
	"crypto/subtle"
	"fmt"
	"sync"

	"github.com/go-sql-driver/mysql"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/config"
	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/internal/lib/secretbox"
	"github.com/silo-dev/silo/tenantdb"
)

// DefaultCapacity is how many tenants a server takes when its
// registration names no capacity: the default server's, at every start.
const DefaultCapacity = 10000

// serverAAD binds a server's sealed password to its name.
func serverAAD(name string) []byte { return []byte("db-server\x00" + name) }

// SealServer fills rec's Addr, DSN (without its password) and sealed
// password from cfg.
func SealServer(box *secretbox.Box, rec *central.Server, cfg *mysql.Config) {
	c := cfg.Clone()
	c.DBName = ""
	rec.PasswordEnc = box.Seal([]byte(c.Passwd), serverAAD(rec.Name))
	c.Passwd = ""
	rec.Addr, rec.DSN = c.Addr, c.FormatDSN()
}

// ServerConfig is the admin DSN of a registered server, password included.
func ServerConfig(box *secretbox.Box, rec *central.Server) (*mysql.Config, error) {
	cfg, err := config.ParseDSN(rec.DSN)
	if err != nil {
		return nil, fmt.Errorf("database server %s: stored DSN: %w", rec.Name, err)
	}
	pw, err := box.Open(rec.PasswordEnc, serverAAD(rec.Name))
	if err != nil {
		return nil, fmt.Errorf("database server %s: stored password: %w", rec.Name, err)
	}
	cfg.Passwd = string(pw)
	return cfg, nil
}

// RegisterDefault registers the server of SILO_TENANT_ADMIN_DSN as the
// "default" server, or updates its address and credentials when they
// changed: an installation from before the registry keeps working with no
// change, its tenants on "default".
func RegisterDefault(ctx context.Context, catalog *central.Catalog, box *secretbox.Box, cfg *mysql.Config, capacity int) error {
	rec := &central.Server{Name: central.DefaultServer, Status: central.ServerActive, Capacity: capacity}
	SealServer(box, rec, cfg)
	return catalog.RegisterDefault(ctx, rec, func(sealed []byte) bool {
		pw, err := box.Open(sealed, serverAAD(central.DefaultServer))
		return err == nil && subtle.ConstantTimeCompare(pw, []byte(cfg.Passwd)) == 1
	})
}

// ServerLookup finds a registered server by name (the catalog, or the
// tenant cache's copy of it).
type ServerLookup func(ctx context.Context, name string) (*central.Server, error)

// Servers are the registered database servers' admin connections, opened
// on first use and reopened when a server's DSN or password changes in
// the registry. They implement ServerSet.
type Servers struct {
	lookup ServerLookup
	box    *secretbox.Box

	mu   sync.Mutex
	open map[string]*openServer
}

type openServer struct {
	dsn    string
	sealed string
	srv    *tenantdb.Server
}

// NewServers returns the servers lookup finds; Close them.
func NewServers(lookup ServerLookup, box *secretbox.Box) *Servers {
	return &Servers{lookup: lookup, box: box, open: map[string]*openServer{}}
}

// Config is the admin DSN of the server name, from the registry.
func (s *Servers) Config(ctx context.Context, name string) (*mysql.Config, error) {
	rec, err := s.lookup(ctx, name)
	if err != nil {
		return nil, err
	}
	return ServerConfig(s.box, rec)
}

// Get returns the open server name, connecting to it if needed.
func (s *Servers) Get(ctx context.Context, name string) (Server, error) {
	rec, err := s.lookup(ctx, name)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	o := s.open[name]
	s.mu.Unlock()
	if o != nil && o.dsn == rec.DSN && o.sealed == string(rec.PasswordEnc) {
		return o.srv, nil
	}
	cfg, err := ServerConfig(s.box, rec)
	if err != nil {
		return nil, err
	}
	srv, err := tenantdb.OpenServer(ctx, cfg)
	if err != nil {
		return nil, unavailableServer(name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur := s.open[name]; cur != nil {
		if cur.dsn == rec.DSN && cur.sealed == string(rec.PasswordEnc) {
			// Another request opened the same server meanwhile, and may be
			// using it: keep that one.
			srv.Close()
			return cur.srv, nil
		}
		cur.srv.Close() // queries under way finish first (sql.DB.Close)
	}
	s.open[name] = &openServer{dsn: rec.DSN, sealed: string(rec.PasswordEnc), srv: srv}
	return srv, nil
}

// Close closes every open server.
func (s *Servers) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, o := range s.open {
		o.srv.Close()
		delete(s.open, name)
	}
}

func unavailableServer(name string, err error) error {
	return apperr.Wrap(apperr.Unavailable, "DATABASE_UNAVAILABLE", "Database server "+name+" is not answering", err)
}

// ServerSet is what provisioning needs of the registered servers.
type ServerSet interface {
	Get(ctx context.Context, name string) (Server, error)
}

// OneServer is a ServerSet of srv alone, under every name: for tests and
// tools that work on one server.
func OneServer(srv Server) ServerSet { return oneServer{srv} }

type oneServer struct{ srv Server }

func (o oneServer) Get(context.Context, string) (Server, error) { return o.srv, nil }

// ServerNames lists the registered database servers' names.
func (p *Provisioner) ServerNames(ctx context.Context) ([]string, error) {
	servers, err := p.catalog.Servers(ctx)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(servers))
	for i, s := range servers {
		names[i] = s.Name
	}
	return names, nil
}
