-- Central admin emails compare exactly: Silo lower-cases them before
-- storing and looking up, and utf8mb4_unicode_ci would also equate accents,
-- widths and ignorable characters ("röot@" logging into "root@").
-- +goose Up
ALTER TABLE users MODIFY email VARCHAR(254) NOT NULL COLLATE utf8mb4_bin;

-- +goose Down
ALTER TABLE users MODIFY email VARCHAR(254) NOT NULL COLLATE utf8mb4_unicode_ci;
