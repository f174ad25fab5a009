-- Fine-grained access: the resource-type catalog, custom roles, the
-- resource tree, access rules and review requests (SPEC §1).

-- Types and actions an org adds to the default catalog (which lives in
-- code, so every org has it without rows). One row per action.
CREATE TABLE resource_actions (
    org_id BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    resource_type TEXT NOT NULL,
    action TEXT NOT NULL,
    class TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, resource_type, action)
);

-- An org's own roles. `permissions` is the space-separated list
-- (`users:read clusters:* *:read`), validated against the catalog when
-- written. Built-in roles are not stored.
CREATE TABLE roles (
    id {{ID}},
    org_id BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    permissions TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX roles_org_name_key ON roles (org_id, name);

-- A node in the org's resource tree. The parent is in the same org (checked
-- by the service, under the org's lock, together with the absence of
-- cycles); the foreign key keeps a parent from being deleted under its
-- children.
-- `review_actions` is the space-separated list of `type:action`s that need
-- approval here (and below, where no nearer policy exists).
CREATE TABLE resources (
    id {{ID}},
    org_id BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    resource_type TEXT NOT NULL,
    name TEXT NOT NULL,
    parent_id BIGINT REFERENCES resources (id),
    review_actions TEXT NOT NULL DEFAULT '',
    review_approvals BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX resources_org_key ON resources (org_id, resource_type, name);
CREATE INDEX resources_parent_idx ON resources (parent_id);

-- The groups a resource admits.
CREATE TABLE resource_groups (
    resource_id BIGINT NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
    group_id BIGINT NOT NULL REFERENCES groups (id),
    org_id BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    PRIMARY KEY (resource_id, group_id)
);
CREATE INDEX resource_groups_group_idx ON resource_groups (group_id);

-- (subject, role, scope). Exactly one of user_id and group_id is set;
-- resource_id NULL means the whole org. The role is referenced by name,
-- like memberships.role.
CREATE TABLE access_rules (
    id {{ID}},
    org_id BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    group_id BIGINT REFERENCES groups (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    resource_id BIGINT REFERENCES resources (id) ON DELETE CASCADE,
    created_by BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX access_rules_org_idx ON access_rules (org_id, id);
CREATE INDEX access_rules_user_idx ON access_rules (org_id, user_id);
CREATE INDEX access_rules_group_idx ON access_rules (group_id);
CREATE INDEX access_rules_resource_idx ON access_rules (resource_id);

-- A member's request to do one action on one resource whose policy needs
-- review. `status`: pending, approved, rejected, cancelled. An approved
-- request grants the action until `expires_at`.
CREATE TABLE review_requests (
    id {{ID}},
    org_id BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    requester_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    resource_id BIGINT NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
    action TEXT NOT NULL,
    reason TEXT NOT NULL,
    duration_seconds BIGINT NOT NULL,
    approvals_required BIGINT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    decided_at BIGINT,
    expires_at BIGINT
);
CREATE INDEX review_requests_org_idx ON review_requests (org_id, id);
CREATE INDEX review_requests_grant_idx ON review_requests (org_id, status, expires_at);

CREATE TABLE review_votes (
    request_id BIGINT NOT NULL REFERENCES review_requests (id) ON DELETE CASCADE,
    reviewer_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    decision TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    at BIGINT NOT NULL,
    PRIMARY KEY (request_id, reviewer_id)
);
