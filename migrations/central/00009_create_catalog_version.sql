-- A counter bumped by every change to the tenant catalog. Each Silo instance
-- polls it and reloads its in-memory catalog when it moves, so suspensions
-- and domain changes reach every instance within a second.
-- +goose Up
CREATE TABLE catalog_version (
    id      TINYINT NOT NULL,
    version BIGINT  NOT NULL,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE catalog_version;
