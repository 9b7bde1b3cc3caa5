-- Opaque refresh tokens, stored as SHA-256 hashes. Every login starts a
-- family; each refresh spends one token and adds the next to the family.
-- Presenting a spent token revokes the whole family (reuse detection).
-- +goose Up
CREATE TABLE refresh_tokens (
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

-- +goose Down
DROP TABLE refresh_tokens;
