-- Sign-in you can trust (issue 16) and throttling that counts before it
-- checks (issue 14).
--
-- Throttle windows lengthen on repeated lockouts: each key keeps its
-- current window's length.
ALTER TABLE login_failures ADD COLUMN window_ms BIGINT NOT NULL DEFAULT 900000;
