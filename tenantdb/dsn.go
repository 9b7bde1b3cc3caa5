package tenantdb

import (
	"github.com/go-sql-driver/mysql"
)

// ParseServerDSN reads the DSN of a tenant database server's admin
// account (the go-sql-driver/mysql form, user:password@tcp(host:port)/).
func ParseServerDSN(dsn string) (*mysql.Config, error) { return mysql.ParseDSN(dsn) }
