//! Notifications: messages are queued in the outbox inside the transaction
//! of the change that causes them, and a background worker delivers them.
//!
//! Delivery here writes each message to the mail log in the data directory
//! (SPEC §5: without SMTP, nothing is lost and a developer can read it).

use super::error::Result;
use super::time::{now_ms, rfc3339};
use super::App;
use roster_store::outbox::{self, NewMessage};
use roster_store::Conn;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// Queues a plain-text message (an HTML part is derived from it).
pub(crate) async fn queue(
    conn: &mut Conn,
    org_id: Option<i64>,
    kind: &str,
    recipient: &str,
    subject: &str,
    text: &str,
) -> Result<()> {
    let html = format!(
        "<!doctype html><html><body>{}</body></html>",
        text.split("\n\n")
            .map(|p| format!("<p>{}</p>", html_escape(p).replace('\n', "<br>")))
            .collect::<String>()
    );
    outbox::enqueue(
        conn,
        &NewMessage {
            org_id,
            kind,
            recipient,
            subject,
            body_text: text,
            body_html: &html,
            now: now_ms(),
        },
    )
    .await?;
    Ok(())
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl App {
    /// Delivers due messages to the mail log until `shutdown` fires.
    pub async fn run_outbox_worker(
        self,
        mail_log: PathBuf,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            if let Err(e) = self.deliver_due(&mail_log).await {
                tracing::warn!(error = %e, "outbox delivery failed; will retry");
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    async fn deliver_due(&self, mail_log: &PathBuf) -> Result<()> {
        let mut conn = self.store().conn().await?;
        let due = outbox::due(&mut conn, now_ms(), 100).await?;
        for m in due {
            let entry = format!(
                "----- message {} at {}\nTo: {}\nSubject: {}\nKind: {}\n\n{}\n\n",
                m.id,
                rfc3339(m.created_at),
                m.recipient,
                m.subject,
                m.kind,
                m.body_text
            );
            let written = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(mail_log)
                .and_then(|mut f| f.write_all(entry.as_bytes()));
            match written {
                Ok(()) => outbox::mark_sent(&mut conn, m.id, now_ms()).await?,
                Err(e) => {
                    let backoff = 1000 * 2i64.pow(m.attempts.clamp(0, 10) as u32);
                    outbox::mark_failed(&mut conn, m.id, &e.to_string(), now_ms() + backoff)
                        .await?;
                }
            }
        }
        Ok(())
    }
}
