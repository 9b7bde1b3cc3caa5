package migrations

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
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

// Up applies c's migrations above database's version, up to version to
// (0: the latest), on conn, holding the GET_LOCK that goose's runner holds
// for lockKey (NewSessionLocker) and recording each in goose's version
// table table. It returns the version the database is at afterwards, and
// leaves conn on database. conn must allow several statements per query
// (mysql.Config.MultiStatements): the lock, the version table's read and
// the USE go in one round trip, and the last version row and the release
// in another, so that a database costs two round trips besides its
// migrations' statements (and BEGIN/COMMIT for a migration that needs a
// transaction: see apply).
func (c *Compiled) Up(ctx context.Context, conn *sql.Conn, db, table, lockKey string, to int64) (v int64, err error) {
	if !identifier.MatchString(db) || !identifier.MatchString(table) {
		return -1, fmt.Errorf("invalid database or table name %q.%q", db, table)
	}
	name := LockName(lockKey)
	held := false
	defer func() {
		if held {
			if _, rerr := mysqllock.Release(context.WithoutCancel(ctx), conn, name); rerr != nil && err == nil {
				err = fmt.Errorf("release migration lock: %w", rerr)
			}
		}
	}()
	rows, held, err := lockAndRead(ctx, conn, db, table, name)
	if err != nil {
		return -1, err
	}
	pending, v, err := c.pending(rows, to)
	if err != nil {
		return v, err
	}
	store, err := database.NewStore(database.DialectMySQL, table)
	if err != nil {
		return v, err
	}
	for i, m := range pending {
		last := i == len(pending)-1
		released, err := c.apply(ctx, conn, store, m, last, name)
		if err != nil {
			return v, fmt.Errorf("migration %d: %w", m, err)
		}
		held = held && !released
		v = m
	}
	return v, nil
}

// identifier is what Up accepts as a database or table name.
var identifier = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)

// lockAndRead takes the lock, reads the version table (once the lock is
// held: the statements run in order) and selects db, in one round trip.
// held reports whether the lock is held, also on an error.
func lockAndRead(ctx context.Context, conn *sql.Conn, db, table, name string) (_ []database.ListMigrationsResult, held bool, err error) {
	q := "SELECT GET_LOCK('" + name + "', " + strconv.Itoa(int((5*time.Minute)/time.Second)) + "); " +
		"SELECT version_id, is_applied FROM `" + db + "`.`" + table + "` ORDER BY id DESC; USE `" + db + "`"
	rs, err := conn.QueryContext(ctx, q)
	if err != nil {
		return nil, false, fmt.Errorf("acquire migration lock: %w", err)
	}
	defer rs.Close()
	var got sql.NullInt64
	if rs.Next() {
		err = rs.Scan(&got)
	}
	if held = got.Valid && got.Int64 == 1; err != nil || !held {
		return nil, held, errors.Join(err, rs.Err(), ErrLockTimeout)
	}
	var out []database.ListMigrationsResult
	if !rs.NextResultSet() {
		return nil, true, noVersionTable(rs.Err())
	}
	for rs.Next() {
		var r database.ListMigrationsResult
		if err := rs.Scan(&r.Version, &r.IsApplied); err != nil {
			return nil, true, err
		}
		out = append(out, r)
	}
	rs.NextResultSet() // the USE
	if err := errors.Join(rs.Err(), rs.Close()); err != nil {
		return nil, true, err
	}
	return out, true, nil
}

// noVersionTable turns "no such table" into ErrUseGoose: goose creates it.
func noVersionTable(err error) error {
	if me, ok := errors.AsType[*mysql.MySQLError](err); ok && me.Number == 1146 {
		return ErrUseGoose
	}
	if err == nil {
		err = errors.New("the version table's rows are missing from the answer")
	}
	return err
}

// pending lists the versions to apply, given the version table's rows,
// and the database's current version.
func (c *Compiled) pending(rows []database.ListMigrationsResult, to int64) ([]int64, int64, error) {
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
//
// When last, the version row of a migration outside a transaction goes
// with the lock's release (named name) in one round trip; released
// reports that the lock was released.
func (c *Compiled) apply(ctx context.Context, conn *sql.Conn, store database.Store, v int64, last bool, name string) (released bool, err error) {
	f := c.files[v]
	if !f.useTx || f.ddlOnly() {
		for _, q := range f.up {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				return false, err
			}
		}
		if !last {
			return false, store.Insert(ctx, conn, database.InsertRequest{Version: v})
		}
		// The release runs only if the INSERT succeeded (a failed
		// statement ends the query); Up releases it otherwise.
		_, err := conn.ExecContext(ctx, "INSERT INTO "+store.Tablename()+" (version_id, is_applied) VALUES ("+
			strconv.FormatInt(v, 10)+", 1); DO RELEASE_LOCK('"+name+"')")
		return err == nil, err
	}
	return false, c.applyTx(ctx, conn, store, v)
}

// applyTx runs migration v and its version row in one transaction.
func (c *Compiled) applyTx(ctx context.Context, conn *sql.Conn, store database.Store, v int64) (err error) {
	f := c.files[v]
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
