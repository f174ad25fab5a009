-- Sign-in you can trust (issue 16) and throttling that counts before it
-- checks (issue 14).
--
-- Throttle windows lengthen on repeated lockouts: each key keeps its
-- current window's length.
ALTER TABLE login_failures ADD COLUMN window_ms BIGINT NOT NULL DEFAULT 900000;

-- A TOTP second factor (RFC 6238), one per account. The seed is encrypted
-- with the server key; `confirmed_at` is NULL until a code confirmed the
-- enrolment. `last_step` is the time step of the last code accepted: a
-- code is accepted only by the one UPDATE that moves it forward, so a code
-- is never accepted twice.
CREATE TABLE totp_factors (
    user_id BIGINT NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    confirmed_at BIGINT,
    last_step BIGINT NOT NULL DEFAULT 0
);

-- Single-use recovery codes, stored as keyed hashes. Regenerating deletes
-- the old set.
CREATE TABLE recovery_codes (
    id {{ID}},
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX recovery_codes_user_idx ON recovery_codes (user_id, code_hash);

-- A session opened with one factor of two (a password, a magic link, a
-- password reset) owes the second before it reaches anything else.
ALTER TABLE sessions ADD COLUMN second_factor_pending BIGINT NOT NULL DEFAULT 0;

-- One-time links by purpose: `password` (set a password: welcome mail and
-- password recovery) or `sign_in` (a magic link).
ALTER TABLE password_links ADD COLUMN purpose TEXT NOT NULL DEFAULT 'password';
