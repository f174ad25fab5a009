//! Loads the migrations in `migrations/` for the engine at hand and runs them
//! with sqlx's migrator (which records them in `_sqlx_migrations` and, on
//! PostgreSQL, holds an advisory lock while it works).

use crate::{Engine, Result, Store};
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

/// The migrations, in order. Add new ones at the end; never edit one that
/// has shipped (its checksum is recorded).
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "spine", include_str!("../migrations/0001_spine.sql")),
    (
        2,
        "invitations",
        include_str!("../migrations/0002_invitations.sql"),
    ),
    (3, "slack", include_str!("../migrations/0003_slack.sql")),
    (
        4,
        "outbox claims",
        include_str!("../migrations/0004_outbox_claims.sql"),
    ),
    (
        5,
        "password links",
        include_str!("../migrations/0005_password_links.sql"),
    ),
    (
        6,
        "login throttle",
        include_str!("../migrations/0006_login_throttle.sql"),
    ),
    (7, "access", include_str!("../migrations/0007_access.sql")),
    (
        8,
        "member search",
        include_str!("../migrations/0008_member_search.sql"),
    ),
    (9, "tokens", include_str!("../migrations/0009_tokens.sql")),
    (
        10,
        "audit chain",
        include_str!("../migrations/0010_audit_chain.sql"),
    ),
    (
        11,
        "instance settings",
        include_str!("../migrations/0011_instance_settings.sql"),
    ),
    (
        12,
        "access changes",
        include_str!("../migrations/0012_access_changes.sql"),
    ),
    (
        13,
        "sign-in",
        include_str!("../migrations/0013_sign_in.sql"),
    ),
    (
        14,
        "signup confirmations",
        include_str!("../migrations/0014_signup_confirmations.sql"),
    ),
    (15, "sso", include_str!("../migrations/0015_sso.sql")),
    (16, "scim", include_str!("../migrations/0016_scim.sql")),
    (
        17,
        "outbox bodies",
        include_str!("../migrations/0017_outbox_bodies.sql"),
    ),
    (
        18,
        "passkeys",
        include_str!("../migrations/0018_passkeys.sql"),
    ),
    (
        19,
        "audit heads",
        include_str!("../migrations/0019_audit_heads.sql"),
    ),
    (
        20,
        "audit heads at commit",
        include_str!("../migrations/0020_audit_heads_at_commit.sql"),
    ),
    (
        21,
        "member name grams",
        include_str!("../migrations/0021_member_name_grams.sql"),
    ),
    (
        22,
        "member name grams near",
        include_str!("../migrations/0022_member_name_grams_near.sql"),
    ),
];

/// The parts of a migration that differ between the engines (a trigger's
/// body, a table's storage), put where its text says `{{ENGINE_PART}}`: (version, SQLite's,
/// PostgreSQL's). A migration's `{{CODE_POINT}}` is the engine's function
/// from a character to its code point.
const ENGINE_PARTS: &[(i64, &str, &str)] = &[
    (
        19,
        include_str!("../migrations/0019_audit_heads.sqlite.sql"),
        include_str!("../migrations/0019_audit_heads.postgres.sql"),
    ),
    (
        20,
        include_str!("../migrations/0020_audit_heads_at_commit.sqlite.sql"),
        include_str!("../migrations/0020_audit_heads_at_commit.postgres.sql"),
    ),
    (
        21,
        include_str!("../migrations/0021_member_name_grams.sqlite.sql"),
        include_str!("../migrations/0021_member_name_grams.postgres.sql"),
    ),
    (
        22,
        include_str!("../migrations/0022_member_name_grams_near.sqlite.sql"),
        include_str!("../migrations/0022_member_name_grams_near.postgres.sql"),
    ),
];

/// From this version on, SQLite's `{{ID}}` is `AUTOINCREMENT`, so new
/// tables never reuse a deleted row's id. Older tables are rebuilt by
/// [`monotonic_ids`]; the versions before it keep their shipped text (their
/// checksums are recorded).
const AUTOINCREMENT_FROM: i64 = 11;

