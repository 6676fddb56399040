-- Bounded tables (issue 18): every table with rows that expire gets an
-- index on its expiry column, so the periodic purge finds expired rows
-- without scanning the table. (oauth1_nonces and login_sessions have one.)
CREATE INDEX oauth2_codes_expires_at ON oauth2_codes (expires_at);
CREATE INDEX oauth2_access_tokens_expires_at ON oauth2_access_tokens (expires_at);
CREATE INDEX oauth2_refresh_tokens_expires_at ON oauth2_refresh_tokens (expires_at);
CREATE INDEX oauth2_devices_expires_at ON oauth2_devices (expires_at);
CREATE INDEX oauth1_temporary_expires_at ON oauth1_temporary (expires_at);
