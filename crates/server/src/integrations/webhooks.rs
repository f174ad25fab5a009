//! Webhook delivery (SPEC §3a "Webhooks"): an audit event queued in the
//! outbox is POSTed to its endpoint as JSON, signed as the Standard
//! Webhooks specification says (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature: v1,<base64 HMAC-SHA256>` under the endpoint's
//! `whsec_` secret) with the `standardwebhooks` crate. Any 2xx answer
//! delivers it; anything else is retried by the outbox with backoff. The
//! HTTP client connects only through the outbound guard (addresses checked
//! after DNS resolution), follows no redirect, and an error names the
//! status, never the body the endpoint answered.

use crate::app::webhooks::WebhookTarget;
use crate::app::App;
use crate::outbound::{self, Guard};
use roster_store::outbox::Message;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long one delivery may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// How long an endpoint's URL and secret are remembered between
/// deliveries (a deleted endpoint's waiting deliveries are deleted with
/// it; one already claimed may still go out within this time).
const TARGET_TTL: Duration = Duration::from_secs(2);

/// Sends webhook deliveries.
#[derive(Clone)]
pub struct WebhookSender {
    guard: Guard,
    client: reqwest::Client,
    /// Endpoint id → (read at, URL, secret), so a batch of deliveries to
    /// one endpoint reads it once.
    targets: Arc<Mutex<Targets>>,
}

/// Endpoints read recently: id → (read at, URL and secret).
type Targets = HashMap<i64, (Instant, Arc<WebhookTarget>)>;

/// What an endpoint answered to a delivery that got an answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
}

impl WebhookSender {
    pub fn new(guard: Guard) -> WebhookSender {
        WebhookSender {
            guard,
            client: guard.client(TIMEOUT),
            targets: Arc::default(),
        }
    }

    /// Endpoint `id`'s URL and secret, from memory when read within
    /// [`TARGET_TTL`]; `None` when it is gone.
    async fn target(&self, app: &App, id: i64) -> Result<Option<Arc<WebhookTarget>>, String> {
        let now = Instant::now();
        if let Some((at, t)) = self
            .targets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
        {
            if now.duration_since(*at) < TARGET_TTL {
                return Ok(Some(t.clone()));
            }
        }
        let Some(t) = app
            .webhook_delivery_target(id)
            .await
            .map_err(|e| format!("cannot read the endpoint: {e}"))?
        else {
            return Ok(None);
        };
        let t = Arc::new(t);
        let mut cache = self.targets.lock().unwrap_or_else(|e| e.into_inner());
        cache.retain(|_, (at, _)| now.duration_since(*at) < TARGET_TTL);
        cache.insert(id, (now, t.clone()));
        Ok(Some(t))
    }

    /// Signs and POSTs `payload` to `url`. `Ok` carries a 2xx status;
    /// `Err` says why not, without the endpoint's words.
    pub async fn send(
        &self,
        url: &str,
        secret: &str,
        msg_id: &str,
        payload: &str,
    ) -> Result<Answer, String> {
        let url = self.guard.check_url(url).map_err(|e| e.to_string())?;
        let signer = standardwebhooks::Webhook::new(secret)
            .map_err(|_| "the endpoint's secret cannot sign".to_owned())?;
        let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
        let signature = signer
            .sign(msg_id, timestamp, payload.as_bytes())
            .map_err(|_| "the delivery could not be signed".to_owned())?;
        let started = std::time::Instant::now();
        let answer = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(standardwebhooks::HEADER_WEBHOOK_ID, msg_id)
            .header(
                standardwebhooks::HEADER_WEBHOOK_TIMESTAMP,
                timestamp.to_string(),
            )
            .header(standardwebhooks::HEADER_WEBHOOK_SIGNATURE, signature)
            .body(payload.to_owned())
            .send()
            .await;
        metrics::histogram!("roster_webhook_delivery_seconds")
            .record(started.elapsed().as_secs_f64());
        match answer {
            Ok(res) if res.status().is_success() => Ok(Answer {
                status: res.status().as_u16(),
            }),
            Ok(res) => Err(format!(
                "the endpoint answered HTTP {}",
                res.status().as_u16()
            )),
            Err(e) => Err(match outbound::refusal(&e) {
                Some(refused) => refused.to_string(),
                None if e.is_timeout() => "the endpoint did not answer in time".to_owned(),
                None if e.is_connect() => "could not connect to the endpoint".to_owned(),
                None => "the request to the endpoint failed".to_owned(),
            }),
        }
    }
}

/// Delivers one queued webhook message (outbox kind `webhook`).
pub async fn deliver(app: &App, sender: &WebhookSender, m: &Message) -> Result<(), String> {
    let id: i64 = m
        .recipient
        .strip_prefix("webhook:")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| "not a webhook delivery".to_owned())?;
    let age = (app.now().unix_ms() - m.created_at.unix_ms()).max(0) as f64 / 1000.0;
    metrics::histogram!("roster_webhook_queue_age_seconds").record(age);
    let target = sender
        .target(app, id)
        .await?
        .ok_or_else(|| "the endpoint was deleted".to_owned())?;
    let msg_id = format!("msg_{}", m.id);
    match sender
        .send(&target.url, &target.secret, &msg_id, &m.body_text)
        .await
    {
        Ok(_) => {
            metrics::counter!("roster_webhook_deliveries_total").increment(1);
            Ok(())
        }
        Err(e) => {
            metrics::counter!("roster_webhook_failures_total").increment(1);
            Err(e)
        }
    }
}