/// The migrations for an engine, up to a version (all of them but in a
/// test of an upgrade).
#[derive(Debug)]
struct Source {
    engine: Engine,
    up_to: i64,
}

impl MigrationSource<'static> for Source {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>> {
        let (engine, up_to) = (self.engine, self.up_to);
        let migrations = MIGRATIONS
            .iter()
            .filter(|(version, _, _)| *version <= up_to)
            .map(|(version, description, sql)| {
                // PostgreSQL's identity columns draw from a sequence, which
                // never hands out a number twice.
                let id = match engine {
                    Engine::Sqlite if *version >= AUTOINCREMENT_FROM => {
                        "INTEGER PRIMARY KEY AUTOINCREMENT"
                    }
                    Engine::Sqlite => "INTEGER PRIMARY KEY",
                    Engine::Postgres => "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
                };
                let mut sql = sql
                    .replace("{{ID}}", id)
                    .replace("{{CODE_POINT}}", crate::sql::code_point_function(engine));
                if let Some((_, sqlite, postgres)) =
                    ENGINE_PARTS.iter().find(|(v, _, _)| v == version)
                {
                    let part = match engine {
                        Engine::Sqlite => sqlite,
                        Engine::Postgres => postgres,
                    };
                    sql = sql.replace("{{ENGINE_PART}}", part);
                }
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    Cow::Owned(sql),
                    false,
                )
            })
            .collect();
        Box::pin(async move { Ok(migrations) })
    }
}

pub(crate) async fn run(store: &Store) -> Result<()> {
    if store.engine() == Engine::Postgres {
        check_encoding(store).await?;
    }
    let migrator = Migrator::new(Source {
        engine: store.engine(),
        up_to: i64::MAX,
    })
    .await?;
    migrator.run(store.pool()).await?;
    if store.engine() == Engine::Sqlite {
        monotonic_ids(store).await?;
    }
    Ok(())
}

/// Refuses a PostgreSQL database whose encoding is not UTF-8, before
/// anything is written to it: the name search's grams take each
/// character's code point with `ascii()` (`{{CODE_POINT}}`), which gives
/// it only in a UTF-8 database (in `SQL_ASCII` SQL cuts and reads bytes,
/// so the grams the migrations write would not match those the store
/// writes from Rust), and a single-byte encoding such as `LATIN1` cannot
/// hold most of the world's names anyway.
async fn check_encoding(store: &Store) -> Result<()> {
    let (encoding,): (String,) = sqlx::query_as(
        "SELECT pg_encoding_to_char(encoding)::text FROM pg_database WHERE datname = current_database()",
    )
    .fetch_one(store.pool())
    .await?;
    if encoding == "UTF8" {
        return Ok(());
    }
    Err(crate::StoreError::Unavailable(format!(
        "the PostgreSQL database's encoding is {encoding}; Roster needs UTF8 \
         (CREATE DATABASE roster ENCODING 'UTF8' TEMPLATE template0)"
    )))
}

/// Whether the database has exactly this build's migrations applied (and
/// no failed one): a database an older server left, or a newer one made,
/// is refused with a sentence saying which.
pub(crate) async fn check_current(store: &Store) -> Result<()> {
    let latest = MIGRATIONS.last().map_or(0, |(v, _, _)| *v);
    let applied: std::result::Result<(Option<i64>, i64), sqlx::Error> = sqlx::query_as(
        "SELECT MAX(version), COALESCE(SUM(CASE WHEN success THEN 0 ELSE 1 END), 0) FROM _sqlx_migrations",
    )
    .fetch_one(store.pool())
    .await;
    let (version, failed) = match applied {
        Ok((v, failed)) => (v.unwrap_or(0), failed),
        Err(_) => (0, 0),
    };
    let why = if failed > 0 {
        "a migration of this database failed; start the server to see which".to_owned()
    } else if version < latest {
        format!("the database is at migration {version} and this roster's is {latest}: start this version's server on it first")
    } else if version > latest {
        format!("the database is at migration {version}, newer than this roster's ({latest}): use the roster of the server that migrated it")
    } else {
        return Ok(());
    };
    Err(crate::StoreError::Unavailable(why))
}

