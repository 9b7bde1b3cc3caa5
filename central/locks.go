package central

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// TryLock takes the named MySQL lock (GET_LOCK) on a connection of its own
// without waiting. ok is false when another session holds it. The lock is
// scoped to this central database, so two Silo installations sharing a
// server do not block each other, and it is released by release or when
// the connection dies with its process.
func (c *Catalog) TryLock(ctx context.Context, name string) (release func(), ok bool, err error) {
	return c.Lock(ctx, name, 0)
}

// Lock is TryLock waiting up to wait for the lock.
func (c *Catalog) Lock(ctx context.Context, name string, wait time.Duration) (release func(), ok bool, err error) {
	conn, err := c.locks.Conn(ctx)
	if err != nil {
		return nil, false, translate(err)
	}
	key := lockKey(c.dbName, name)
	var got *int64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", key, int(wait.Seconds())).Scan(&got); err != nil {
		conn.Close()
		return nil, false, translate(err)
	}
	if got == nil || *got != 1 {
		conn.Close()
		return nil, false, nil
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = conn.ExecContext(ctx, "DO RELEASE_LOCK(?)", key)
		conn.Close()
	}, true, nil
}

// lockKey fits any name into MySQL's 64-character lock names.
func lockKey(database, name string) string {
	sum := sha256.Sum256([]byte(database + "/" + name))
	return "silo:" + hex.EncodeToString(sum[:24])
}
