-- +goose Up
INSERT INTO catalog_version (id, version) VALUES (1, 0);

-- +goose Down
DELETE FROM catalog_version WHERE id = 1;
