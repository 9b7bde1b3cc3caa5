-- +goose Up
INSERT INTO central_locks (name) VALUES ('admins');

-- +goose Down
DELETE FROM central_locks WHERE name = 'admins';
