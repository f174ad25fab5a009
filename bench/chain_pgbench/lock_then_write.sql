-- The lock taken without a new row version (SELECT ... FOR NO KEY UPDATE),
-- then revision and head written once, in the insert's statement.
\set s random(1, 1000000000)
BEGIN;
SELECT revision, audit_seq, audit_head FROM orgs WHERE id = 1 FOR NO KEY UPDATE;
WITH e AS (INSERT INTO audit_events (org_id, at, actor_id, actor_email, actor_name, channel, action, target, details, client_addr, request_id, seq, prev_hash, hash) VALUES (1, 1700000000000, NULL, 'owner@bench.test', 'Owner', 'api', 'member.create', 'user:123456', '{"email":"m123456@bench.test","role":"viewer"}', '127.0.0.1', '00000000-0000-0000-0000-000000000000', :s, '3f2a5d0c9b8e7f6a5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e', '4f2a5d0c9b8e7f6a5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e') RETURNING id, seq, hash),
h AS (UPDATE orgs SET revision = revision + 1, audit_seq = e.seq, audit_head = e.hash FROM e WHERE orgs.id = 1)
SELECT id FROM e;
COMMIT;
