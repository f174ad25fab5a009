-- Sign-ups wait for their address to be confirmed (SPEC §3.3): nothing is
-- created (no account, no membership) until the person opens the link sent
-- to the address. A row holds what the sign-up asked for; only the keyed
-- hash of the link's token is stored, and a new account's password only as
-- its argon2id hash. `user_id` is set when the address already had an
-- account whose password the sign-up gave.
CREATE TABLE signup_confirmations (
    id {{ID}},
    token_hash TEXT NOT NULL,
    org_id BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    password_hash TEXT,
    user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX signup_confirmations_token_hash_key ON signup_confirmations (token_hash);
CREATE INDEX signup_confirmations_expires_idx ON signup_confirmations (expires_at);
