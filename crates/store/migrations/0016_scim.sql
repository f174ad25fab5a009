-- SCIM 2.0 provisioning (SPEC §3a "SCIM 2.0").
--
-- A SCIM token is an API token of its own kind: `kind = 'scim'` rows act
-- for the org's directory account (a service-kind account with no
-- membership, so it appears in audit events as the actor of every SCIM
-- change) and are accepted only under /scim/v2; `kind = 'api'` rows only
-- under /api/v1. Only the keyed hash of either is stored.
ALTER TABLE api_tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'api';

-- A SCIM User is an org's membership of an account. What the directory
-- wrote is kept on the membership: its userName (unique in the org,
-- compared case-insensitively through `scim_user_name_folded`), its
-- externalId, and the rest of the document it sent (JSON), which Roster
-- returns as it was written. Roster's own facts (status, team, groups,
-- the account's email and name) stay in their columns and win when the
-- resource is read. A membership the directory never wrote has NULLs.
ALTER TABLE memberships ADD COLUMN scim_user_name TEXT;
ALTER TABLE memberships ADD COLUMN scim_user_name_folded TEXT;
ALTER TABLE memberships ADD COLUMN scim_external_id TEXT;
ALTER TABLE memberships ADD COLUMN scim_document TEXT;
CREATE UNIQUE INDEX memberships_scim_user_name_key ON memberships (org_id, scim_user_name_folded);
CREATE INDEX memberships_scim_external_id_idx ON memberships (org_id, scim_external_id);

-- A SCIM Group is a Roster group. The directory's displayName may hold
-- characters a group name may not (spaces, capitals): the group is named
-- after it (lower-cased, other characters as '-') and the displayName is
-- kept as written. `updated_at` is the group's last change through SCIM
-- or the API (meta.lastModified).
ALTER TABLE groups ADD COLUMN scim_display_name TEXT;
ALTER TABLE groups ADD COLUMN scim_external_id TEXT;
ALTER TABLE groups ADD COLUMN updated_at BIGINT;