/// Makes every SQLite table whose key is an `INTEGER PRIMARY KEY` an
/// `AUTOINCREMENT` one, so that the id of a deleted newest row is never
/// handed out again (`rule:2` in the audit log names one rule forever).
///
/// SQLite cannot add `AUTOINCREMENT` to a table; the table is rebuilt as
/// SQLite's documentation describes (foreign keys off, create the new
/// table, copy, drop, rename, recreate indexes, check foreign keys), all in
/// one transaction. The new table's text is the old one's as SQLite keeps it
/// (with every column later migrations added), so this runs after all
/// migrations and also covers tables a later migration creates without the
/// word. It does nothing when every table has it; a crash mid-way rolls the
/// transaction back and the next start does it again.
async fn monotonic_ids(store: &Store) -> Result<()> {
    use sqlx::Connection;
    let mut conn = store.pool().acquire().await?.detach();
    let result = rebuild_without_reuse(&mut conn).await;
    let _ = conn.close().await;
    result
}

async fn rebuild_without_reuse(conn: &mut sqlx::AnyConnection) -> Result<()> {
    use sqlx::Executor;
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%' ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await?;
    let todo: Vec<(String, String)> = tables
        .into_iter()
        .filter(|(_, sql)| {
            let upper = sql.to_ascii_uppercase();
            upper.contains("INTEGER PRIMARY KEY") && !upper.contains("AUTOINCREMENT")
        })
        .collect();
    if todo.is_empty() {
        return Ok(());
    }
    tracing::info!(
        tables = todo.len(),
        "rebuilding tables so that ids are never reused"
    );
    conn.execute("PRAGMA foreign_keys = OFF").await?;
    // A trigger on another table names a table while it is rebuilt (the
    // audit chain's triggers update `orgs`); SQLite's own renaming would
    // refuse to rename the new table over a name such a trigger holds. The
    // rebuilt table takes the old name, so the trigger's text stays right.
    conn.execute("PRAGMA legacy_alter_table = ON").await?;
    conn.execute("BEGIN IMMEDIATE").await?;
    let work = async {
        for (name, sql) in &todo {
            let extras: Vec<(String,)> = sqlx::query_as(
                "SELECT sql FROM sqlite_master WHERE tbl_name = $1 \
                 AND type IN ('index', 'trigger') AND sql IS NOT NULL",
            )
            .bind(name.as_str())
            .fetch_all(&mut *conn)
            .await?;
            let temp = format!("roster_rebuild_{name}");
            let create = rebuilt_table_sql(sql, name, &temp).ok_or_else(|| {
                crate::StoreError::Unavailable(format!(
                    "cannot read the definition of table {name}"
                ))
            })?;
            conn.execute(create.as_str()).await?;
            conn.execute(format!("INSERT INTO \"{temp}\" SELECT * FROM \"{name}\"").as_str())
                .await?;
            conn.execute(format!("DROP TABLE \"{name}\"").as_str())
                .await?;
            conn.execute(format!("ALTER TABLE \"{temp}\" RENAME TO \"{name}\"").as_str())
                .await?;
            for (extra,) in extras {
                conn.execute(extra.as_str()).await?;
            }
        }
        let broken: Vec<(String,)> =
            sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
                .fetch_all(&mut *conn)
                .await?;
        if let Some((table,)) = broken.first() {
            return Err(crate::StoreError::Unavailable(format!(
                "rebuilding tables broke a foreign key in {table}"
            )));
        }
        Ok(())
    }
    .await;
    match work {
        Ok(()) => {
            conn.execute("COMMIT").await?;
            conn.execute("PRAGMA legacy_alter_table = OFF").await?;
            conn.execute("PRAGMA foreign_keys = ON").await?;
            Ok(())
        }
        Err(e) => {
            let _ = conn.execute("ROLLBACK").await;
            Err(e)
        }
    }
}

