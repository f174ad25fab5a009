-- PostgreSQL: a change takes its org's lock without writing the org's row
-- (`SELECT ... FOR NO KEY UPDATE`) and writes the org's revision and audit
-- chain head once, just before it commits (`orgs::commit_revision`; other
-- chains' heads with `audit::store_head`). The trigger of migration 0019,
-- which moved the head in each event's insert and so wrote the org's row
-- a second time in every change, goes (docs/decisions.md, "The audit
-- chain"). SQLite keeps its lock (`UPDATE ... RETURNING`, which takes the
-- database's write lock at once) and its triggers.
{{ENGINE_PART}}
