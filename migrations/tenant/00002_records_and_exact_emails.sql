-- 1. The built-in record store (/api/collections): JSON records, one row
--    each, keyed by collection and a time-ordered id (UUIDv7), so that a
--    collection's records are read in id order with keyset pagination.
-- 2. Emails compare exactly: Silo lower-cases them before storing and
--    looking up, and utf8mb4_unicode_ci would also equate accents, widths
--    and ignorable characters ("ädmin@" logging into "admin@").
-- Both statements are idempotent (MySQL commits each DDL statement).
-- +goose NO TRANSACTION
-- +goose Up
CREATE TABLE IF NOT EXISTS records (
    collection VARCHAR(63)     CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    id         CHAR(36)        CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    data       JSON            NOT NULL,
    version    BIGINT UNSIGNED NOT NULL,
    created_by VARCHAR(64)     NOT NULL,
    created_at DATETIME(6)     NOT NULL,
    updated_at DATETIME(6)     NOT NULL,
    PRIMARY KEY (collection, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

ALTER TABLE users MODIFY email VARCHAR(254) NOT NULL COLLATE utf8mb4_bin;

-- +goose Down
ALTER TABLE users MODIFY email VARCHAR(254) NOT NULL COLLATE utf8mb4_unicode_ci;
DROP TABLE IF EXISTS records;
