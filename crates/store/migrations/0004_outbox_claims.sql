-- Outbox claims, so that several workers (several replicas) never deliver
-- one message at the same time: a worker claims due messages for a lease
-- before sending them. If it dies mid-send, the lease runs out and another
-- worker takes the message over, so nothing is lost.
ALTER TABLE outbox ADD COLUMN claimed_until BIGINT;
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
