-- The refresh grace window (issue 17, `[oauth2] refresh_grace_seconds`):
-- a rotated-out refresh token remembers when it was rotated, so that the
-- client presenting it again within the window gets a new pair instead of
-- having its family revoked. NULL while the token is live; a token retired
-- before this migration (retired = 1, retired_at NULL) counts as rotated
-- long ago, outside any window.
ALTER TABLE oauth2_refresh_tokens ADD COLUMN retired_at BIGINT;
