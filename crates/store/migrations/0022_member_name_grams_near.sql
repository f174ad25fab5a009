-- The name search's grams learn their neighbours (docs/decisions.md, "The
-- team list's name search"): `near` is the set of grams, as bits of a hash
-- into 0..62, found within two characters of the gram in the folded name
-- (over all its occurrences). A search reading one gram's memberships
-- skips, without reading the membership, every one whose `near` lacks a
-- gram that must sit beside it; a search whose grams are each common but
-- never together ("an so") reads the gram's list only. The table is
-- derived data: dropped and filled again, by the same statement as
-- `members::reindex_names_of_org`. On PostgreSQL `near` rides in the
-- primary key's index (INCLUDE), so the filter needs no heap read; on
-- SQLite the table is its primary key (`WITHOUT ROWID`).
DROP TABLE member_name_grams;
CREATE TABLE member_name_grams (
    org_id BIGINT NOT NULL,
    gram TEXT NOT NULL,
    membership_id BIGINT NOT NULL REFERENCES memberships (id) ON DELETE CASCADE,
    near BIGINT NOT NULL,
    {{ENGINE_PART}};
-- The cascade's lookup when a membership goes.
CREATE INDEX member_name_grams_membership_idx ON member_name_grams (membership_id);
WITH RECURSIVE g (id, org_id, name, i) AS (
    SELECT id, org_id, name_folded, 1 FROM memberships WHERE length(name_folded) >= 3
    UNION ALL
    SELECT id, org_id, name, i + 1 FROM g WHERE i + 3 <= length(name)
)
INSERT INTO member_name_grams (org_id, gram, membership_id, near)
SELECT g.org_id, substr(g.name, g.i, 3), g.id,
       CAST(COALESCE(SUM(DISTINCT CAST(1 AS BIGINT) << CAST(((
           {{CODE_POINT}}(substr(g.name, g.i + d.o, 1)) * 961
           + {{CODE_POINT}}(substr(g.name, g.i + d.o + 1, 1)) * 31
           + {{CODE_POINT}}(substr(g.name, g.i + d.o + 2, 1))) * 2654435761) % 4294967291 % 62 AS INTEGER)), 0) AS BIGINT)
FROM g LEFT JOIN (SELECT -2 AS o UNION ALL SELECT -1 UNION ALL SELECT 1 UNION ALL SELECT 2) d
    ON g.i + d.o >= 1 AND g.i + d.o + 2 <= length(g.name)
GROUP BY g.org_id, g.id, substr(g.name, g.i, 3);
