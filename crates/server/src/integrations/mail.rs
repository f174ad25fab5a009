//! Email: SMTP through lettre, or the mail log in the data directory when
//! no SMTP server is configured (SPEC §5). It only transports messages
//! the outbox already holds in words (`app::notice`).

use crate::app::time::rfc3339;
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use roster_store::outbox::Message;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// Where messages go.
#[derive(Clone)]
pub enum Mailer {
    /// Appended to a file: the mail log.
    Log(PathBuf),
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
    },
}

impl Mailer {
    /// SMTP from a URL (`smtp://host:port`, `smtp://...?tls=required` for
    /// STARTTLS, `smtps://` for TLS), or the mail log when there is none.
    pub fn new(smtp_url: Option<&str>, from: &str, mail_log: PathBuf) -> anyhow::Result<Mailer> {
        let Some(url) = smtp_url else {
            return Ok(Mailer::Log(mail_log));
        };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| anyhow::anyhow!("smtp_url is not usable: {e}"))?
            .timeout(Some(Duration::from_secs(15)))
            .build();
        let from: Mailbox = from
            .parse()
            .map_err(|e| anyhow::anyhow!("smtp_from {from:?} is not an address: {e}"))?;
        Ok(Mailer::Smtp { transport, from })
    }

    /// Sends one message; the error says why not, for the outbox to retry.
    pub async fn deliver(&self, m: &Message) -> std::result::Result<(), String> {
        match self {
            Mailer::Log(path) => {
                let entry = format!(
                    "----- message {} at {}\nTo: {}\nSubject: {}\nKind: {}\n\n{}\n\n",
                    m.id,
                    rfc3339(m.created_at),
                    m.recipient,
                    m.subject,
                    m.kind,
                    m.body_text
                );
                // The mail log holds live links: its owner reads it, no one
                // else.
                let mut opts = std::fs::OpenOptions::new();
                opts.create(true).append(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    opts.mode(0o600);
                }
                opts.open(path)
                    .and_then(|mut f| f.write_all(entry.as_bytes()))
                    .map_err(|e| format!("writing the mail log: {e}"))
            }
            Mailer::Smtp { transport, from } => {
                let to: Mailbox = m
                    .recipient
                    .parse()
                    .map_err(|e| format!("bad recipient {}: {e}", m.recipient))?;
                let email = lettre::Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(m.subject.as_str())
                    .message_id(Some(format!("<outbox-{}@roster>", m.id)))
                    .multipart(
                        MultiPart::alternative()
                            .singlepart(
                                SinglePart::builder()
                                    .header(ContentType::TEXT_PLAIN)
                                    .body(m.body_text.clone()),
                            )
                            .singlepart(
                                SinglePart::builder()
                                    .header(ContentType::TEXT_HTML)
                                    .body(m.body_html.clone()),
                            ),
                    )
                    .map_err(|e| format!("building the message: {e}"))?;
                transport
                    .send(email)
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("SMTP: {e}"))
            }
        }
    }
}
