//! A real SMTP listener on loopback for the tests: it speaks enough SMTP for
//! lettre (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), keeps what it
//! receives, and can be stopped and started again on the same port.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

/// A message as the listener received it.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: Vec<String>,
    pub data: String,
}

impl Mail {
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or("");
        let prefix = format!("{}:", name.to_lowercase());
        head.split("\r\n")
            .find(|l| l.to_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim().to_owned())
    }

    /// The decoded text/plain part.
    pub fn text(&self) -> String {
        let lower = self.data.to_lowercase();
        let Some(start) = lower.find("content-type: text/plain") else {
            return String::new();
        };
        let part = &self.data[start..];
        let (head, body) = part.split_once("\r\n\r\n").unwrap_or((part, ""));
        let body = body.split("\r\n--").next().unwrap_or("");
        let head = head.to_lowercase();
        if head.contains("quoted-printable") {
            decode_qp(body)
        } else if head.contains("base64") {
            use base64::Engine as _;
            let compact: String = body.split_whitespace().collect();
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .unwrap_or_default(),
            )
            .unwrap_or_default()
        } else {
            body.to_owned()
        }
    }

    pub fn has_html_part(&self) -> bool {
        self.data.to_lowercase().contains("content-type: text/html")
    }

    /// The first URL in the text part.
    pub fn link(&self) -> Option<String> {
        self.text()
            .split_whitespace()
            .find(|w| w.starts_with("http://") || w.starts_with("https://"))
            .map(str::to_owned)
    }
}

fn decode_qp(s: &str) -> String {
    let joined = s.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub struct SmtpSink {
    pub addr: SocketAddr,
    mails: Arc<Mutex<Vec<Mail>>>,
    /// The accept loop and every open session, to abort on stop.
    tasks: Arc<Mutex<Vec<AbortHandle>>>,
    /// How many more messages to take in without ever answering their
    /// final `.`: the sender is left hanging mid-delivery, and the message
    /// counts as delivered only if the sender finishes (it never can).
    stall: Arc<AtomicUsize>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        Self::start_stalling(0).await
    }

    /// A sink that leaves the first `n` deliveries hanging after their data.
    pub async fn start_stalling(n: usize) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sink = SmtpSink {
            addr: listener.local_addr().unwrap(),
            mails: Arc::default(),
            tasks: Arc::default(),
            stall: Arc::new(AtomicUsize::new(n)),
        };
        sink.serve(listener);
        sink
    }

    /// How many deliveries are still to be stalled.
    pub fn stalls_left(&self) -> usize {
        self.stall.load(Ordering::SeqCst)
    }

    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    fn serve(&self, listener: TcpListener) {
        let (mails, tasks, stall) = (self.mails.clone(), self.tasks.clone(), self.stall.clone());
        let accept = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let session = tokio::spawn(session(stream, mails.clone(), stall.clone()));
                tasks.lock().unwrap().push(session.abort_handle());
            }
        });
        self.tasks.lock().unwrap().push(accept.abort_handle());
    }

    /// Stops listening and drops every open connection.
    pub async fn stop(&mut self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
        // Let the aborted tasks drop their sockets.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    /// Listens again on the same port.
    pub async fn restart(&mut self) {
        let listener = TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }

    pub fn mails_to(&self, rcpt: &str) -> Vec<Mail> {
        self.mails()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t == rcpt))
            .collect()
    }

    /// Waits until `rcpt` has received `n` messages (at most 30 s).
    pub async fn wait_for(&self, rcpt: &str, n: usize) -> Vec<Mail> {
        for _ in 0..300 {
            let got = self.mails_to(rcpt);
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!(
            "{rcpt} received {} messages, expected {n}",
            self.mails_to(rcpt).len()
        );
    }
}

async fn session(stream: TcpStream, mails: Arc<Mutex<Vec<Mail>>>, stall: Arc<AtomicUsize>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let _ = write.write_all(b"220 sink.test ESMTP\r\n").await;
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let cmd = line.trim_end().to_uppercase();
        let reply: &[u8] = if cmd.starts_with("EHLO") {
            b"250-sink.test\r\n250 8BITMIME\r\n"
        } else if cmd.starts_with("HELO") || cmd.starts_with("MAIL FROM") || cmd.starts_with("NOOP")
        {
            b"250 OK\r\n"
        } else if cmd.starts_with("RSET") {
            to.clear();
            b"250 OK\r\n"
        } else if let Some(rest) = cmd.strip_prefix("RCPT TO:") {
            to.push(rest.trim().trim_matches(['<', '>']).to_lowercase());
            b"250 OK\r\n"
        } else if cmd == "DATA" {
            let _ = write.write_all(b"354 go ahead\r\n").await;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                if line == ".\r\n" {
                    break;
                }
                data.push_str(&line);
            }
            let stalled = stall
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if stalled {
                // Never answer: wait for the sender to give up or die.
                while lines.read_line(&mut line).await.unwrap_or(0) != 0 {
                    line.clear();
                }
                return;
            }
            mails.lock().unwrap().push(Mail {
                to: std::mem::take(&mut to),
                data,
            });
            b"250 queued\r\n"
        } else if cmd == "QUIT" {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"502 not implemented\r\n"
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}
