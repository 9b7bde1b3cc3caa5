-- Custom domains mapped to tenants; stored lower-case, unique across tenants.
-- +goose Up
CREATE TABLE tenant_domains (
    domain     VARCHAR(253) NOT NULL,
    tenant_id  CHAR(36)     NOT NULL,
    created_at DATETIME(6)  NOT NULL,
    PRIMARY KEY (domain),
    KEY tenant_domains_tenant (tenant_id),
    CONSTRAINT tenant_domains_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE tenant_domains;
