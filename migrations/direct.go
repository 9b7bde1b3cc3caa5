package migrations

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"

	"github.com/silo-dev/silo/internal/lib/mysqllock"
)

// A Compiled set is a migration set's SQL files read and parsed once, for
// applying them to many databases (a fleet run) without goose's per
// database Provider, which re-reads and re-parses every file each time.
// Its Up writes what goose writes: the same version table and rows, under
// the same GET_LOCK, so goose, Server.MigrateTo and the fleet runner stay
// interchangeable on one database. Whatever it is not sure of it leaves to
// goose (ErrUseGoose).
type Compiled struct {
	versions []int64            // ascending
	files    map[int64]*sqlFile // nil for a file goose must run (ENVSUB, not SQL)
}

// ErrUseGoose is Compiled.Up's answer when the database needs goose
// itself: no version table or no zero row yet (goose creates them), a
// gap in the applied versions (goose reports it), or a file the compiled
// set does not run. Nothing was changed and the lock is released.
var ErrUseGoose = errors.New("this database needs goose's own runner")

// Compile reads and parses the migrations in fsys.
func Compile(fsys fs.FS) (*Compiled, error) {
	c := &Compiled{files: map[int64]*sqlFile{}}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		v, err := goose.NumericComponent(e.Name())
		if err != nil {
			continue
		}
		if _, dup := c.files[v]; dup {
			return nil, fmt.Errorf("two migrations have version %d", v)
		}
		c.versions = append(c.versions, v)
		c.files[v] = nil
		if !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		src, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, err
		}
		f, err := parseSQLFile(src)
		if errors.Is(err, errUnsupported) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", e.Name(), err)
		}
		c.files[v] = f
	}
	slices.Sort(c.versions)
	return c, nil
}

// Up applies c's migrations above the database's version, up to version
// to (0: the latest), on conn, which must be on the database, holding the
// GET_LOCK that goose's runner holds for lockKey (NewSessionLocker) and
// recording each in goose's version table table. It returns the version
// the database is at afterwards. Per database it costs the lock, one read
// of the version table, the statements and a version row per migration
// (in one transaction unless the file says NO TRANSACTION or holds only
// statements MySQL commits at once), and the release.
func (c *Compiled) Up(ctx context.Context, conn *sql.Conn, table, lockKey string, to int64) (v int64, err error) {
	name := LockName(lockKey)
	got, err := mysqllock.Get(ctx, conn, name, 5*time.Minute)
	if err != nil {
		return -1, fmt.Errorf("acquire migration lock: %w", err)
	}
	if !got {
		return -1, ErrLockTimeout
	}
	defer func() {
		if _, rerr := mysqllock.Release(context.WithoutCancel(ctx), conn, name); rerr != nil && err == nil {
			err = fmt.Errorf("release migration lock: %w", rerr)
		}
	}()
	store, err := database.NewStore(database.DialectMySQL, table)
	if err != nil {
		return -1, err
	}
	pending, v, err := c.pending(ctx, conn, store, to)
	if err != nil {
		return v, err
	}
	for _, m := range pending {
		if err := c.apply(ctx, conn, store, m); err != nil {
			return v, fmt.Errorf("migration %d: %w", m, err)
		}
		v = m
	}
	return v, nil
}

// pending reads the version table and lists the versions to apply, and
// the database's current version.
func (c *Compiled) pending(ctx context.Context, conn *sql.Conn, store database.Store, to int64) ([]int64, int64, error) {
	rows, err := store.ListMigrations(ctx, conn)
	if err != nil {
		if me, ok := errors.AsType[*mysql.MySQLError](err); ok && me.Number == 1146 {
			return nil, -1, ErrUseGoose // no version table yet
		}
		return nil, -1, err
	}
	applied := map[int64]bool{}
	var current int64 = -1
	for _, r := range rows {
		if !r.IsApplied {
			return nil, -1, ErrUseGoose // a legacy goose down row: goose knows
		}
		applied[r.Version] = true
		current = max(current, r.Version)
	}
	if !applied[0] {
		return nil, -1, ErrUseGoose
	}
	var pending []int64
	for _, v := range c.versions {
		switch {
		case v <= current && !applied[v]:
			return nil, current, ErrUseGoose // out of order: goose reports it
		case v > current && (to == 0 || v <= to):
			if c.files[v] == nil {
				return nil, current, ErrUseGoose
			}
			pending = append(pending, v)
		}
	}
	return pending, current, nil
}

// apply runs migration v and records it as goose would: in one
// transaction with its version row, unless the file is NO TRANSACTION or
// every statement is DDL, which MySQL commits at once (a transaction
// around it would hold only the version row).
func (c *Compiled) apply(ctx context.Context, conn *sql.Conn, store database.Store, v int64) (err error) {
	f := c.files[v]
	if !f.useTx || f.ddlOnly() {
		for _, q := range f.up {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return store.Insert(ctx, conn, database.InsertRequest{Version: v})
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, tx.Rollback())
		}
	}()
	for _, q := range f.up {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	if err := store.Insert(ctx, tx, database.InsertRequest{Version: v}); err != nil {
		return err
	}
	return tx.Commit()
}

// ddlOnly reports whether every Up statement is one MySQL and MariaDB
// commit implicitly (CREATE, ALTER, DROP, RENAME, TRUNCATE of a table,
// index or view), so that a transaction around them holds nothing but
// the version row.
func (f *sqlFile) ddlOnly() bool {
	for _, q := range f.up {
		if !implicitCommit(q) {
			return false
		}
	}
	return true
}

func implicitCommit(q string) bool {
	w := strings.Fields(strings.ToUpper(stripLeadingComments(q)))
	if len(w) < 2 {
		return false
	}
	switch w[0] {
	case "ALTER", "DROP", "RENAME", "TRUNCATE":
		return w[1] == "TABLE" || w[1] == "INDEX" || w[1] == "VIEW"
	case "CREATE":
		// CREATE TEMPORARY TABLE does not commit.
		return w[1] == "TABLE" || w[1] == "INDEX" || w[1] == "UNIQUE" || w[1] == "VIEW"
	}
	return false
}

// stripLeadingComments drops "--" and "#" comment lines at q's start
// (goose keeps comments inside a statement).
func stripLeadingComments(q string) string {
	for {
		q = strings.TrimSpace(q)
		if !strings.HasPrefix(q, "--") && !strings.HasPrefix(q, "#") {
			return q
		}
		_, rest, ok := strings.Cut(q, "\n")
		if !ok {
			return ""
		}
		q = rest
	}
}
