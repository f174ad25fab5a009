-- Failed sign-in counts per key (an account's email, or a client address),
-- in fixed windows. In the database rather than in memory so that several
-- replicas share them: spreading attempts over replicas gains nothing.
CREATE TABLE login_failures (
    throttle_key TEXT NOT NULL PRIMARY KEY,
    window_start BIGINT NOT NULL,
    failures BIGINT NOT NULL
);
