-- Central admins. Emails are stored lower-cased; the case-insensitive
-- collation makes the unique key refuse duplicates in any letter case too.
-- +goose Up
CREATE TABLE users (
    id            CHAR(36)     NOT NULL,
    email         VARCHAR(254) NOT NULL COLLATE utf8mb4_unicode_ci,
    password_hash VARCHAR(100) NOT NULL,
    first_name    VARCHAR(100) NOT NULL,
    last_name     VARCHAR(100) NOT NULL,
    role          ENUM('admin', 'superadmin') NOT NULL,
    is_active     TINYINT(1)   NOT NULL DEFAULT 1,
    created_at    DATETIME(6)  NOT NULL,
    updated_at    DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY users_email (email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE users;
