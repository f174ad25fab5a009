-- One-time links to set a password: sent in the welcome email of a member
-- created by an administrator (SPEC §3.1), never carrying the password
-- itself. Only the token's keyed hash is stored.
CREATE TABLE password_links (
    token_hash TEXT NOT NULL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX password_links_user_idx ON password_links (user_id);
