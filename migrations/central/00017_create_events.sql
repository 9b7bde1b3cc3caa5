-- Live events (GET /api/central/events): tenant status changes, fleet
-- migration progress and new central audit entries, written in the
-- transaction of the change they announce (audit entries and catalog
-- changes) or on their own (a fleet run's progress). Every Silo instance
-- reads them by id, so a stream on any instance sees the changes made by
-- all of them and resumes after the last id its client saw. data is JSON
-- (an audit event holds only the entry's id: {"auditId": n}). Rows older
-- than the retention are pruned, the newest one always kept.
--
-- event_tickets are the single-use tickets a browser's EventSource opens a
-- stream with (it cannot send an Authorization header): the SHA-256 of the
-- ticket, the plane and tenant it is good for, and the caller's credential
-- sealed with the master key, for at most 30 seconds.
-- +goose Up
CREATE TABLE events (
    id         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    type       VARCHAR(32)  NOT NULL,
    tenant     VARCHAR(63)  NULL,
    data       MEDIUMTEXT   NOT NULL,
    created_at DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    KEY events_created_at (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE event_tickets (
    hash           BINARY(32)      NOT NULL,
    plane          VARCHAR(8)      NOT NULL,
    tenant_id      CHAR(36)        NOT NULL DEFAULT '',
    tenant_slug    VARCHAR(40)     NOT NULL DEFAULT '',
    credential_enc VARBINARY(4096) NOT NULL,
    expires_at     DATETIME(6)     NOT NULL,
    PRIMARY KEY (hash),
    KEY event_tickets_expires_at (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE event_tickets;
DROP TABLE events;
