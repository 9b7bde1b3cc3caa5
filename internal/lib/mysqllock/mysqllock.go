// Package mysqllock takes and releases MySQL's named session locks
// (GET_LOCK/RELEASE_LOCK) on one connection: the migration locker and the
// central catalog's named locks both use it. A lock belongs to the session
// that took it, so it is released when that connection ends. It imports
// nothing of Silo's.
package mysqllock

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"time"
)

// Name derives a lock name from key: prefix followed by the hex of the
// first n bytes of key's SHA-256, so that any key fits MySQL's 64-character
// limit on lock names when len(prefix)+2n <= 64. Names must stay stable
// across releases: runners of two versions must meet on the same lock.
func Name(prefix, key string, n int) string {
	sum := sha256.Sum256([]byte(key))
	return prefix + hex.EncodeToString(sum[:n])
}

// Get waits up to wait, in whole seconds (0: not at all), for the lock name
// on conn. ok is false when another session held it for the whole wait.
func Get(ctx context.Context, conn *sql.Conn, name string, wait time.Duration) (ok bool, err error) {
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", name, int64(wait/time.Second)).Scan(&got); err != nil {
		return false, err
	}
	return got.Valid && got.Int64 == 1, nil
}

// Release releases the lock name taken by Get on the same conn. held is
// false when this session did not hold it.
func Release(ctx context.Context, conn *sql.Conn, name string) (held bool, err error) {
	var released sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT RELEASE_LOCK(?)", name).Scan(&released); err != nil {
		return false, err
	}
	return released.Valid && released.Int64 == 1, nil
}
