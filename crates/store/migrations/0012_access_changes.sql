-- The access change log (issue 15): one row per committed change to an
-- org, keyed by the revision the change moved the org to, written in the
-- change's transaction. `payload` is JSON: the facts of what changed
-- (members, groups, rules, requests, new resources) or a request to
-- rebuild. Replicas apply rows in revision order to their in-memory
-- index; old rows are pruned as new ones arrive.
CREATE TABLE access_changes (
    org_id BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    revision BIGINT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, revision)
);
