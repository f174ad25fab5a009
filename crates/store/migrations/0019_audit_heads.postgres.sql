CREATE FUNCTION audit_events_head() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.org_id IS NULL THEN
        UPDATE audit_chains SET head_seq = NEW.seq, head_hash = NEW.hash
         WHERE chain_id = 0 AND head_seq < NEW.seq;
    ELSE
        UPDATE orgs SET audit_seq = NEW.seq, audit_head = NEW.hash
         WHERE id = NEW.org_id AND audit_seq < NEW.seq;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER audit_events_head AFTER INSERT ON audit_events
    FOR EACH ROW WHEN (NEW.seq IS NOT NULL) EXECUTE FUNCTION audit_events_head();
