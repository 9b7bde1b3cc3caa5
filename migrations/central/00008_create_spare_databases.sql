-- Pre-provisioned, fully migrated databases (each with its own DB user) that
-- a new tenant claims by taking over their catalog entry. Never tenants.
-- +goose Up
CREATE TABLE spare_databases (
    database_name   VARCHAR(64)  NOT NULL,
    database_host   VARCHAR(255) NOT NULL,
    db_user         VARCHAR(32)  NOT NULL,
    db_password_enc VARBINARY(128) NOT NULL,
    status          ENUM('provisioning', 'ready') NOT NULL,
    schema_version  BIGINT       NOT NULL DEFAULT 0,
    created_at      DATETIME(6)  NOT NULL,
    PRIMARY KEY (database_name),
    KEY spare_databases_status (status, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE spare_databases;
