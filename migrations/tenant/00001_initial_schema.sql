-- The tenant schema's first version, in one migration so that a new tenant
-- database is created in a few round trips. MySQL commits each DDL statement
-- implicitly, so every statement is idempotent: a run interrupted half-way
-- is simply run again.
-- +goose NO TRANSACTION
-- +goose Up
CREATE TABLE IF NOT EXISTS users (
    id            CHAR(36)     NOT NULL,
    email         VARCHAR(254) NOT NULL COLLATE utf8mb4_unicode_ci,
    password_hash VARCHAR(100) NOT NULL,
    first_name    VARCHAR(100) NOT NULL,
    last_name     VARCHAR(100) NOT NULL,
    is_active     TINYINT(1)   NOT NULL DEFAULT 1,
    created_at    DATETIME(6)  NOT NULL,
    updated_at    DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY users_email (email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS roles (
    name        VARCHAR(64)  NOT NULL,
    description VARCHAR(255) NOT NULL DEFAULT '',
    built_in    TINYINT(1)   NOT NULL DEFAULT 0,
    created_at  DATETIME(6)  NOT NULL,
    PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS role_permissions (
    role_name  VARCHAR(64) NOT NULL,
    permission VARCHAR(64) NOT NULL,
    PRIMARY KEY (role_name, permission),
    CONSTRAINT role_permissions_role_fk FOREIGN KEY (role_name) REFERENCES roles (name) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS user_roles (
    user_id   CHAR(36)    NOT NULL,
    role_name VARCHAR(64) NOT NULL,
    PRIMARY KEY (user_id, role_name),
    KEY user_roles_role (role_name),
    CONSTRAINT user_roles_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT user_roles_role_fk FOREIGN KEY (role_name) REFERENCES roles (name) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS refresh_tokens (
    id          CHAR(36)    NOT NULL,
    family_id   CHAR(36)    NOT NULL,
    user_id     CHAR(36)    NOT NULL,
    token_hash  BINARY(32)  NOT NULL,
    expires_at  DATETIME(6) NOT NULL,
    created_at  DATETIME(6) NOT NULL,
    used_at     DATETIME(6) NULL,
    revoked_at  DATETIME(6) NULL,
    PRIMARY KEY (id),
    UNIQUE KEY refresh_tokens_hash (token_hash),
    KEY refresh_tokens_family (family_id),
    KEY refresh_tokens_user (user_id),
    CONSTRAINT refresh_tokens_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS user_configs (
    user_id    CHAR(36)    NOT NULL,
    config     MEDIUMTEXT  NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    PRIMARY KEY (user_id),
    CONSTRAINT user_configs_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS settings (
    id                  TINYINT       NOT NULL,
    display_name        VARCHAR(200)  NOT NULL DEFAULT '',
    logo_url            VARCHAR(2048) NOT NULL DEFAULT '',
    primary_color       VARCHAR(7)    NOT NULL DEFAULT '',
    allow_public_signup TINYINT(1)    NOT NULL DEFAULT 1,
    updated_at          DATETIME(6)   NOT NULL,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

INSERT IGNORE INTO settings (id, updated_at) VALUES (1, UTC_TIMESTAMP(6));

CREATE TABLE IF NOT EXISTS api_keys (
    id           CHAR(36)      NOT NULL,
    name         VARCHAR(100)  NOT NULL,
    key_hash     BINARY(32)    NOT NULL,
    prefix       VARCHAR(16)   NOT NULL,
    permissions  VARCHAR(1000) NOT NULL,
    created_by   VARCHAR(64)   NOT NULL,
    created_at   DATETIME(6)   NOT NULL,
    expires_at   DATETIME(6)   NULL,
    last_used_at DATETIME(6)   NULL,
    revoked_at   DATETIME(6)   NULL,
    PRIMARY KEY (id),
    UNIQUE KEY api_keys_hash (key_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS invitations (
    id          CHAR(36)     NOT NULL,
    email       VARCHAR(254) NOT NULL,
    role_name   VARCHAR(64)  NOT NULL,
    token_hash  BINARY(32)   NOT NULL,
    created_by  VARCHAR(64)  NOT NULL,
    created_at  DATETIME(6)  NOT NULL,
    expires_at  DATETIME(6)  NOT NULL,
    accepted_at DATETIME(6)  NULL,
    accepted_by CHAR(36)     NULL,
    revoked_at  DATETIME(6)  NULL,
    PRIMARY KEY (id),
    UNIQUE KEY invitations_token (token_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS audit_log (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    at          DATETIME(6)   NOT NULL,
    actor_kind  VARCHAR(16)   NOT NULL,
    actor_id    VARCHAR(64)   NULL,
    acting_as   CHAR(36)      NULL,
    action      VARCHAR(64)   NOT NULL,
    target_type VARCHAR(32)   NOT NULL,
    target      VARCHAR(255)  NOT NULL,
    request_id  VARCHAR(128)  NULL,
    detail      VARCHAR(1000) NULL,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

INSERT IGNORE INTO roles (name, description, built_in, created_at) VALUES
    ('tenant_admin', 'All permissions', 1, UTC_TIMESTAMP(6)),
    ('member', 'Reads and writes tenant data', 1, UTC_TIMESTAMP(6));

INSERT IGNORE INTO role_permissions (role_name, permission) VALUES
    ('tenant_admin', 'users:read'), ('tenant_admin', 'users:write'), ('tenant_admin', 'roles:write'),
    ('tenant_admin', 'settings:write'), ('tenant_admin', 'apikeys:write'), ('tenant_admin', 'audit:read'),
    ('tenant_admin', 'data:read'), ('tenant_admin', 'data:write'),
    ('member', 'data:read'), ('member', 'data:write');

-- +goose Down
DROP TABLE IF EXISTS audit_log;
DROP TABLE IF EXISTS invitations;
DROP TABLE IF EXISTS api_keys;
DROP TABLE IF EXISTS settings;
DROP TABLE IF EXISTS user_configs;
DROP TABLE IF EXISTS refresh_tokens;
DROP TABLE IF EXISTS user_roles;
DROP TABLE IF EXISTS role_permissions;
DROP TABLE IF EXISTS roles;
DROP TABLE IF EXISTS users;
