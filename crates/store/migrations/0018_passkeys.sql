-- Passkeys (WebAuthn credentials), several per account (issue 16).
--
-- `credential` is webauthn-rs's `Passkey` as JSON: the public key, the
-- signature counter and the backup flags; nothing secret. `credential_id`
-- is the authenticator's id for it (base64url), unique over every account:
-- a credential belongs to one person. `user_handle` is the WebAuthn user
-- handle given to the authenticator (a random UUID, the same for all of an
-- account's passkeys), so a discoverable credential names its account
-- without naming its email.
CREATE TABLE passkeys (
    id {{ID}},
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id TEXT NOT NULL,
    user_handle TEXT NOT NULL,
    name TEXT NOT NULL,
    credential TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE UNIQUE INDEX passkeys_credential_key ON passkeys (credential_id);
CREATE INDEX passkeys_user_idx ON passkeys (user_id);

-- A WebAuthn ceremony under way: the server's half of a challenge
-- (webauthn-rs's registration or authentication state, JSON), found by the
-- keyed hash of the id the client was given. `purpose` is `register`
-- (bound to `user_id`) or `authenticate` (no account until the assertion
-- names one). Taken with one DELETE, so a challenge is used once; expired
-- ones are swept when new ones are made.
CREATE TABLE passkey_challenges (
    id {{ID}},
    token_hash TEXT NOT NULL,
    purpose TEXT NOT NULL,
    user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX passkey_challenges_token_hash_key ON passkey_challenges (token_hash);
CREATE INDEX passkey_challenges_expires_idx ON passkey_challenges (expires_at);
