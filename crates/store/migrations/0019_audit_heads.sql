-- An org's audit chain state moves onto its org row (docs/decisions.md,
-- "The audit chain"), so the org's lock, which every change to the org
-- takes first (`UPDATE orgs ... RETURNING`), also returns the chain's
-- head: appending no longer locks a row of its own. The database moves
-- the head itself when a chained event is inserted (the engine's trigger
-- below), so a change no longer writes it at commit either.
--
-- `audit_seq`/`audit_head`: the newest event's position and hash (0 and
-- 64 zeros for an empty chain); `audit_pruned_*`: the checkpoint
-- retention leaves (the last pruned event's position, hash and time).
ALTER TABLE orgs ADD COLUMN audit_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orgs ADD COLUMN audit_head TEXT NOT NULL DEFAULT '0000000000000000000000000000000000000000000000000000000000000000';
ALTER TABLE orgs ADD COLUMN audit_pruned_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orgs ADD COLUMN audit_pruned_hash TEXT NOT NULL DEFAULT '0000000000000000000000000000000000000000000000000000000000000000';
ALTER TABLE orgs ADD COLUMN audit_pruned_at BIGINT;

-- The heads and checkpoints of existing org chains carry over; the
-- `audit_chains` table keeps only chain 0, the events of no org.
UPDATE orgs SET
    audit_seq = (SELECT c.head_seq FROM audit_chains c WHERE c.chain_id = orgs.id),
    audit_head = (SELECT c.head_hash FROM audit_chains c WHERE c.chain_id = orgs.id),
    audit_pruned_seq = (SELECT c.pruned_seq FROM audit_chains c WHERE c.chain_id = orgs.id),
    audit_pruned_hash = (SELECT c.pruned_hash FROM audit_chains c WHERE c.chain_id = orgs.id),
    audit_pruned_at = (SELECT c.pruned_at FROM audit_chains c WHERE c.chain_id = orgs.id)
WHERE id IN (SELECT chain_id FROM audit_chains);
DELETE FROM audit_chains WHERE chain_id <> 0;

-- A chained event moves its chain's head forward (never back: an old row
-- put back does not rewind it), in the statement that inserts it.
{{ENGINE_PART}}
