-- Per-client exemptions and rights (hardening): a legacy confidential
-- client that may redeem codes without PKCE, and a resource server that may
-- introspect every client's tokens. Booleans are 0/1.
ALTER TABLE clients ADD COLUMN allow_no_pkce BIGINT NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN resource_server BIGINT NOT NULL DEFAULT 0;
