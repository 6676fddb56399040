-- Portable between SQLite and PostgreSQL: TEXT and BIGINT only. Hashes are
-- lower-case hex SHA-256, encrypted secrets are base64 AEAD boxes.
CREATE TABLE clients (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_box TEXT,
    public BIGINT NOT NULL,
    redirect_uris TEXT NOT NULL,
    scope TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
