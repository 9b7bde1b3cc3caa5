package tenantdb

import (
	"context"
	"database/sql"
	"errors"
	"sync"

	"github.com/go-sql-driver/mysql"

	"github.com/silo-dev/silo/internal/lib/dberr"
	"github.com/silo-dev/silo/migrations"
)

// Migrator migrates tenant databases one after another over one
// connection to the server, as the tenant admin: a fleet run's worker
// holds one, so that a tenant costs no new connection. Each database is
// migrated under its own GET_LOCK, the lock Server.MigrateTo and goose
// take, and recorded in goose's version table (by the set compiled once,
// or by goose: see MigrateTo), so runners of any kind never apply a
// migration twice. A Migrator is used by one goroutine at a time.
type Migrator struct {
	s  *Server
	db *sql.DB // at most one connection, selected on the database at work

	mu       sync.Mutex // guards database: the pool may reconnect from its own goroutine
	database string

	compiled map[string]*migrations.Compiled // by set name, parsed on first use; nil: goose parses it
}

// MigrationConn is what a fleet worker migrates databases with, one after
// another: a Migrator (tests wrap one).
type MigrationConn interface {
	MigrateTo(ctx context.Context, database string, set migrations.Set, up bool, to int64) (int64, error)
	Version(ctx context.Context, database string, set migrations.Set) (int64, error)
	Close() error
}

// NewMigrator returns a Migrator; it connects on first use. Close it.
func (s *Server) NewMigrator() (MigrationConn, error) {
	m := &Migrator{s: s}
	cfg := s.cfg.Clone()
	cfg.DBName = ""
	// The compiled set sends its lock, version read and USE in one query
	// (migrations.Compiled.Up); migration files' statements are still
	// sent one by one, as goose splits them.
	cfg.MultiStatements = true
	// A connection the pool opens again (after the old one broke) starts
	// on the database at work, never on the previous one.
	if err := cfg.Apply(mysql.BeforeConnect(func(_ context.Context, c *mysql.Config) error {
		m.mu.Lock()
		c.DBName = m.database
		m.mu.Unlock()
		return nil
	})); err != nil {
		return nil, err
	}
	db, err := open(cfg)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	m.db = db.DB
	return m, nil
}

// Close closes the Migrator's connection.
func (m *Migrator) Close() error { return m.db.Close() }

// use selects database on the connection. On an error nothing may run:
// the connection may still be on the previous database.
func (m *Migrator) use(ctx context.Context, database string) error {
	if err := checkDatabase(database); err != nil {
		return err
	}
	m.mu.Lock()
	m.database = database
	m.mu.Unlock()
	_, err := m.db.ExecContext(ctx, "USE `"+database+"`")
	return dberr.Translate(err)
}

// provider is goose for set on database over the Migrator's connection.
// It must never be closed: that would close the connection.
func (m *Migrator) provider(ctx context.Context, database string, set migrations.Set) (*migrations.Provider, error) {
	if err := m.use(ctx, database); err != nil {
		return nil, err
	}
	return migrations.NewProvider(m.db, set.FS, set.Table, m.s.lockKey(database))
}

// MigrateTo is Server.MigrateTo on the Migrator's connection. Up runs
// the set's migrations compiled once per Migrator (migrations.Compiled),
// unless the database needs goose itself (a new database, a gap in its
// versions, a file only goose runs); down runs goose.
func (m *Migrator) MigrateTo(ctx context.Context, database string, set migrations.Set, up bool, to int64) (int64, error) {
	if c := m.compile(set); up && c != nil {
		v, err := m.upCompiled(ctx, database, set, c, to)
		if !errors.Is(err, migrations.ErrUseGoose) {
			return v, dberr.Translate(err)
		}
	}
	p, err := m.provider(ctx, database, set)
	if err != nil {
		return -1, err
	}
	return migrateTo(ctx, p, up, to)
}

// Version is Server.Version on the Migrator's connection.
func (m *Migrator) Version(ctx context.Context, database string, set migrations.Set) (int64, error) {
	p, err := m.provider(ctx, database, set)
	if err != nil {
		return 0, err
	}
	v, err := p.GetDBVersion(ctx)
	return v, dberr.Translate(err)
}

// compile returns set's compiled migrations, or nil when they do not
// compile: goose then reports what is wrong with them.
func (m *Migrator) compile(set migrations.Set) *migrations.Compiled {
	if c, ok := m.compiled[set.Name]; ok {
		return c
	}
	c, err := migrations.Compile(set.FS)
	if err != nil {
		c = nil
	}
	if m.compiled == nil {
		m.compiled = map[string]*migrations.Compiled{}
	}
	m.compiled[set.Name] = c
	return c
}

// upCompiled brings database up to to with c, on the Migrator's
// connection, letting a migration in flight record itself after ctx is
// cancelled (migrations.Uncancelled), as migrateTo does.
func (m *Migrator) upCompiled(ctx context.Context, database string, set migrations.Set, c *migrations.Compiled, to int64) (int64, error) {
	if err := checkDatabase(database); err != nil {
		return -1, err
	}
	ctx, stop := migrations.Uncancelled(ctx, migrations.Grace)
	defer stop()
	conn, err := m.db.Conn(ctx)
	if err != nil {
		return -1, err
	}
	defer conn.Close()
	m.mu.Lock()
	m.database = database
	m.mu.Unlock()
	return c.Up(ctx, conn, database, set.Table, m.s.lockKey(database), to)
}
