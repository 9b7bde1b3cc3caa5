package tenantdb_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/silo-dev/silo/tenantdb"
)

// The cost of a tenant connection, which the shared connection mode
// avoids (docs/tenant-plane.md, "Connection modes"). Run with
//
//	go test -run '^$' -bench 'Conn' -benchtime 2s ./tenantdb/
//
// BenchmarkConnNewTenantLogin opens and closes a connection as a tenant's
// own DB user (TCP, handshake, authentication): what a request pays when
// its tenant's pool was evicted. BenchmarkConnQueryOpen is one
// primary-key read on an open connection; BenchmarkConnNewLoginQuery the
// two together; BenchmarkConnSharedLeaseQuery a shared-mode request's
// cost: lease, SET ROLE, USE, the read, then the reset (SET ROLE NONE,
// USE information_schema) on release, which a request does not wait for
// but the benchmark does.

func BenchmarkConnNewTenantLogin(b *testing.B) {
	e := newBenchEnv(b)
	cfg, _ := e.a.creds.Open()
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		c, err := conn.Connect(ctx)
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}

func BenchmarkConnQueryOpen(b *testing.B) {
	e := newBenchEnv(b)
	cfg, _ := e.a.creds.Open()
	db, err := tenantdb.Open(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for b.Loop() {
		readRow(b, db.QueryRowContext)
	}
}

func BenchmarkConnNewLoginQuery(b *testing.B) {
	e := newBenchEnv(b)
	cfg, _ := e.a.creds.Open()
	for b.Loop() {
		db, err := tenantdb.Open(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		readRow(b, db.QueryRowContext)
		db.Close()
	}
}

func BenchmarkConnSharedLeaseQuery(b *testing.B) {
	e := newBenchEnv(b)
	for b.Loop() {
		l, err := e.shared.Lease(e.roleA, e.a.database)
		if err != nil {
			b.Fatal(err)
		}
		readRow(b, l.DB.QueryRowContext)
		l.Release()
		tenantdb.SettleShared(e.shared) // count the reset too
	}
}

func newBenchEnv(b *testing.B) *sharedEnv {
	return newSharedEnv(b, tenantdb.SharedOptions{MaxConns: 4})
}

// readRow reads tenant a's row by primary key.
func readRow(b *testing.B, query func(context.Context, string, ...any) *sql.Row) {
	var v string
	if err := query(context.Background(), "SELECT v FROM kv WHERE id = 1").Scan(&v); err != nil {
		b.Fatal(err)
	}
}
