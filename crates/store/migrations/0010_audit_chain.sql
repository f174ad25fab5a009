-- An audit log you can check and follow (SPEC §3a "Audit you can check",
-- "Webhooks").
--
-- Each event is a link of a hash chain: the chain of its org, or the one
-- chain of events that belong to no org (an account's own: password,
-- sessions). `seq` is the event's position in its chain (1, 2, ...),
-- `prev_hash` the hash of the event before it (or of the last pruned one,
-- or 64 zeros) and `hash` the SHA-256 of its canonical encoding
-- (docs/decisions.md, "The audit chain"). Events written before this
-- migration are chained, in id order, when the server starts.
ALTER TABLE audit_events ADD COLUMN seq BIGINT;
ALTER TABLE audit_events ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN hash TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_chain_idx ON audit_events (org_id, seq);
CREATE INDEX audit_actor_idx ON audit_events (actor_id, id);
-- Finds the events not chained yet (on start) without reading the others.
CREATE INDEX audit_unchained_idx ON audit_events (id) WHERE seq IS NULL;

-- One row per chain (`chain_id`: the org's id, 0 for events of no org):
-- its head (the newest event's position and hash), written in the
-- transaction that appends, whose row lock orders concurrent appenders,
-- and the checkpoint that retention leaves (the position and hash of the
-- last pruned event), from which what remains still verifies.
CREATE TABLE audit_chains (
    chain_id BIGINT NOT NULL PRIMARY KEY,
    head_seq BIGINT NOT NULL DEFAULT 0,
    head_hash TEXT NOT NULL,
    pruned_seq BIGINT NOT NULL DEFAULT 0,
    pruned_hash TEXT NOT NULL,
    pruned_at BIGINT
);

-- Days an org keeps its audit events; NULL keeps them forever.
ALTER TABLE orgs ADD COLUMN audit_retention_days BIGINT;

-- Webhook endpoints: each matching audit event of the org is queued in the
-- outbox (kind 'webhook', recipient 'webhook:<id>') in the event's
-- transaction. `events` is a space-separated list of actions and prefixes
-- ending in '.' ('' is every event); the signing secret is encrypted with
-- the server key.
CREATE TABLE webhooks (
    id {{ID}},
    org_id BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    events TEXT NOT NULL DEFAULT '',
    secret_enc TEXT NOT NULL,
    created_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX webhooks_org_idx ON webhooks (org_id, id);
CREATE INDEX outbox_recipient_idx ON outbox (recipient, sent_at);
