-- Server-side login sessions (hardening): the session cookie names a row
-- here by the SHA-256 of its random id, so a session can be ended (logout,
-- or an operator deleting the row) before its cookie expires.
CREATE TABLE login_sessions (
    id_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX login_sessions_expires_at ON login_sessions (expires_at);
CREATE INDEX login_sessions_username ON login_sessions (username);
