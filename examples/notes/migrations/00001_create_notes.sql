-- The notes application's tenant table. It lives in every tenant's
-- database next to Silo's tables; goose records this set in
-- goose_notes_version, apart from Silo's own versions.
-- +goose Up
CREATE TABLE notes (
    id         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    title      VARCHAR(200)    NOT NULL,
    body       TEXT            NOT NULL,
    author_id  VARCHAR(64)     NOT NULL,
    created_at DATETIME(6)     NOT NULL,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE notes;
