-- OAuth 2.0 server state, mirroring latch_core::oauth2's records. Hashes
-- and family ids are lower-case hex; times are Unix seconds; booleans are
-- 0/1. Revoking a family deletes its tokens.
ALTER TABLE clients ADD COLUMN grant_types TEXT NOT NULL DEFAULT 'authorization_code refresh_token client_credentials device_code';
ALTER TABLE clients ADD COLUMN allow_plain_pkce BIGINT NOT NULL DEFAULT 0;

CREATE TABLE oauth2_codes (
    hash TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    scope TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    redirect_uri_sent BIGINT NOT NULL,
    challenge_method TEXT,
    challenge TEXT,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    consumed BIGINT NOT NULL
);

CREATE TABLE oauth2_access_tokens (
    hash TEXT PRIMARY KEY,
    family TEXT NOT NULL,
    client_id TEXT NOT NULL,
    subject TEXT,
    scope TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX oauth2_access_tokens_family ON oauth2_access_tokens (family);

CREATE TABLE oauth2_refresh_tokens (
    hash TEXT PRIMARY KEY,
    family TEXT NOT NULL,
    client_id TEXT NOT NULL,
    subject TEXT,
    scope TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT,
    retired BIGINT NOT NULL
);
CREATE INDEX oauth2_refresh_tokens_family ON oauth2_refresh_tokens (family);

CREATE TABLE oauth2_devices (
    hash TEXT PRIMARY KEY,
    user_code TEXT NOT NULL,
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    poll_interval BIGINT NOT NULL,
    last_poll BIGINT,
    status TEXT NOT NULL,
    subject TEXT
);
CREATE INDEX oauth2_devices_user_code ON oauth2_devices (user_code);
