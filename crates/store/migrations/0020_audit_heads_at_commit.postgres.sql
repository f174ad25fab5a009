DROP TRIGGER audit_events_head ON audit_events;
DROP FUNCTION audit_events_head();
