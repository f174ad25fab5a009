-- Outbox bodies carry live links (invitations, password and sign-in links,
-- sign-up confirmations). From this version they are stored sealed with
-- the server key and dropped once delivered; this drops the bodies of
-- messages delivered before it. Messages still waiting keep their plain
-- bodies until they are delivered.
UPDATE outbox SET body_text = '', body_html = '' WHERE sent_at IS NOT NULL;
