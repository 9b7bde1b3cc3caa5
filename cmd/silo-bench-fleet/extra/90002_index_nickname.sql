-- +goose Up
CREATE INDEX users_nickname ON users (nickname);

-- +goose Down
DROP INDEX users_nickname ON users;
