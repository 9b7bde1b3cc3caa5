-- Versions of the application's tenant migration sets (Silo's own set is
-- tenants.schema_version and spare_databases.schema_version), per tenant or
-- spare database: a claimed spare keeps its database name, and its rows.
-- +goose Up
CREATE TABLE schema_sets (
    database_name   VARCHAR(64)   NOT NULL,
    set_name        VARCHAR(64)   NOT NULL,
    version         BIGINT        NOT NULL DEFAULT 0,
    migration_error VARCHAR(1000) NULL,
    updated_at      DATETIME(6)   NOT NULL,
    PRIMARY KEY (database_name, set_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE schema_sets;
