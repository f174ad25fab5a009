CREATE TRIGGER audit_events_org_head AFTER INSERT ON audit_events
WHEN NEW.seq IS NOT NULL AND NEW.org_id IS NOT NULL
BEGIN
    UPDATE orgs SET audit_seq = NEW.seq, audit_head = NEW.hash
     WHERE id = NEW.org_id AND audit_seq < NEW.seq;
END;
CREATE TRIGGER audit_events_no_org_head AFTER INSERT ON audit_events
WHEN NEW.seq IS NOT NULL AND NEW.org_id IS NULL
BEGIN
    UPDATE audit_chains SET head_seq = NEW.seq, head_hash = NEW.hash
     WHERE chain_id = 0 AND head_seq < NEW.seq;
END;
