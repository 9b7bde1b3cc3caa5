// Package migrations embeds Silo's goose migrations and runs them through
// goose's Provider API, locked per database with MySQL's GET_LOCK, or, for
// runs over many databases, through a Compiled set that writes goose's
// version table under the same lock. It imports nothing of Silo's but the
// leaf internal/lib/mysqllock.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/silo-dev/silo/internal/lib/mysqllock"
)

//go:embed central/*.sql tenant/*.sql
var files embed.FS

// Central returns the central database's migrations.
func Central() fs.FS { return sub("central") }

// Tenant returns the migrations of every tenant database.
func Tenant() fs.FS { return sub("tenant") }

func sub(dir string) fs.FS {
	s, err := fs.Sub(files, dir)
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return s
}

// Latest returns the highest version among the migrations in fsys.
func Latest(fsys fs.FS) int64 {
	var latest int64
	entries, _ := fs.ReadDir(fsys, ".")
	for _, e := range entries {
		if v, err := goose.NumericComponent(e.Name()); err == nil && v > latest {
			latest = v
		}
	}
	return latest
}

// Provider is a goose provider with what Up needs to repair a version
// table a killed runner left without its zero row.
type Provider struct {
	*goose.Provider
	db      *sql.DB
	table   string
	lockKey string
}

// NewProvider returns a goose provider for the migrations in fsys on db,
// recording them in goose's version table named table ("" for goose's
// default, goose_db_version), holding a GET_LOCK session lock named after
// lockKey (e.g. the database name) while it migrates. Closing the provider
// closes db.
func NewProvider(db *sql.DB, fsys fs.FS, table, lockKey string) (*Provider, error) {
	opts := []goose.ProviderOption{
		goose.WithDisableGlobalRegistry(true),
		goose.WithSessionLocker(NewSessionLocker(lockKey, 5*time.Minute)),
	}
	if table != "" {
		opts = append(opts, goose.WithTableName(table))
	} else {
		table = goose.DefaultTablename
	}
	p, err := goose.NewProvider(goose.DialectMySQL, db, fsys, opts...)
	if err != nil {
		return nil, err
	}
	return &Provider{Provider: p, db: db, table: table, lockKey: lockKey}, nil
}

// A Set is one sequence of tenant migrations with its own goose version
// table: Silo's own (CoreSet), and each application's, so that their
// version numbers never collide.
type Set struct {
	Name  string // CoreSetName for Silo's own
	FS    fs.FS
	Table string // goose's version table in each tenant database
}

// CoreSetName names Silo's own tenant migrations.
const CoreSetName = "silo"

// CoreSet is Silo's own tenant migrations in fsys (normally Tenant()),
// recorded in goose's default version table.
func CoreSet(fsys fs.FS) Set {
	return Set{Name: CoreSetName, FS: fsys, Table: "goose_db_version"}
}

