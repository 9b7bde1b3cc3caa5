-- The database servers that hold tenant databases. Silo places each new
-- tenant (and each spare) on one of them and routes its requests there.
-- dsn is the admin account's DSN with the password taken out; the password
-- is stored only encrypted (AES-256-GCM under SILO_MASTER_KEY). tenants
-- counts the tenant databases on the server (every catalog row, deleted
-- ones included until purged: their databases still exist), kept in the
-- transactions that add and remove catalog rows, so that placement reads
-- one small table. conns_max 0 means SILO_TENANT_CONNS_MAX; spare_pool
-- NULL means SILO_SPARE_POOL_SIZE.
-- +goose Up
CREATE TABLE db_servers (
    name         VARCHAR(31)   NOT NULL,
    addr         VARCHAR(255)  NOT NULL,
    dsn          VARCHAR(2048) NOT NULL,
    password_enc VARBINARY(1024) NOT NULL,
    status       ENUM('active', 'draining', 'disabled') NOT NULL,
    capacity     INT           NOT NULL,
    tenants      INT           NOT NULL DEFAULT 0,
    labels       VARCHAR(2048) NOT NULL DEFAULT '{}',
    conns_max    INT           NOT NULL DEFAULT 0,
    spare_pool   INT           NULL,
    version      VARCHAR(100)  NOT NULL DEFAULT '',
    last_error   VARCHAR(1000) NULL,
    checked_at   DATETIME(6)   NULL,
    created_at   DATETIME(6)   NOT NULL,
    updated_at   DATETIME(6)   NOT NULL,
    PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

ALTER TABLE tenants ADD COLUMN server VARCHAR(31) NOT NULL DEFAULT 'default', ADD KEY tenants_server (server);
ALTER TABLE spare_databases ADD COLUMN server VARCHAR(31) NOT NULL DEFAULT 'default', ADD KEY spare_databases_server (server, status);

-- +goose Down
ALTER TABLE spare_databases DROP KEY spare_databases_server, DROP COLUMN server;
ALTER TABLE tenants DROP KEY tenants_server, DROP COLUMN server;
DROP TABLE db_servers;
