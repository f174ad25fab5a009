-- Roster's first schema: users, organizations, memberships, groups,
-- sessions, the audit log, the outbox and first-start setup tokens.
--
-- One file serves SQLite and PostgreSQL. The only word that differs is the
-- auto-incrementing primary key, written {{ID}} and replaced when the
-- migration is loaded (see src/migrate.rs). Everything else sticks to what
-- both engines accept: BIGINT, TEXT, 0/1 flags in BIGINT columns, and times
-- as Unix milliseconds in BIGINT columns.

-- A global identity. `email` is stored trimmed and lower-cased, so the
-- unique index is the case-insensitive uniqueness SPEC §1 asks for.
-- `name_folded` is the lower-cased name the `name` filter matches.
CREATE TABLE users (
    id {{ID}},
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    name_folded TEXT NOT NULL,
    password_hash TEXT,
    must_change_password BIGINT NOT NULL DEFAULT 0,
    disabled BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    last_active_at BIGINT
);
CREATE UNIQUE INDEX users_email_key ON users (email);

-- The tenant. `personal_user_id` is set on a user's personal organization.
-- `revision` is bumped by every transaction that changes the org or its
-- members: taking that row lock first is how writers to one org serialise
-- (PostgreSQL row lock; on SQLite the first write takes the database lock).
CREATE TABLE orgs (
    id {{ID}},
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    personal_user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    allowed_domains TEXT NOT NULL DEFAULT '',
    self_registration BIGINT NOT NULL DEFAULT 0,
    invitation_ttl_seconds BIGINT NOT NULL DEFAULT 86400,
    mfa_policy TEXT NOT NULL DEFAULT 'optional',
    default_role TEXT NOT NULL DEFAULT 'viewer',
    revision BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX orgs_slug_key ON orgs (slug);
CREATE UNIQUE INDEX orgs_personal_user_key ON orgs (personal_user_id);

-- A user in an organization. Lists page by (org_id, id); each filter on an
-- exact column has an index that starts with org_id and ends with id, so a
-- filtered page is an index range scan in id order.
CREATE TABLE memberships (
    id {{ID}},
    org_id BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    team TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    identity_provider TEXT NOT NULL DEFAULT 'password',
    mfa_required BIGINT NOT NULL DEFAULT 0,
    joined_at BIGINT NOT NULL,
    last_active_at BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX memberships_org_user_key ON memberships (org_id, user_id);
CREATE INDEX memberships_org_page_idx ON memberships (org_id, id);
CREATE INDEX memberships_org_role_idx ON memberships (org_id, role, id);
CREATE INDEX memberships_org_status_idx ON memberships (org_id, status, id);
CREATE INDEX memberships_org_team_idx ON memberships (org_id, team, id);
CREATE INDEX memberships_org_idp_idx ON memberships (org_id, identity_provider, id);
CREATE INDEX memberships_user_idx ON memberships (user_id);

-- Named sets of members of one org.
CREATE TABLE groups (
    id {{ID}},
    org_id BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX groups_org_name_key ON groups (org_id, name);

CREATE TABLE group_members (
    group_id BIGINT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    org_id BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_org_user_idx ON group_members (org_id, user_id);

-- Sign-in sessions. Only a keyed hash of the token is stored.
CREATE TABLE sessions (
    id {{ID}},
    token_hash TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    client_addr TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX sessions_token_hash_key ON sessions (token_hash);
CREATE INDEX sessions_user_idx ON sessions (user_id);

-- Append-only record of who did what. No foreign keys: events outlive the
-- users and organizations they mention, and keep the actor's email and
-- name as they were.
CREATE TABLE audit_events (
    id {{ID}},
    org_id BIGINT,
    at BIGINT NOT NULL,
    actor_id BIGINT,
    actor_email TEXT NOT NULL DEFAULT '',
    actor_name TEXT NOT NULL DEFAULT '',
    channel TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    details TEXT NOT NULL DEFAULT '{}',
    client_addr TEXT NOT NULL DEFAULT '',
    request_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_org_page_idx ON audit_events (org_id, id);
CREATE INDEX audit_org_action_idx ON audit_events (org_id, action, id);
CREATE INDEX audit_org_actor_idx ON audit_events (org_id, actor_email, id);
CREATE INDEX audit_org_target_idx ON audit_events (org_id, target, id);

-- Outgoing messages, written in the transaction of the change that causes
-- them and delivered by a background worker.
CREATE TABLE outbox (
    id {{ID}},
    org_id BIGINT,
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    sent_at BIGINT,
    last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_due_idx ON outbox (sent_at, next_attempt_at);

-- One-time links printed on first start to create the first org and owner.
CREATE TABLE setup_tokens (
    token_hash TEXT NOT NULL PRIMARY KEY,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