/// `CREATE TABLE name (... id INTEGER PRIMARY KEY ...)` as `CREATE TABLE
/// temp (... id INTEGER PRIMARY KEY AUTOINCREMENT ...)`.
fn rebuilt_table_sql(sql: &str, name: &str, temp: &str) -> Option<String> {
    let open = sql.find('(')?;
    let head = &sql[..open];
    if !head.to_ascii_uppercase().starts_with("CREATE TABLE") || !head.contains(name) {
        return None;
    }
    let body = &sql[open..];
    let at = body.to_ascii_uppercase().find("INTEGER PRIMARY KEY")? + "INTEGER PRIMARY KEY".len();
    Some(format!(
        "CREATE TABLE \"{temp}\" {} AUTOINCREMENT{}",
        &body[..at],
        &body[at..]
    ))
}

#[cfg(test)]
mod tests {
    use super::{rebuilt_table_sql, Migrator, Source};
    use crate::{Create, Engine, Store, StoreOptions};

    #[test]
    fn a_rebuilt_table_gets_autoincrement_on_its_key() {
        assert_eq!(
            rebuilt_table_sql(
                "CREATE TABLE users (\n    id INTEGER PRIMARY KEY,\n    email TEXT NOT NULL, kind TEXT)",
                "users",
                "t"
            )
            .unwrap(),
            "CREATE TABLE \"t\" (\n    id INTEGER PRIMARY KEY AUTOINCREMENT,\n    email TEXT NOT NULL, kind TEXT)"
        );
        assert!(rebuilt_table_sql("CREATE VIEW v AS SELECT 1", "v", "t").is_none());
    }

    /// A new store at `url` with the migrations up to `version` only.
    async fn migrated_up_to(url: &str, version: i64) -> Store {
        let opts = StoreOptions {
            url: url.to_owned(),
            max_connections: 2,
        };
        let store = Store::connect(&opts, Create::IfMissing).await.unwrap();
        Migrator::new(Source {
            engine: store.engine(),
            up_to: version,
        })
        .await
        .unwrap()
        .run(store.pool())
        .await
        .unwrap();
        store
    }

    const G: &str = "0000000000000000000000000000000000000000000000000000000000000000";

