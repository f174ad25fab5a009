-- Slack (SPEC §3.3, §4): an org's connection to one Slack workspace, the
-- links between Slack users and members, one-time link codes, and the
-- requests already handled (Slack retries; a retry must not act twice).
--
-- The signing secret and bot token are encrypted with the server key
-- (XChaCha20-Poly1305); only ciphertext is stored.
CREATE TABLE slack_connections (
    org_id BIGINT NOT NULL PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    team_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    api_base_url TEXT NOT NULL,
    signing_secret_enc TEXT NOT NULL,
    bot_token_enc TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX slack_connections_team_key ON slack_connections (team_id);

-- A Slack user of the org's workspace, linked to a user.
CREATE TABLE slack_links (
    org_id BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    slack_user_id TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, slack_user_id)
);
CREATE UNIQUE INDEX slack_links_org_user_key ON slack_links (org_id, user_id);

-- Codes from `/roster link`, confirmed by the signed-in member.
CREATE TABLE slack_link_codes (
    code_hash TEXT NOT NULL PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    slack_user_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

-- Slack requests already handled, by a key unique to each (trigger id).
CREATE TABLE slack_requests (
    request_key TEXT NOT NULL PRIMARY KEY,
    created_at BIGINT NOT NULL
);
