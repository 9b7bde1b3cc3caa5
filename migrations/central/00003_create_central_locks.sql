-- Rows that transactions lock (SELECT ... FOR UPDATE) to serialise changes
-- guarded by an invariant, such as "there is always an active superadmin"
-- and "registration is open only while no admin exists".
-- +goose Up
CREATE TABLE central_locks (
    name VARCHAR(64) NOT NULL,
    PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE central_locks;