var setName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,30}$`)

// NewSet is an application's tenant migration set: name (lower-case
// letters, digits and _, at most 31 characters, not "silo") and its
// migrations, recorded in the table goose_<name>_version.
func NewSet(name string, fsys fs.FS) (Set, error) {
	if !setName.MatchString(name) || name == CoreSetName {
		return Set{}, fmt.Errorf("migration set name %q: use ^[a-z][a-z0-9_]{0,30}$, not %q", name, CoreSetName)
	}
	if fsys == nil {
		return Set{}, fmt.Errorf("migration set %q has no files", name)
	}
	if len(Versions(fsys)) == 0 {
		return Set{}, fmt.Errorf("migration set %q: no migration files (NNNNN_name.sql) at the top of its fs.FS", name)
	}
	return Set{Name: name, FS: fsys, Table: "goose_" + name + "_version"}, nil
}

// Latest is the set's newest version.
func (s Set) Latest() int64 { return Latest(s.FS) }

// SessionLocker implements goose's lock.SessionLocker with MySQL's
// GET_LOCK/RELEASE_LOCK, which goose does not ship. The lock belongs to the
// connection, so a crashed runner releases it when its session ends.
type SessionLocker struct {
	name    string
	timeout time.Duration
}

// ErrLockTimeout is returned when another runner held the lock for too long.
var ErrLockTimeout = errors.New("timed out waiting for the migration lock (another migration is running)")

// NewSessionLocker returns a locker whose lock name is derived from key and
// fits MySQL's 64-character limit on lock names.
func NewSessionLocker(key string, timeout time.Duration) *SessionLocker {
	return &SessionLocker{name: LockName(key), timeout: timeout}
}

// LockName derives the GET_LOCK name for key.
func LockName(key string) string {
	return mysqllock.Name("silo:migrate:", key, 20)
}

// SessionLock waits for the lock up to the locker's timeout (at least a
// second).
func (l *SessionLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	got, err := mysqllock.Get(ctx, conn, l.name, max(l.timeout, time.Second))
	if err != nil {
		return fmt.Errorf("acquire migration lock: %w", err)
	}
	if !got {
		return ErrLockTimeout
	}
	return nil
}

// SessionUnlock releases the lock taken by SessionLock on the same connection.
func (l *SessionLocker) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	held, err := mysqllock.Release(ctx, conn, l.name)
	if err != nil {
		return fmt.Errorf("release migration lock: %w", err)
	}
	if !held {
		return errors.New("release migration lock: this session did not hold it")
	}
	return nil
}

// Up applies every pending migration of p. When several runners meet a
// brand-new database at once, goose can see the version table before its
// zero row ("missing zero version migration"); that runner simply tries
// again once the first one has finished. When the zero row stays missing,
// a runner was killed between goose's CREATE TABLE and its INSERT (MySQL
// commits DDL at once, so goose's transaction cannot hold the two
// together): Up writes the row under the migration lock and tries again.
func Up(ctx context.Context, p *Provider) ([]*goose.MigrationResult, error) {
	repaired := false
	for attempt := 1; ; attempt++ {
		res, err := p.Up(ctx)
		if err == nil || !strings.Contains(err.Error(), "missing zero version") {
			return res, err
		}
		if attempt >= 5 {
			if repaired {
				return res, err
			}
			if rerr := p.repairZeroVersion(ctx); rerr != nil {
				return res, errors.Join(err, rerr)
			}
			repaired = true
			continue
		}
		select {
		case <-ctx.Done():
			return res, err
		case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
		}
	}
}

// repairZeroVersion writes goose's zero row into p's version table if the
// table has no row at all, holding the migration lock so that no runner is
// half-way through creating it. An empty version table records no
// migration, and none can have run: goose writes the zero row first.
func (p *Provider) repairZeroVersion(ctx context.Context) error {
	conn, err := p.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	l := NewSessionLocker(p.lockKey, 30*time.Second)
	if err := l.SessionLock(ctx, conn); err != nil {
		return err
	}
	defer l.SessionUnlock(context.WithoutCancel(ctx), conn) //nolint:errcheck // closing the connection releases it too
	quoted := "`" + strings.ReplaceAll(p.table, "`", "``") + "`"
	var rows int
	if err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+quoted).Scan(&rows); err != nil {
		return fmt.Errorf("repair the version table: %w", err)
	}
	if rows > 0 {
		return nil
	}
	if _, err := conn.ExecContext(ctx, "INSERT INTO "+quoted+" (version_id, is_applied) VALUES (0, 1)"); err != nil {
		return fmt.Errorf("repair the version table: %w", err)
	}
	return nil
}

// Versions lists the versions of the migrations in fsys, ascending.
func Versions(fsys fs.FS) []int64 {
	var out []int64
	entries, _ := fs.ReadDir(fsys, ".")
	for _, e := range entries {
		if v, err := goose.NumericComponent(e.Name()); err == nil {
			out = append(out, v)
		}
	}
	return out
}

// Grace is how long a migration already running may go on after its
// context is cancelled (see Uncancelled).
const Grace = 30 * time.Second

// Uncancelled returns a context for running migrations that outlives ctx's
// cancellation by grace. MySQL commits each DDL statement at once, so a
// migration cancelled between its DDL and goose's version row leaves the
// schema ahead of its version table, and the next run repeats DDL that
// already ran. Cancelling ctx (a stopped fleet run, a shut-down server)
// therefore lets the migration in flight record itself, unless it takes
// longer than grace. Call stop when the migration is done.
func Uncancelled(ctx context.Context, grace time.Duration) (run context.Context, stop func()) {
	run, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var mu sync.Mutex
	var timer *time.Timer
	unhook := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		timer = time.AfterFunc(grace, cancel)
	})
	return run, func() {
		unhook()
		mu.Lock()
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
		cancel()
	}
}
