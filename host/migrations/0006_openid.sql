-- OpenID Connect (issue 14). Users get a public subject identifier (`sub`:
-- random, opaque, never reused; back-filled at start for older rows) and
-- the claims `name`, `email`, `email_verified`. Clients choose their
-- id_token algorithm, register post-logout redirect URIs, and may get JWT
-- access tokens. An OpenID code
-- remembers its nonce and auth_time (NULL: not an OpenID code); refresh
-- tokens of an OpenID grant keep auth_time. Signing keys: private halves
-- sealed with the AEAD key, public halves as JWK JSON; `activates_at` is
-- when a key starts signing, `retires_at` when it leaves the JWK Set.
ALTER TABLE users ADD COLUMN sub TEXT;
ALTER TABLE users ADD COLUMN name TEXT;
ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE users ADD COLUMN email_verified BIGINT NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX users_sub ON users (sub);

ALTER TABLE clients ADD COLUMN id_token_alg TEXT NOT NULL DEFAULT 'RS256';
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '';
-- 'opaque', 'jwt' (RFC 9068), or 'default': `[oauth2] access_token_format`.
ALTER TABLE clients ADD COLUMN access_token_format TEXT NOT NULL DEFAULT 'default';

ALTER TABLE oauth2_codes ADD COLUMN nonce TEXT;
ALTER TABLE oauth2_codes ADD COLUMN auth_time BIGINT;
ALTER TABLE oauth2_refresh_tokens ADD COLUMN auth_time BIGINT;

CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    alg TEXT NOT NULL,
    private_box TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    activates_at BIGINT NOT NULL,
    retires_at BIGINT
);
