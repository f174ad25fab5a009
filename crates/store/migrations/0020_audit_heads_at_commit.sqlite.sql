-- Nothing changes on SQLite.
SELECT 1;
