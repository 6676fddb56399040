-- Operating Latch (issue 18). Users can be disabled (they cannot log in;
-- disabling revokes what they hold). A client's secret can be rotated with
-- a grace period: the previous sealed secret and when it stops counting.
-- Security events are kept in audit_events (purged after
-- `[audit] retention_days`); `id` is a time-ordered random hex key.
-- Indexes let the operator's per-client and per-user revocations and grant
-- listings find rows without scanning the token and code tables (device
-- codes and OAuth1 temporary credentials live minutes and stay small).
ALTER TABLE users ADD COLUMN disabled BIGINT NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN previous_secret_box TEXT;
ALTER TABLE clients ADD COLUMN previous_secret_until BIGINT;

CREATE TABLE audit_events (
    id TEXT PRIMARY KEY,
    at BIGINT NOT NULL,
    event TEXT NOT NULL,
    actor TEXT NOT NULL,
    client_id TEXT,
    username TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX audit_events_at ON audit_events (at);

CREATE INDEX oauth2_access_tokens_client_subject ON oauth2_access_tokens (client_id, subject);
CREATE INDEX oauth2_access_tokens_subject ON oauth2_access_tokens (subject);
CREATE INDEX oauth2_refresh_tokens_client_subject ON oauth2_refresh_tokens (client_id, subject);
CREATE INDEX oauth2_refresh_tokens_subject ON oauth2_refresh_tokens (subject);
CREATE INDEX oauth2_codes_client_subject ON oauth2_codes (client_id, subject);
CREATE INDEX oauth2_codes_subject ON oauth2_codes (subject);
CREATE INDEX oauth1_tokens_client ON oauth1_tokens (client_id);
CREATE INDEX oauth1_tokens_username ON oauth1_tokens (username);
