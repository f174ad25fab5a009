//! Notifications that are never lost: messages are queued in the outbox
//! inside the transaction of the change that causes them, and a background
//! worker hands them to a [`Courier`] (the integrations: SMTP or the mail
//! log in the data directory, SPEC §5; Slack). A message is marked sent only after the
//! mail server accepted it; failures are retried with exponential backoff
//! and, after [`MAX_ATTEMPTS`], given up and left listed as undelivered.

use super::error::Result;
use super::notice::{Notice, Rendered};
use super::App;
use crate::crypto::Keys;
use roster_domain::{OrgId, Timestamp};
use roster_store::outbox::{self, Message, NewMessage};
use roster_store::Conn;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Attempts before a message is given up.
pub const MAX_ATTEMPTS: i64 = 12;
/// Messages one worker claims at a time (and webhook deliveries it makes
/// at once).
const BATCH: i64 = 64;
/// Longest wait between two attempts.
const MAX_BACKOFF_MS: i64 = 15 * 60 * 1000;

/// What a stored body starts with once sealed with the server key. Bodies
/// without it were queued before bodies were sealed.
const SEALED: &str = "sealed:v1:";

/// Queues a message with its bodies sealed with the server key (SPEC §2:
/// invitation, password, sign-in and confirmation links are secrets; a
/// copy of the database must not hand them out). The worker unseals them
/// just before delivery, and delivery drops them.
pub(crate) async fn enqueue(conn: &mut Conn, keys: &Keys, m: &NewMessage<'_>) -> Result<i64> {
    let text = seal(keys, m.body_text)?;
    let html = seal(keys, m.body_html)?;
    Ok(outbox::enqueue(
        conn,
        &NewMessage {
            body_text: &text,
            body_html: &html,
            ..*m
        },
    )
    .await?)
}

fn seal(keys: &Keys, body: &str) -> Result<String> {
    if body.is_empty() {
        return Ok(String::new());
    }
    Ok(format!("{SEALED}{}", keys.encrypt(body)?))
}

fn unseal(keys: &Keys, stored: &str) -> std::result::Result<String, String> {
    match stored.strip_prefix(SEALED) {
        Some(sealed) => keys.decrypt(sealed).map_err(|e| e.to_string()),
        None => Ok(stored.to_owned()),
    }
}

/// Unseals the message's bodies in place.
fn unseal_bodies(keys: &Keys, m: &mut Message) -> std::result::Result<(), String> {
    m.body_text = unseal(keys, &m.body_text)?;
    m.body_html = unseal(keys, &m.body_html)?;
    Ok(())
}

