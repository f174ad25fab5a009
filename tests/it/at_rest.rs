//! Secrets at rest (SPEC §2): live links in the outbox are sealed with the
//! server key and dropped once delivered; the data directory, the database,
//! the key and the mail log are readable by the server's user only.

use crate::both_engines;
use crate::helpers::*;
use roster_proto::CreateInvitationsRequest;
use std::time::{Duration, Instant};

both_engines!(
    a_waiting_message_keeps_its_link_sealed,
    a_delivered_message_keeps_no_body
);

/// The token of an invitation link (its last path segment).
fn token_of(link: &str) -> String {
    link.rsplit('/').next().unwrap().to_owned()
}

async fn invite(app: &TestApp, email: &str) -> String {
    let owner = app.owner().await;
    let res = owner
        .create_invitations(
            ORG,
            &CreateInvitationsRequest {
                emails: Some(email.into()),
                role: Some("viewer".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    token_of(res.results[0].link.as_deref().unwrap())
}

/// The outbox rows to `email` exactly as the database stores them.
async fn stored(app: &TestApp, email: &str) -> Vec<roster_store::outbox::Message> {
    let mut conn = app.app.store().conn().await.unwrap();
    roster_store::outbox::for_recipient(&mut conn, email)
        .await
        .unwrap()
}

/// A mail server that refuses connections keeps the invitation waiting:
/// the stored row names no token, and the worker still gets the link.
async fn a_waiting_message_keeps_its_link_sealed(engine: Engine) {
    let app = spawn_with(
        engine,
        Spawn {
            bootstrap: true,
            // Nothing listens on port 1: every attempt fails and is retried.
            smtp_url: Some("smtp://127.0.0.1:1".into()),
        },
    )
    .await;
    let token = invite(&app, "pat@x.test").await;
    let rows = stored(&app, "pat@x.test").await;
    let row = rows
        .iter()
        .find(|m| m.kind == "invitation")
        .expect("queued");
    assert!(
        row.body_text.starts_with("sealed:v1:") && row.body_html.starts_with("sealed:v1:"),
        "stored as {:?}",
        &row.body_text[..row.body_text.len().min(40)]
    );
    for body in [&row.body_text, &row.body_html] {
        assert!(
            !body.contains(&token),
            "the link's token is stored in the clear"
        );
    }
    // Unsealed with the server key, the words are there to deliver.
    let opened = app.app.outbox_to("pat@x.test").await.unwrap();
    let opened = opened.iter().find(|m| m.id == row.id).unwrap();
    assert!(opened.body_text.contains(&token), "{}", opened.body_text);
    assert!(opened.body_html.contains(&token));
}

/// Once the mail log (the courier without SMTP) took the message, the
/// database keeps its envelope (who, what kind, when) and no body.
async fn a_delivered_message_keeps_no_body(engine: Engine) {
    let app = spawn_app(engine).await;
    let token = invite(&app, "sam@x.test").await;
    let log = app.data_dir.join("mail.log");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&log).is_ok_and(|l| l.contains(&token)) {
        assert!(
            Instant::now() < deadline,
            "the invitation was never delivered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Delivery writes the log, then marks the row sent: wait for that too.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let rows = stored(&app, "sam@x.test").await;
        let row = rows.iter().find(|m| m.kind == "invitation").unwrap();
        if row.body_text.is_empty() && row.body_html.is_empty() {
            break;
        }
        assert!(
            !row.body_text.contains(&token),
            "the link's token is stored in the clear"
        );
        assert!(Instant::now() < deadline, "the delivered body was kept");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// The real binary, started on a data directory that does not exist yet
/// and a database file a careless copy left world-readable: the directory
/// is made 0700, and the database (with its WAL and shared-memory files),
/// the key and the mail log are 0600.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_directory_and_its_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    // A world-readable database left by an earlier copy is tightened.
    let parent = tempfile::tempdir().unwrap();
    let loose = parent.path().join("loose");
    std::fs::create_dir(&loose).unwrap();
    std::fs::write(loose.join("roster.db"), b"").unwrap();
    std::fs::set_permissions(
        loose.join("roster.db"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let server = serve_in(&loose, &[]);
    assert_eq!(mode(&loose.join("roster.db")), 0o600);
    drop(server);

    let server = serve();
    let dir = server.data_dir();
    let api = login_to(&server.url, "boss@dundermifflin.com", "boss-password-1").await;
    let res = api
        .create_invitations(
            "dunder",
            &CreateInvitationsRequest {
                emails: Some("jim@dundermifflin.com".into()),
                role: Some("viewer".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let token = token_of(res.results[0].link.as_deref().unwrap());
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(server.mail_log()).is_ok_and(|l| l.contains(&token)) {
        assert!(
            Instant::now() < deadline,
            "the invitation was never delivered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(mode(&dir), 0o700, "the data directory");
    for file in [
        "roster.db",
        "roster.db-wal",
        "roster.db-shm",
        "secret.key",
        "mail.log",
    ] {
        assert_eq!(mode(&dir.join(file)), 0o600, "{file}");
    }
}
