-- What Roster does (migration 0019): the insert's trigger moves the head,
-- a second version of the org's row in the transaction. Run in the database
-- that has the trigger.
\set s random(1, 1000000000)
BEGIN;
UPDATE orgs SET revision = revision + 1 WHERE id = 1 RETURNING revision, audit_seq, audit_head;
INSERT INTO audit_events (org_id, at, actor_id, actor_email, actor_name, channel, action, target, details, client_addr, request_id, seq, prev_hash, hash) VALUES (1, 1700000000000, NULL, 'owner@bench.test', 'Owner', 'api', 'member.create', 'user:123456', '{"email":"m123456@bench.test","role":"viewer"}', '127.0.0.1', '00000000-0000-0000-0000-000000000000', :s, '3f2a5d0c9b8e7f6a5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e', '4f2a5d0c9b8e7f6a5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e') RETURNING id;
COMMIT;
