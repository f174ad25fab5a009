-- Invitations (SPEC §1, §2): an email, the role, team and groups the person
-- will get, the inviter as they were, a lifetime, and a single-use token
-- stored only as its keyed hash.
--
-- `status` is pending, accepted, revoked or expired. A pending invitation
-- whose expires_at has passed is expired; queries treat it so, and it is
-- written as expired when next touched. At most one pending invitation per
-- org and email (the partial unique index), so a retried request never
-- creates a second one.
CREATE TABLE invitations (
    id {{ID}},
    org_id BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    team TEXT NOT NULL DEFAULT '',
    groups TEXT NOT NULL DEFAULT '',
    inviter_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    inviter_email TEXT NOT NULL,
    inviter_name TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    accepted_at BIGINT,
    accepted_user_id BIGINT REFERENCES users (id) ON DELETE SET NULL
);
CREATE UNIQUE INDEX invitations_token_hash_key ON invitations (token_hash);
CREATE UNIQUE INDEX invitations_pending_email_key ON invitations (org_id, email) WHERE status = 'pending';
CREATE INDEX invitations_org_status_idx ON invitations (org_id, status, id);

-- Delivery state of outgoing messages: `failed_at` is set when the worker
-- gives up after its last attempt; such messages stay listed as undelivered.
ALTER TABLE outbox ADD COLUMN failed_at BIGINT;
