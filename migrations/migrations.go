// Package migrations embeds Silo's goose migrations and runs them through
// goose's Provider API, locked per database with MySQL's GET_LOCK. It imports
// nothing of Silo's.
package migrations

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
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

// NewProvider returns a goose provider for the migrations in fsys on db,
// recording them in goose's version table named table ("" for goose's
// default, goose_db_version), holding a GET_LOCK session lock named after
// lockKey (e.g. the database name) while it migrates. Closing the provider
// closes db.
func NewProvider(db *sql.DB, fsys fs.FS, table, lockKey string) (*goose.Provider, error) {
	opts := []goose.ProviderOption{
		goose.WithDisableGlobalRegistry(true),
		goose.WithSessionLocker(NewSessionLocker(lockKey, 5*time.Minute)),
	}
	if table != "" {
		opts = append(opts, goose.WithTableName(table))
	}
	return goose.NewProvider(goose.DialectMySQL, db, fsys, opts...)
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
	sum := sha256.Sum256([]byte(key))
	return "silo:migrate:" + hex.EncodeToString(sum[:20])
}

// SessionLock waits for the lock up to the locker's timeout.
func (l *SessionLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	var got sql.NullInt64
	secs := int64(l.timeout / time.Second)
	if secs < 1 {
		secs = 1
	}
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", l.name, secs).Scan(&got); err != nil {
		return fmt.Errorf("acquire migration lock: %w", err)
	}
	if !got.Valid || got.Int64 != 1 {
		return ErrLockTimeout
	}
	return nil
}

// SessionUnlock releases the lock taken by SessionLock on the same connection.
func (l *SessionLocker) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	var released sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT RELEASE_LOCK(?)", l.name).Scan(&released); err != nil {
		return fmt.Errorf("release migration lock: %w", err)
	}
	if !released.Valid || released.Int64 != 1 {
		return errors.New("release migration lock: this session did not hold it")
	}
	return nil
}

// Up applies every pending migration of p. When several runners meet a
// brand-new database at once, goose can see the version table before its
// zero row ("missing zero version migration"); that runner simply tries
// again once the first one has finished.
func Up(ctx context.Context, p *goose.Provider) ([]*goose.MigrationResult, error) {
	for attempt := 1; ; attempt++ {
		res, err := p.Up(ctx)
		if err == nil || attempt == 5 || !strings.Contains(err.Error(), "missing zero version") {
			return res, err
		}
		select {
		case <-ctx.Done():
			return res, err
		case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
		}
	}
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
