package central

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
	"github.com/pressly/goose/v3"

	"github.com/silo-dev/silo/config"
	"github.com/silo-dev/silo/migrations"
)

// EnsureDatabase creates the central database named in cfg if it is missing.
func EnsureDatabase(ctx context.Context, cfg *mysql.Config) error {
	if !config.ValidDatabaseName(cfg.DBName) {
		return fmt.Errorf("central database name %q is not valid", cfg.DBName)
	}
	db, err := openServer(cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	// The name matched a strict pattern above, so quoting it is enough.
	_, err = db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS `"+cfg.DBName+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
	if err != nil {
		return fmt.Errorf("create central database %s: %w", cfg.DBName, translate(err))
	}
	return nil
}

// ErrNoDatabase means the central database, or Silo's schema in it, is
// missing or behind. Commands that only read say so instead of creating or
// migrating it: a mistyped DSN must not conjure up an empty installation.
var ErrNoDatabase = errors.New("central database missing")

// notReady is ErrNoDatabase with what the operator should know.
type notReady struct{ msg string }

func (e *notReady) Error() string        { return e.msg }
func (e *notReady) Is(target error) bool { return target == ErrNoDatabase }

// RequireDatabase checks, changing nothing, that the central database named
// in cfg exists; otherwise it returns an error matching ErrNoDatabase.
func RequireDatabase(ctx context.Context, cfg *mysql.Config) error {
	db, err := openServer(cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	var n int
	err = db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", cfg.DBName).Scan(&n)
	if err != nil {
		return fmt.Errorf("connect to the database server at %s: %w", cfg.Addr, translate(err))
	}
	if n == 0 {
		return &notReady{fmt.Sprintf("the central database %s does not exist on %s: check SILO_CENTRAL_DSN "+
			"(silo serve and silo migrate central up create it; this command does not)", cfg.DBName, cfg.Addr)}
	}
	return nil
}

// Open connects to the central database, which must exist.
func Open(ctx context.Context, cfg *mysql.Config) (*sqlx.DB, error) {
	return OpenWrapped(ctx, cfg, nil)
}

// OpenWrapped is Open with the driver's connector passed through wrap
// (nil: used as it is).
func OpenWrapped(ctx context.Context, cfg *mysql.Config, wrap func(driver.Connector) driver.Connector) (*sqlx.DB, error) {
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	if wrap != nil {
		conn = wrap(conn)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(25)
	db.SetMaxIdleConns(25)
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(time.Hour)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to central database %s at %s: %w", cfg.DBName, cfg.Addr, translate(err))
	}
	return sqlx.NewDb(db, "mysql"), nil
}

// openServer connects to cfg's server with no database selected.
func openServer(cfg *mysql.Config) (*sql.DB, error) {
	server := cfg.Clone()
	server.DBName = ""
	return openDB(server)
}

func openDB(cfg *mysql.Config) (*sql.DB, error) {
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(conn), nil
}

// Migrator applies the central schema migrations.
type Migrator struct{ cfg *mysql.Config }

// NewMigrator returns a Migrator for the central database in cfg.
func NewMigrator(cfg *mysql.Config) *Migrator { return &Migrator{cfg: cfg} }

// withProvider runs fn with a goose provider on its own connection pool,
// creating the database first when create is set; otherwise the database
// must exist. goose closes the pool.
func (m *Migrator) withProvider(ctx context.Context, create bool, fn func(*migrations.Provider) error) error {
	check := RequireDatabase
	if create {
		check = EnsureDatabase
	}
	if err := check(ctx, m.cfg); err != nil {
		return err
	}
	db, err := openDB(m.cfg)
	if err != nil {
		return err
	}
	p, err := migrations.NewProvider(db, migrations.Central(), "", "central:"+m.cfg.Addr+"/"+m.cfg.DBName)
	if err != nil {
		db.Close()
		return err
	}
	defer p.Close()
	return fn(p)
}

// Up creates the central database if needed and applies every pending migration.
func (m *Migrator) Up(ctx context.Context) ([]*goose.MigrationResult, error) {
	var res []*goose.MigrationResult
	err := m.withProvider(ctx, true, func(p *migrations.Provider) error {
		var err error
		res, err = migrations.Up(ctx, p)
		return err
	})
	return res, err
}

// errNothingToRollBack: Down on a database without applied migrations.
var errNothingToRollBack = errors.New("nothing to roll back: the central database has no applied migrations")

// Down rolls back the most recent migration of the existing database.
func (m *Migrator) Down(ctx context.Context) (*goose.MigrationResult, error) {
	migrated, err := m.hasVersionTable(ctx)
	if err != nil {
		return nil, err
	}
	if !migrated {
		return nil, errNothingToRollBack
	}
	var res *goose.MigrationResult
	err = m.withProvider(ctx, false, func(p *migrations.Provider) error {
		var err error
		res, err = p.Down(ctx)
		if errors.Is(err, goose.ErrNoNextVersion) {
			return errNothingToRollBack
		}
		return err
	})
	return res, err
}

// Status lists every migration with whether it is applied. It changes
// nothing: the database must exist, and one without goose's version table
// has every migration pending.
func (m *Migrator) Status(ctx context.Context) ([]*goose.MigrationStatus, error) {
	migrated, err := m.hasVersionTable(ctx)
	if err != nil {
		return nil, err
	}
	var res []*goose.MigrationStatus
	err = m.withProvider(ctx, false, func(p *migrations.Provider) error {
		if !migrated {
			for _, src := range p.ListSources() {
				res = append(res, &goose.MigrationStatus{Source: src, State: goose.StatePending})
			}
			return nil
		}
		var err error
		res, err = p.Status(ctx)
		return err
	})
	return res, err
}

// hasVersionTable reports whether the existing central database has goose's
// version table (goose creates it whenever it looks at a database, so look
// first). It returns an error matching ErrNoDatabase if the database is missing.
func (m *Migrator) hasVersionTable(ctx context.Context) (bool, error) {
	if err := RequireDatabase(ctx, m.cfg); err != nil {
		return false, err
	}
	db, err := openDB(m.cfg)
	if err != nil {
		return false, err
	}
	defer db.Close()
	var n int
	err = db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'goose_db_version'", m.cfg.DBName).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("read central database %s: %w", m.cfg.DBName, translate(err))
	}
	return n > 0, nil
}

// RequireCurrent checks, changing nothing, that the central database exists
// with every migration applied, for commands that only read it; otherwise
// it returns an error matching ErrNoDatabase that says what to run.
func (m *Migrator) RequireCurrent(ctx context.Context) error {
	migrated, err := m.hasVersionTable(ctx)
	if err != nil {
		return err
	}
	if !migrated {
		return &notReady{fmt.Sprintf("the database %s on %s holds no Silo central schema: check SILO_CENTRAL_DSN, "+
			"or run silo migrate central up", m.cfg.DBName, m.cfg.Addr)}
	}
	return m.withProvider(ctx, false, func(p *migrations.Provider) error {
		pending, err := p.HasPending(ctx)
		if err != nil {
			return err
		}
		if pending {
			return &notReady{fmt.Sprintf("the central database %s on %s has migrations pending: run silo migrate central up "+
				"(or silo serve) first", m.cfg.DBName, m.cfg.Addr)}
		}
		return nil
	})
}

// OpenLockPool connects a pool for named locks (see Catalog.UseLockPool):
// unbounded, since each connection stands for one lock held.
func OpenLockPool(ctx context.Context, cfg *mysql.Config) (*sqlx.DB, error) {
	// GET_LOCK waits (a fleet run waits up to a minute for a tenant) must
	// not be cut by the driver's read timeout.
	cfg = cfg.Clone()
	cfg.ReadTimeout = max(cfg.ReadTimeout, 2*time.Minute)
	db, err := Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(0)
	db.SetMaxIdleConns(4)
	return db, nil
}
