package central

import (
	"context"
	"time"

	"github.com/silo-dev/silo/internal/lib/mysqllock"
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
	key := mysqllock.Name("silo:", c.dbName+"/"+name, 24)
	got, err := mysqllock.Get(ctx, conn, key, wait)
	if err != nil || !got {
		conn.Close()
		return nil, false, translate(err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = mysqllock.Release(ctx, conn, key)
		conn.Close()
	}, true, nil
}
