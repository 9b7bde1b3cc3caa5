-- Central audit log: one row per central mutation. Actors are copied (id and
-- email) so entries survive the admin's deletion.
-- +goose Up
CREATE TABLE audit_log (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    at          DATETIME(6)   NOT NULL,
    actor_kind  VARCHAR(16)   NOT NULL,
    actor_id    VARCHAR(64)   NULL,
    actor_email VARCHAR(254)  NULL,
    action      VARCHAR(64)   NOT NULL,
    target_type VARCHAR(32)   NOT NULL,
    target      VARCHAR(255)  NOT NULL,
    request_id  VARCHAR(128)  NULL,
    client_ip   VARCHAR(64)   NULL,
    outcome     VARCHAR(16)   NOT NULL,
    detail      VARCHAR(1000) NULL,
    PRIMARY KEY (id),
    KEY audit_log_target (target_type, target)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE audit_log;
