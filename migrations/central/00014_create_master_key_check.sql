-- A known value sealed with the master key (SILO_MASTER_KEY) when Silo
-- first starts on this database. Every start opens it: a process with
-- another master key (a lost variable, development secrets generated anew)
-- refuses to start instead of sealing new tenants' DB passwords under a key
-- the others cannot open.
-- +goose Up
CREATE TABLE master_key_check (
    id         TINYINT        NOT NULL,
    sealed     VARBINARY(128) NOT NULL,
    created_at DATETIME(6)    NOT NULL,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE master_key_check;
