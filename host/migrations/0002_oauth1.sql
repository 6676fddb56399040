-- OAuth 1.0a provider state. Token columns hold SHA-256 hex of the token;
-- secrets are sealed boxes bound to the row's hash.
CREATE TABLE oauth1_temporary (
    token_hash TEXT PRIMARY KEY,
    secret_box TEXT NOT NULL,
    client_id TEXT NOT NULL,
    callback TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    verifier_hash TEXT,
    username TEXT
);

CREATE TABLE oauth1_tokens (
    token_hash TEXT PRIMARY KEY,
    secret_box TEXT NOT NULL,
    client_id TEXT NOT NULL,
    username TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked BIGINT NOT NULL
);

CREATE TABLE oauth1_nonces (
    nonce_key TEXT PRIMARY KEY,
    forget_after BIGINT NOT NULL
);

CREATE INDEX oauth1_nonces_forget_after ON oauth1_nonces (forget_after);
