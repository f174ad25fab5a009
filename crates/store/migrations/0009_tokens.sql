-- API tokens and service accounts (SPEC §3a "API tokens").
--
-- A service account is an account of its own kind: a user row with
-- kind = 'service' that never signs in (no password, no personal org) and
-- acts only through tokens; it is a member of exactly one org.
ALTER TABLE users ADD COLUMN kind TEXT NOT NULL DEFAULT 'person';
ALTER TABLE users ADD COLUMN description TEXT NOT NULL DEFAULT '';

-- A token acts in one org for one account (a person or a service
-- account), with at most `permissions` (space-separated; NULL: everything
-- the account holds there). Only the keyed hash of the token is stored.
CREATE TABLE api_tokens (
    id {{ID}},
    org_id BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    permissions TEXT,
    created_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    last_used_at BIGINT,
    last_used_from TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX api_tokens_token_hash_key ON api_tokens (token_hash);
CREATE INDEX api_tokens_org_idx ON api_tokens (org_id, id);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);
