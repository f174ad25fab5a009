-- Single sign-on with OpenID Connect (issue 18, SPEC §3 way 4, §3a).
--
-- An org's connections to OpenID providers. `name` is what members'
-- `identity_provider` shows (unique in the org). The client secret is
-- encrypted with the server key (XChaCha20-Poly1305); only ciphertext is
-- stored.
CREATE TABLE sso_connections (
    id {{ID}},
    org_id BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    issuer TEXT NOT NULL,
    client_id TEXT NOT NULL,
    client_secret_enc TEXT NOT NULL,
    groups_claim TEXT NOT NULL DEFAULT 'groups',
    jit BIGINT NOT NULL DEFAULT 1,
    enforce BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX sso_connections_org_name_key ON sso_connections (org_id, name);

-- The email domains a connection serves. A domain belongs to one
-- connection of one org across the whole server: sign-in discovery finds
-- the connection by the domain, and two orgs claiming one domain would
-- let either take the other's people.
CREATE TABLE sso_domains (
    id {{ID}},
    domain TEXT NOT NULL,
    connection_id BIGINT NOT NULL REFERENCES sso_connections (id) ON DELETE CASCADE,
    org_id BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX sso_domains_domain_key ON sso_domains (domain);
CREATE INDEX sso_domains_connection_idx ON sso_domains (connection_id);

-- Which account a provider's subject signed in as (the link SPEC §1 calls
-- a linked identity). One subject of a connection is one account.
CREATE TABLE sso_identities (
    id {{ID}},
    connection_id BIGINT NOT NULL REFERENCES sso_connections (id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    last_sign_in_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX sso_identities_subject_key ON sso_identities (connection_id, subject);
CREATE INDEX sso_identities_user_idx ON sso_identities (user_id);

-- A sign-in in flight: the state sent to the provider (stored as a keyed
-- hash), the nonce and PKCE verifier (encrypted), the hash of the cookie
-- that binds it to the browser that started it, where the result goes,
-- and its expiry. Taken (deleted) once, by the callback.
CREATE TABLE sso_states (
    state_hash TEXT NOT NULL PRIMARY KEY,
    connection_id BIGINT NOT NULL REFERENCES sso_connections (id) ON DELETE CASCADE,
    browser_hash TEXT NOT NULL,
    nonce_enc TEXT NOT NULL,
    verifier_enc TEXT NOT NULL,
    purpose TEXT NOT NULL,
    return_to TEXT NOT NULL DEFAULT '',
    challenge TEXT NOT NULL DEFAULT '',
    started_by BIGINT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sso_states_expiry_idx ON sso_states (expires_at);

-- A finished sign-in waiting for the CLI that started it: the code the
-- browser carried to the CLI's loopback receiver (as a keyed hash) and the
-- S256 challenge of the CLI's verifier. Exchanged once for a session.
CREATE TABLE sso_handoffs (
    code_hash TEXT NOT NULL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    connection_id BIGINT NOT NULL REFERENCES sso_connections (id) ON DELETE CASCADE,
    challenge TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- The session's sign-in: through which connection (NULL: a password,
-- a magic link or a passkey). An org whose connection enforces SSO opens
-- only to sessions opened through it.
ALTER TABLE sessions ADD COLUMN sso_connection_id BIGINT;

-- An org's group mappings, shared by SSO and SCIM: a directory group name
-- (`claim`: a value of the provider's groups claim, or a SCIM Group's
-- displayName) gives the Roster group `group_id` and/or the role `role`
-- (by name, like memberships.role). Ordered by `position`: the first
-- matching mapping with a role gives the role.
CREATE TABLE group_mappings (
    id {{ID}},
    org_id BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    claim TEXT NOT NULL,
    group_id BIGINT REFERENCES groups (id) ON DELETE CASCADE,
    role TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX group_mappings_org_idx ON group_mappings (org_id, position);