    /// A database as the version before 0019 left it, with an org whose
    /// chain has a head and a checkpoint in `audit_chains`, another org
    /// with no chain yet, and chain 0; then migrated to this version.
    async fn carried_over(url: &str) {
        let store = migrated_up_to(url, 17).await;
        let pool = store.pool();
        let mut ids = Vec::new();
        for slug in ["acme", "globex"] {
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO orgs (slug, name, created_at, updated_at) VALUES ($1, $1, 0, 0) RETURNING id",
            )
            .bind(slug)
            .fetch_one(pool)
            .await
            .unwrap();
            ids.push(id);
        }
        let (a, b, c) = ("a".repeat(64), "b".repeat(64), "c".repeat(64));
        for (chain, head, hash, pruned, pruned_hash, at) in [
            (ids[0], 7, &a, 3, &b, Some(1_767_225_600_000i64)),
            (0, 5, &c, 0, &G.to_owned(), None),
        ] {
            sqlx::query(
                "INSERT INTO audit_chains (chain_id, head_seq, head_hash, pruned_seq, pruned_hash, pruned_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(chain)
            .bind(head)
            .bind(hash.as_str())
            .bind(pruned)
            .bind(pruned_hash.as_str())
            .bind(at)
            .execute(pool)
            .await
            .unwrap();
        }

        super::run(&store).await.unwrap();
        let acme = crate::audit::chain(&mut store.conn().await.unwrap(), ids[0])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (acme.head_seq, acme.head_hash.as_str(), acme.pruned_seq),
            (7, a.as_str(), 3)
        );
        assert_eq!(acme.pruned_hash, b);
        assert_eq!(acme.pruned_at.map(|t| t.unix_ms()), Some(1_767_225_600_000));
        let globex = crate::audit::chain(&mut store.conn().await.unwrap(), ids[1])
            .await
            .unwrap()
            .unwrap();
        assert_eq!((globex.head_seq, globex.head_hash.as_str()), (0, G));
        assert_eq!((globex.pruned_seq, globex.pruned_hash.as_str()), (0, G));
        let none = crate::audit::chain(&mut store.conn().await.unwrap(), 0)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((none.head_seq, none.head_hash.as_str()), (5, c.as_str()));
        let (rows,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_chains")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(rows, 1, "only chain 0 stays in audit_chains");

        // On SQLite inserting a chained event moves its chain's head,
        // forward only; on PostgreSQL (migration 20) the transaction that
        // appends writes the head before it commits, and an insert alone
        // leaves it.
        let sqlite = store.engine() == Engine::Sqlite;
        for (org, seq, hash) in [
            (Some(ids[0]), 8, "d".repeat(64)),
            (Some(ids[0]), 2, "e".repeat(64)),
            (None, 6, "f".repeat(64)),
        ] {
            sqlx::query(
                "INSERT INTO audit_events (org_id, at, channel, action, seq, prev_hash, hash)
                 VALUES ($1, 0, 'api', 'member.update', $2, '', $3)",
            )
            .bind(org)
            .bind(seq)
            .bind(hash.as_str())
            .execute(pool)
            .await
            .unwrap();
        }
        let acme = crate::audit::chain(&mut store.conn().await.unwrap(), ids[0])
            .await
            .unwrap()
            .unwrap();
        let none = crate::audit::chain(&mut store.conn().await.unwrap(), 0)
            .await
            .unwrap()
            .unwrap();
        if sqlite {
            assert_eq!((acme.head_seq, acme.head_hash), (8, "d".repeat(64)));
            assert_eq!((none.head_seq, none.head_hash), (6, "f".repeat(64)));
        } else {
            assert_eq!((acme.head_seq, acme.head_hash), (7, a.clone()));
            assert_eq!((none.head_seq, none.head_hash), (5, c.clone()));
        }
        store.close().await;
    }

