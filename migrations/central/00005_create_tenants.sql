-- The tenant catalog. `step` is the last provisioning step completed, so a
-- failed or interrupted provisioning resumes where it stopped. The tenant's
-- DB password is stored only encrypted (AES-256-GCM under SILO_MASTER_KEY).
-- pending_admin holds the optional first tenant_admin (bcrypt hash, never a
-- password) until the provisioning step that creates it has run.
-- +goose Up
CREATE TABLE tenants (
    id              CHAR(36)     NOT NULL,
    slug            VARCHAR(40)  NOT NULL,
    name            VARCHAR(200) NOT NULL,
    status          ENUM('provisioning', 'active', 'suspended', 'failed', 'deleted') NOT NULL,
    step            VARCHAR(16)  NOT NULL,
    database_name   VARCHAR(64)  NOT NULL,
    database_host   VARCHAR(255) NOT NULL,
    db_user         VARCHAR(32)  NOT NULL,
    db_password_enc VARBINARY(128) NOT NULL,
    schema_version  BIGINT       NOT NULL DEFAULT 0,
    last_error      VARCHAR(1000) NULL,
    pending_admin   TEXT         NULL,
    created_at      DATETIME(6)  NOT NULL,
    updated_at      DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY tenants_slug (slug),
    UNIQUE KEY tenants_database (database_name),
    KEY tenants_status (status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE tenants;
