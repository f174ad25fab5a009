-- The team list's name filter (a substring of the folded name) in an org
-- of 100,000 members: every three-character piece ("gram") of each
-- membership's folded name, so a search reads the memberships that hold
-- its rarest gram instead of scanning the org (docs/decisions.md, "The
-- team list's name search"). Kept by the store with the membership
-- (`members::insert_row`, `users::set_name`); deleted with it. The same
-- statement as `members::reindex_names_of_org`. On SQLite the table is
-- its primary key (`WITHOUT ROWID`): one b-tree to write per gram, not a
-- rowid table and an index beside it.
CREATE TABLE member_name_grams (
    org_id BIGINT NOT NULL,
    gram TEXT NOT NULL,
    membership_id BIGINT NOT NULL REFERENCES memberships (id) ON DELETE CASCADE,
    PRIMARY KEY (org_id, gram, membership_id)
) {{ENGINE_PART}};
-- The cascade's lookup when a membership goes.
CREATE INDEX member_name_grams_membership_idx ON member_name_grams (membership_id);
WITH RECURSIVE g (id, org_id, name, i) AS (
    SELECT id, org_id, name_folded, 1 FROM memberships WHERE length(name_folded) >= 3
    UNION ALL
    SELECT id, org_id, name, i + 1 FROM g WHERE i + 3 <= length(name)
)
INSERT INTO member_name_grams (org_id, gram, membership_id)
SELECT DISTINCT org_id, substr(name, i, 3), id FROM g;
