-- +goose Up
ALTER TABLE users ADD COLUMN nickname VARCHAR(50) NULL;

-- +goose Down
ALTER TABLE users DROP COLUMN nickname;
