-- Seeds oauth2_access_tokens with @n live client_credentials tokens for
-- scripts/bench_scale.sh. The caller (sqlite3 CLI) has set, before .read:
--   .parameter set @n N          rows to add
--   .parameter set @stride S     every S-th row gets a known hash (S >= 1)
--   .parameter set @now T        Unix seconds
--   .parameter set @client ID    the bench client's id (a quoted string)
-- and imported the known hashes into temp.known(h) (rowid 1, 2, ... in
-- file order). Row i (1..@n) takes known hash i/@stride when i is a
-- multiple of @stride and that hash exists, else a random one.
--
-- Like real issuance: hash (the primary key) and family are random hex, so
-- both of their B-trees are filled in random order; issued_at rises with
-- i over the last hour and expires_at = issued_at + 10 years, so the
-- expires_at index is appended to, as live traffic does; client_id is the
-- one client and subject NULL (client_credentials), scope 'read'.
--
-- (No PRAGMA temp_store here: changing it drops temp.known.)
--
-- Seeding only: no journal, no fsync, one transaction, a 3 GiB page cache
-- (the random-order index inserts are what costs; they run at memory speed
-- while the indexes fit). The database goes back to WAL at the end, as the
-- server expects.
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
PRAGMA cache_size = -3145728;
BEGIN;
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < @n)
INSERT INTO oauth2_access_tokens (hash, family, client_id, subject, scope, issued_at, expires_at)
SELECT
    coalesce(CASE WHEN i % @stride = 0 THEN (SELECT h FROM temp.known WHERE rowid = i / @stride) END,
             lower(hex(randomblob(32)))),
    lower(hex(randomblob(16))),
    @client,
    NULL,
    'read',
    @now - 3600 + (i * 3600) / @n,
    @now - 3600 + (i * 3600) / @n + 315360000
FROM seq;
COMMIT;
PRAGMA journal_mode = WAL;