/// Queues a notice for `recipient`, in words (an HTML part is derived from
/// the plain text).
pub(crate) async fn queue(
    conn: &mut Conn,
    keys: &Keys,
    now: Timestamp,
    org_id: Option<OrgId>,
    recipient: &str,
    notice: &Notice,
) -> Result<()> {
    let Rendered { subject, text } = notice.render()?;
    let text = text.as_str();
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif\">{}</body></html>",
        text.split("\n\n")
            .map(|p| format!("<p>{}</p>", linkify(&html_escape(p)).replace('\n', "<br>")))
            .collect::<String>()
    );
    enqueue(
        conn,
        keys,
        &NewMessage {
            org_id,
            kind: notice.kind(),
            recipient,
            subject: &subject,
            body_text: text,
            body_html: &html,
            now,
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

/// Turns http(s) URLs of escaped text into links.
fn linkify(escaped: &str) -> String {
    escaped
        .split(' ')
        .map(|w| {
            if w.starts_with("http://") || w.starts_with("https://") {
                format!("<a href=\"{w}\">{w}</a>")
            } else {
                w.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Delivery counters for `/metrics`.
#[derive(Default)]
pub struct OutboxMetrics {
    pub sent: AtomicU64,
    pub failed_attempts: AtomicU64,
    pub given_up: AtomicU64,
}

/// The wait before attempt `attempts + 1`: 1 s, 2 s, 4 s ... up to 15 min.
pub fn backoff_ms(attempts: i64) -> i64 {
    (1000i64 << attempts.clamp(0, 20)).min(MAX_BACKOFF_MS)
}

/// What delivers a claimed message (mail, Slack): the integrations, so
/// that the outbox knows no protocol. An error says why it failed, and the
/// message is tried again later.
pub trait Courier: Send + Sync {
    fn deliver(
        &self,
        m: &Message,
    ) -> impl std::future::Future<Output = std::result::Result<(), String>> + Send;
}

impl App {
    /// Delivers due messages until `shutdown` fires.
    pub async fn run_outbox_worker(
        self,
        courier: impl Courier,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            let claimed = match self.deliver_due(&courier, &shutdown).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "outbox pass failed; will retry");
                    0
                }
            };
            if *shutdown.borrow() {
                break;
            }
            // A full batch: there may be more due right away.
            if claimed >= BATCH as usize {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                _ = shutdown.changed() => break,
            }
        }
    }

    /// Gives back this process's claims on undelivered messages (at
    /// shutdown), so they are sent at once by another worker rather than
    /// after the lease.
    pub async fn release_outbox_claims(&self) -> Result<u64> {
        let mut conn = self.store().conn().await?;
        Ok(outbox::release_claims(&mut conn, &self.inner.worker_id).await?)
    }

    /// One pass: claims up to a batch of due messages, oldest first, and
    /// delivers them: webhook deliveries concurrently (their receivers
    /// order events by `seq`), the others one at a time in order. Returns
    /// how many it claimed. Once `stop` is set it starts no further mail
    /// or Slack delivery: the one in flight finishes (or times out), the
    /// rest stay claimed until the worker releases them.
    pub async fn deliver_due(
        &self,
        courier: &impl Courier,
        stop: &tokio::sync::watch::Receiver<bool>,
    ) -> Result<usize> {
        use futures::stream::{FuturesUnordered, StreamExt};
        let now = self.now();
        let due = {
            let mut conn = self.store().write_conn().await?;
            outbox::claim_due(
                &mut conn,
                &self.inner.worker_id,
                now,
                now.plus(self.settings().outbox_lease),
                BATCH,
            )
            .await?
        };
        let claimed = due.len();
        let mut opened = Vec::with_capacity(claimed);
        for mut m in due {
            match unseal_bodies(self.keys(), &mut m) {
                Ok(()) => opened.push(m),
                // Sealed with another key, or tampered with: it cannot be
                // sent, and is retried (and given up) like any failure.
                Err(error) => self.settle(&m, Err(error)).await?,
            }
        }
        let due = opened;
        let (concurrent, serial): (Vec<Message>, Vec<Message>) = due
            .into_iter()
            .partition(|m| m.kind == roster_store::webhooks::KIND);
        let one_by_one = async {
            for m in &serial {
                if *stop.borrow() {
                    break;
                }
                let result = courier.deliver(m).await;
                self.settle(m, result).await?;
            }
            Ok::<(), super::AppError>(())
        };
        let at_once = async {
            let pending = FuturesUnordered::new();
            for m in &concurrent {
                pending.push(async move { (m, courier.deliver(m).await) });
            }
            let results: Vec<(&Message, std::result::Result<(), String>)> = pending.collect().await;
            let sent: Vec<i64> = results
                .iter()
                .filter(|(_, r)| r.is_ok())
                .map(|(m, _)| m.id)
                .collect();
            if !sent.is_empty() {
                let mut conn = self.store().write_conn().await?;
                outbox::mark_sent_all(&mut conn, &sent, self.now()).await?;
                self.inner
                    .outbox_metrics
                    .sent
                    .fetch_add(sent.len() as u64, Ordering::Relaxed);
            }
            for (m, r) in results {
                if r.is_err() {
                    self.settle(m, r).await?;
                }
            }
            Ok::<(), super::AppError>(())
        };
        let (a, b) = tokio::join!(one_by_one, at_once);
        a?;
        b?;
        Ok(claimed)
    }

    /// Records the outcome of one delivery: sent, or failed and retried
    /// with backoff (given up after [`MAX_ATTEMPTS`]).
    async fn settle(&self, m: &Message, result: std::result::Result<(), String>) -> Result<()> {
        let mut conn = self.store().write_conn().await?;
        let metrics = &self.inner.outbox_metrics;
        match result {
            Ok(()) => {
                outbox::mark_sent(&mut conn, m.id, self.now()).await?;
                metrics.sent.fetch_add(1, Ordering::Relaxed);
            }
            Err(error) => {
                metrics.failed_attempts.fetch_add(1, Ordering::Relaxed);
                let attempts = m.attempts + 1;
                let retry_at = (attempts < MAX_ATTEMPTS).then(|| {
                    self.now()
                        .plus(Duration::from_millis(backoff_ms(m.attempts).unsigned_abs()))
                });
                if retry_at.is_none() {
                    metrics.given_up.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(message = m.id, kind = %m.kind, attempts, %error, "gave up delivering a message");
                } else {
                    tracing::warn!(message = m.id, kind = %m.kind, attempts, %error, "message delivery failed; will retry");
                }
                outbox::mark_failed(&mut conn, m.id, &error, self.now(), retry_at).await?;
            }
        }
        Ok(())
    }

    /// Every message queued for `recipient`, newest first, with its bodies
    /// unsealed (a delivered message has none left). For tests and for
    /// reading what is waiting.
    pub async fn outbox_to(&self, recipient: &str) -> Result<Vec<Message>> {
        let mut conn = self.store().conn().await?;
        let mut mail = outbox::for_recipient(&mut conn, recipient).await?;
        for m in &mut mail {
            unseal_bodies(self.keys(), m).map_err(anyhow::Error::msg)?;
        }
        Ok(mail)
    }

    /// The org's undelivered messages. Needs `integrations:manage`.
    pub async fn undelivered(&self, access: &super::OrgAccess) -> Result<Vec<outbox::Undelivered>> {
        access.require(roster_domain::ManagementPermission::IntegrationsManage)?;
        let mut conn = self.store().conn().await?;
        Ok(outbox::undelivered(&mut conn, access.org.id, 200).await?)
    }

    pub fn outbox_metrics(&self) -> &OutboxMetrics {
        &self.inner.outbox_metrics
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_ceiling() {
        assert_eq!(backoff_ms(0), 1000);
        assert_eq!(backoff_ms(3), 8000);
        assert_eq!(backoff_ms(30), MAX_BACKOFF_MS);
    }

    #[test]
    fn html_part_escapes_and_links() {
        let html = linkify(&html_escape("go to https://x.test/invite/abc <now>"));
        assert!(html.contains("<a href=\"https://x.test/invite/abc\">"));
        assert!(html.contains("&lt;now&gt;"));
    }
}
