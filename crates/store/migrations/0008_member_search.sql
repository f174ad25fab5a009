-- The team list's substring filters (`name`, `email`) read the member's
-- folded name and email from the membership itself, not through a join to
-- `users` for every membership scanned. Kept equal to the user's by the
-- store (`members::insert`, `users::rename`).
ALTER TABLE memberships ADD COLUMN name_folded TEXT NOT NULL DEFAULT '';
ALTER TABLE memberships ADD COLUMN email TEXT NOT NULL DEFAULT '';
UPDATE memberships SET
    name_folded = (SELECT u.name_folded FROM users u WHERE u.id = memberships.user_id),
    email = (SELECT u.email FROM users u WHERE u.id = memberships.user_id);
-- In id order with the searched columns: a substring filter scans this
-- index alone (an index-only scan) until its page is full.
CREATE INDEX memberships_org_search_idx ON memberships (org_id, id, name_folded, email);
