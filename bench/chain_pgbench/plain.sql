-- Before chains: the org's lock, an event without seq or hashes.
BEGIN;
UPDATE orgs SET revision = revision + 1 WHERE id = 1 RETURNING revision, audit_seq, audit_head;
INSERT INTO audit_events (org_id, at, actor_id, actor_email, actor_name, channel, action, target, details, client_addr, request_id) VALUES (1, 1700000000000, NULL, 'owner@bench.test', 'Owner', 'api', 'member.create', 'user:123456', '{"email":"m123456@bench.test","role":"viewer"}', '127.0.0.1', '00000000-0000-0000-0000-000000000000') RETURNING id;
COMMIT;