    /// Runs `test` on a new SQLite database.
    async fn on_sqlite<F: std::future::Future<Output = ()>>(test: impl FnOnce(String) -> F) {
        sqlx::any::install_default_drivers();
        let path = std::env::temp_dir().join(format!(
            "roster-migrate-{}-{}.db",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        test(format!("sqlite://{}", path.display())).await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }

    /// Runs `test` on a new PostgreSQL database named after `tag`.
    async fn on_postgres<F: std::future::Future<Output = ()>>(
        tag: &str,
        test: impl FnOnce(String) -> F,
    ) {
        on_postgres_created(tag, "", test).await;
    }

    /// Runs `test` on a new PostgreSQL database named after `tag`, created
    /// with `options` after its name (an encoding, say).
    async fn on_postgres_created<F: std::future::Future<Output = ()>>(
        tag: &str,
        options: &str,
        test: impl FnOnce(String) -> F,
    ) {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let admin = std::env::var("ROSTER_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let name = format!("roster_migrate_{tag}_{}", std::process::id());
        let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}{options}"))
            .execute(&mut conn)
            .await
            .unwrap();
        let url = match admin.rsplit_once('/') {
            Some((head, _)) => format!("{head}/{name}"),
            None => panic!("the admin URL has no database part"),
        };
        test(url).await;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await
            .unwrap();
    }

    /// A PostgreSQL database that is not UTF-8 is refused with the reason,
    /// and nothing is written to it.
    #[tokio::test]
    async fn a_postgres_database_not_in_utf8_is_refused_untouched() {
        on_postgres_created(
            "ascii",
            " ENCODING 'SQL_ASCII' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'",
            |url| async move {
                use sqlx::Connection;
                let refused = Store::open(&StoreOptions {
                    url: url.clone(),
                    max_connections: 2,
                })
                .await;
                match refused {
                    Err(crate::StoreError::Unavailable(why)) => {
                        assert!(why.contains("SQL_ASCII") && why.contains("UTF8"), "{why}")
                    }
                    Err(e) => panic!("refused for another reason: {e}"),
                    Ok(_) => panic!("a SQL_ASCII database was accepted"),
                }
                let mut db = sqlx::PgConnection::connect(&url).await.unwrap();
                let (tables,): (i64,) = sqlx::query_as(
                    "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'",
                )
                .fetch_one(&mut db)
                .await
                .unwrap();
                assert_eq!(tables, 0, "the refused database was written to");
                db.close().await.unwrap();
            },
        )
        .await;
    }

    #[tokio::test]
    async fn migration_19_moves_org_chain_heads_onto_orgs_on_sqlite() {
        on_sqlite(|url| async move { carried_over(&url).await }).await;
    }

    #[tokio::test]
    async fn migration_19_moves_org_chain_heads_onto_orgs_on_postgres() {
        on_postgres("heads", |url| async move { carried_over(&url).await }).await;
    }

    /// Memberships of a database as the version before 0022 left it, then
    /// migrated: the grams' rows migration 0022 wrote, each with its
    /// neighbours, are those the store writes for the same names
    /// (`members::name_grams_near`), and those `reindex_names_of_org`
    /// writes again.
    async fn grams_carried_over(url: &str) {
        let store = migrated_up_to(url, 21).await;
        let pool = store.pool();
        let (org,): (i64,) = sqlx::query_as(
            "INSERT INTO orgs (slug, name, created_at, updated_at) VALUES ('acme', 'Acme', 0, 0) RETURNING id",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        let names = [
            "stefan sonnet",
            "zoë ännä",
            "aaaaaa",
            "abcabcab",
            "ab",
            "日本語の名前",
            "x",
        ];
        for (i, name) in names.iter().enumerate() {
            let (user,): (i64,) = sqlx::query_as(
                "INSERT INTO users (email, name, name_folded, created_at, updated_at)
                 VALUES ($1, $2, $2, 0, 0) RETURNING id",
            )
            .bind(format!("p{i}@example.test"))
            .bind(*name)
            .fetch_one(pool)
            .await
            .unwrap();
            sqlx::query(
                "INSERT INTO memberships (org_id, user_id, role, team, status, identity_provider,
                     mfa_required, joined_at, updated_at, name_folded, email)
                 SELECT $1, id, 'viewer', '', 'active', 'password', 0, 0, 0, name_folded, email
                 FROM users WHERE id = $2",
            )
            .bind(org)
            .bind(user)
            .execute(pool)
            .await
            .unwrap();
        }
        super::run(&store).await.unwrap();

        let rows = |pool| async move {
            let mut rows: Vec<(String, String, i64)> = sqlx::query_as(
                "SELECT m.name_folded, g.gram, g.near FROM member_name_grams g
                 JOIN memberships m ON m.id = g.membership_id",
            )
            .fetch_all(pool)
            .await
            .unwrap();
            rows.sort();
            rows
        };
        let mut expected: Vec<(String, String, i64)> = names
            .iter()
            .flat_map(|name| {
                crate::members::name_grams_near(name)
                    .into_iter()
                    .map(|(gram, near)| (name.to_string(), gram, near))
            })
            .collect();
        expected.sort();
        assert!(expected.iter().any(|(_, _, near)| *near != 0));
        assert_eq!(rows(pool).await, expected, "as migration 0022 wrote them");
        crate::members::reindex_names_of_org(
            &mut store.conn().await.unwrap(),
            roster_domain::OrgId::new(org),
        )
        .await
        .unwrap();
        assert_eq!(rows(pool).await, expected, "as SQL writes them again");
        store.close().await;
    }

    #[tokio::test]
    async fn migration_22_writes_the_grams_near_each_gram_on_sqlite() {
        on_sqlite(|url| async move { grams_carried_over(&url).await }).await;
    }

    #[tokio::test]
    async fn migration_22_writes_the_grams_near_each_gram_on_postgres() {
        on_postgres("grams", |url| async move { grams_carried_over(&url).await }).await;
    }
}
