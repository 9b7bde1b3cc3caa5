package central

import (
	"context"
	"database/sql"
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
	server := cfg.Clone()
	server.DBName = ""
	db, err := openDB(server)
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

// Open connects to the central database, which must exist.
func Open(ctx context.Context, cfg *mysql.Config) (*sqlx.DB, error) {
	db, err := openDB(cfg)
	if err != nil {
		return nil, err
	}
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
// creating the database first when create is set. goose closes the pool.
func (m *Migrator) withProvider(ctx context.Context, create bool, fn func(*goose.Provider) error) error {
	if create {
		if err := EnsureDatabase(ctx, m.cfg); err != nil {
			return err
		}
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
	err := m.withProvider(ctx, true, func(p *goose.Provider) error {
		var err error
		res, err = migrations.Up(ctx, p)
		return err
	})
	return res, err
}

// Down rolls back the most recent migration.
func (m *Migrator) Down(ctx context.Context) (*goose.MigrationResult, error) {
	var res *goose.MigrationResult
	err := m.withProvider(ctx, false, func(p *goose.Provider) error {
		var err error
		res, err = p.Down(ctx)
		if errors.Is(err, goose.ErrNoNextVersion) {
			return errors.New("nothing to roll back: the central database has no applied migrations")
		}
		return err
	})
	return res, err
}

// Status lists every migration with whether it is applied.
func (m *Migrator) Status(ctx context.Context) ([]*goose.MigrationStatus, error) {
	var res []*goose.MigrationStatus
	err := m.withProvider(ctx, true, func(p *goose.Provider) error {
		var err error
		res, err = p.Status(ctx)
		return err
	})
	return res, err
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
