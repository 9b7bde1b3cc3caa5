-- What a tenant's callers may do (their users, roles, permissions, API
-- keys) is cached by every Silo instance. A change to it bumps the tenant's
-- epoch here, numbered from one installation-wide sequence: each instance
-- polls for rows whose seq is above the last it saw (an index range read,
-- empty when nothing changed) and drops the cached callers of the tenants
-- it finds. The sequence row is updated in the bump's transaction, so bumps
-- commit in seq order and a poll never skips one still in flight.
-- +goose Up
CREATE TABLE auth_epoch_sequence (
    id  TINYINT NOT NULL,
    seq BIGINT  NOT NULL,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

INSERT INTO auth_epoch_sequence (id, seq) VALUES (1, 0);

CREATE TABLE tenant_auth_epochs (
    tenant_id  CHAR(36)    NOT NULL,
    epoch      BIGINT      NOT NULL,
    seq        BIGINT      NOT NULL,
    changed_at DATETIME(6) NOT NULL,
    PRIMARY KEY (tenant_id),
    KEY tenant_auth_epochs_seq (seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE tenant_auth_epochs;
DROP TABLE auth_epoch_sequence;
