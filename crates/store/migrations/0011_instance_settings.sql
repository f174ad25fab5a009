-- Settings of the whole instance (not of one org), one row per name:
-- `key_check` (a keyed hash that tells whether a server runs with the key
-- this database was made with).
--
-- This is also the first migration whose {{ID}} is AUTOINCREMENT on SQLite;
-- the tables of earlier migrations are rebuilt with it after migrating
-- (src/migrate.rs, `monotonic_ids`), so no id is ever handed out twice.
CREATE TABLE instance_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
