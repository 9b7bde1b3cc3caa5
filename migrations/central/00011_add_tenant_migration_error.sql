-- The last fleet migration's error for a tenant (NULL after a success),
-- kept apart from last_error, which belongs to provisioning.
-- +goose Up
ALTER TABLE tenants ADD COLUMN migration_error VARCHAR(1000) NULL;

-- +goose Down
ALTER TABLE tenants DROP COLUMN migration_error;
