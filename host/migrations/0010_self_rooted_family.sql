-- Issuance at load (issue 17): a client_credentials access token is the
-- root of its own family, so nothing ever looks it up by family. Such a
-- token is now stored with family '' and stays out of the family index
-- (one random B-tree insert fewer per issued token); revoking such a
-- family finds the token by its hash prefix (host/src/storage/codec.rs,
-- FAMILY_REVOCATION). Rows stored before keep their family and stay
-- indexed.
DROP INDEX oauth2_access_tokens_family;
CREATE INDEX oauth2_access_tokens_family ON oauth2_access_tokens (family) WHERE family <> '';
