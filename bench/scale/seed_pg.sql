-- Seeds oauth2_access_tokens with :n live client_credentials tokens for
-- scripts/bench_scale.sh, the PostgreSQL twin of seed_sqlite.sql (same
-- rows, same order of insertion; see there). Run as
--   psql URL -v n=N -v stride=S -v now=T -v client=ID -f seed_pg.sql < HASHES
-- where HASHES holds the known hashes, one a line: row i (1..:n) takes
-- known hash i/:stride when i is a multiple of :stride and that hash
-- exists, else a random one (two md5s of the row number and random()).
\set ON_ERROR_STOP on
SET synchronous_commit = off;
CREATE TEMP TABLE known (n bigserial PRIMARY KEY, h text NOT NULL);
\copy known (h) FROM pstdin
ANALYZE known;
INSERT INTO oauth2_access_tokens (hash, family, client_id, subject, scope, issued_at, expires_at)
SELECT
    coalesce(k.h, md5(i::text || ':' || random()::text) || md5(random()::text || ':' || i::text)),
    md5(random()::text || '/' || i::text),
    :'client',
    NULL,
    'read',
    :now - 3600 + (i * 3600) / :n,
    :now - 3600 + (i * 3600) / :n + 315360000
FROM generate_series(1::bigint, :n) AS i
LEFT JOIN known k ON i % :stride = 0 AND k.n = i / :stride
ORDER BY i;
-- Fresh statistics, as autovacuum would have by the time a real table got
-- this big (the lookups are by primary key either way).
ANALYZE oauth2_access_tokens;
