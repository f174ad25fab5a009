//! Slack's protocol: the Web API client, the v0 request signature, the
//! forms and payloads Slack posts to Roster, the words of Roster's
//! replies, and the Block Kit of what Roster posts. It turns Slack's
//! requests into the typed commands of `app::slack` and renders the
//! [`SlackPost`]s the use cases queue.

use crate::app::slack::{
    parse_api_base, ReviewClick, SlackCommand, SlackOutcome, SlackPost, SlackSettings,
};
use crate::app::{App, AppError, OrgAccess, RequestMeta};
use crate::crypto::Keys;
use crate::outbound::{self, Guard, Refused};
use roster_domain::{Timestamp, UserId};
use roster_store::outbox::Message;
use roster_store::slack::Connection;
use serde_json::{json, Value};
use std::time::Duration;

/// How far a request's timestamp may be from now.
const MAX_SKEW_SECS: i64 = 5 * 60;

/// Slack's Web API over HTTPS, called only where the outbound guard
/// allows: an org admin names the API base URL, so loopback, private and
/// link-local addresses are refused (when the URL is saved and again after
/// DNS resolution on every call) unless the operator allows them
/// (`ROSTER_OUTBOUND_ALLOW_PRIVATE`).
#[derive(Clone)]
pub struct SlackApi {
    guard: Guard,
    http: reqwest::Client,
}

impl Default for SlackApi {
    fn default() -> Self {
        SlackApi::new(Guard::default())
    }
}

/// Why a Web API call failed, in words that never carry what the other
/// end answered (its body, its error text), so that the answer cannot be
/// used to probe what listens at an address.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("{0}")]
    Refused(#[from] Refused),
    #[error("Slack did not accept the call")]
    Failed,
}

/// What Slack's `users.info` says of a user.
pub struct Profile {
    pub email: Option<String>,
    pub name: Option<String>,
}

impl SlackApi {
    pub fn new(guard: Guard) -> SlackApi {
        SlackApi {
            guard,
            http: guard.client(Duration::from_secs(10)),
        }
    }

    /// Checks an API base URL an administrator names: http(s), and not an
    /// internal address unless the operator allows it.
    pub async fn check_base(&self, base: &str) -> Result<(), Refused> {
        self.guard.check_url_resolved(base).await.map(|_| ())
    }

    /// Calls a Web API method; Slack answers `{"ok": false, "error": ..}`
    /// on failure. What went wrong is logged here; the error says only
    /// that the call failed (or that the guard refused the address).
    async fn call(
        &self,
        base: &str,
        token: &str,
        method: &str,
        body: Option<&Value>,
        query: &[(&str, &str)],
    ) -> Result<Value, CallError> {
        let url = format!("{}/{method}", base.trim_end_matches('/'));
        let url = self.guard.check_url(&url)?;
        let req = match body {
            Some(b) => self.http.post(url).json(b),
            None => self.http.get(url).query(query),
        };
        let sent = req.bearer_auth(token).send().await;
        let res = match sent {
            Ok(r) if r.status().is_success() => r,
            Ok(r) => {
                tracing::warn!(
                    method,
                    status = r.status().as_u16(),
                    "a Slack call was refused"
                );
                return Err(CallError::Failed);
            }
            Err(e) => {
                if let Some(refused) = outbound::refusal(&e) {
                    return Err(CallError::Refused(refused));
                }
                tracing::warn!(
                    method,
                    timeout = e.is_timeout(),
                    connect = e.is_connect(),
                    "a Slack call failed"
                );
                return Err(CallError::Failed);
            }
        };
        let res: Value = res.json().await.map_err(|_| {
            tracing::warn!(method, "Slack answered something other than JSON");
            CallError::Failed
        })?;
        if res["ok"] != Value::Bool(true) {
            tracing::warn!(method, "Slack answered ok: false");
            return Err(CallError::Failed);
        }
        Ok(res)
    }

    /// `auth.test`: the workspace a bot token belongs to.
    pub async fn workspace_of(&self, base: &str, token: &str) -> Result<String, CallError> {
        let who = self
            .call(base, token, "auth.test", Some(&json!({})), &[])
            .await?;
        Ok(who["team_id"].as_str().unwrap_or_default().to_owned())
    }

    /// `users.info`: a user's email and best name.
    pub async fn profile(&self, base: &str, token: &str, user: &str) -> Result<Profile, CallError> {
        let info = self
            .call(base, token, "users.info", None, &[("user", user)])
            .await?;
        let profile = &info["user"]["profile"];
        let name = [
            &profile["real_name"],
            &info["user"]["real_name"],
            &info["user"]["name"],
        ]
        .iter()
        .find_map(|v| v.as_str().filter(|s| !s.trim().is_empty()))
        .map(str::to_owned);
        Ok(Profile {
            email: profile["email"].as_str().map(str::to_owned),
            name,
        })
    }
}

/// A connection as an administrator asks for it.
pub struct ConnectRequest {
    pub signing_secret: String,
    pub bot_token: String,
    pub channel: String,
    pub api_base_url: Option<String>,
}

fn invalid(field: &'static str, message: impl Into<String>) -> AppError {
    crate::app::orgs::invalid(field, message)
}

/// Connects the org to the workspace of the bot token, which Slack's
/// `auth.test` names (and so checks).
pub async fn connect(
    app: &App,
    api: &SlackApi,
    access: &OrgAccess,
    req: ConnectRequest,
    meta: &RequestMeta,
) -> Result<Connection, AppError> {
    access.require(roster_domain::ManagementPermission::IntegrationsManage)?;
    for (field, v) in [
        ("signing_secret", &req.signing_secret),
        ("bot_token", &req.bot_token),
        ("channel", &req.channel),
    ] {
        if v.trim().is_empty() || v.len() > 500 {
            return Err(invalid(field, format!("{field} is required")));
        }
    }
    let base = parse_api_base(req.api_base_url.as_deref())?;
    api.check_base(&base)
        .await
        .map_err(|e| invalid("api_base_url", e.to_string()))?;
    let team_id = api
        .workspace_of(&base, req.bot_token.trim())
        .await
        .map_err(|e| match e {
            CallError::Refused(r) => invalid("api_base_url", r.to_string()),
            CallError::Failed => invalid(
                "bot_token",
                "Slack did not confirm the bot token: check the token and the API base URL",
            ),
        })?;
    if team_id.is_empty() {
        return Err(invalid(
            "bot_token",
            "Slack did not name the workspace of this token",
        ));
    }
    let settings = SlackSettings {
        team_id,
        signing_secret: req.signing_secret,
        bot_token: req.bot_token,
        channel: req.channel,
        api_base_url: base,
    };
    app.connect_slack(access, settings, meta).await
}

/// Checks Slack's v0 signature of a request body: `v0=` and the hex
/// HMAC-SHA256 of `v0:{timestamp}:{body}` under the signing secret, with the
/// timestamp within five minutes of `now`.
pub fn signature_holds(
    secret: &str,
    timestamp: &str,
    body: &[u8],
    signature: &str,
    now: Timestamp,
) -> bool {
    let Ok(ts) = timestamp.parse::<i64>() else {
        return false;
    };
    if (now.unix_ms() / 1000 - ts).abs() > MAX_SKEW_SECS {
        return false;
    }
    let mut base = format!("v0:{ts}:").into_bytes();
    base.extend_from_slice(body);
    let hex = signature.strip_prefix("v0=").unwrap_or("");
    Keys::verify_hmac_hex(secret.as_bytes(), &base, hex)
}

/// A signed request from Slack: the workspace's connection once the
/// signature holds. Unsigned, stale, tampered or unknown-workspace
/// requests are refused.
pub async fn verified(
    app: &App,
    team_id: &str,
    timestamp: &str,
    signature: &str,
    body: &[u8],
) -> Result<Connection, AppError> {
    let Some((conn, secret)) = app.slack_workspace(team_id).await? else {
        tracing::warn!(team_id, "refused a Slack request from an unknown workspace");
        return Err(AppError::Unauthenticated);
    };
    if !signature_holds(&secret, timestamp, body, signature, app.now()) {
        tracing::warn!(
            team_id,
            "refused a Slack request with a bad or stale signature"
        );
        return Err(AppError::Unauthenticated);
    }
    Ok(conn)
}

/// A slash command's form fields.
pub struct SlashForm {
    pub team_id: String,
    pub user_id: String,
    pub command: String,
    pub text: String,
    pub trigger_id: String,
}

/// Reads a form-encoded body.
pub fn form(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// A field of a form, if present.
pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

impl SlashForm {
    pub fn parse(fields: &[(String, String)]) -> SlashForm {
        let get = |name: &str, default: &str| field(fields, name).unwrap_or(default).to_owned();
        SlashForm {
            team_id: get("team_id", ""),
            user_id: get("user_id", ""),
            command: get("command", "/roster"),
            text: get("text", ""),
            trigger_id: get("trigger_id", ""),
        }
    }
}

/// Handles a verified slash command and words its outcome.
pub async fn command(
    app: &App,
    api: &SlackApi,
    conn: &Connection,
    form: SlashForm,
    meta: &RequestMeta,
) -> Result<String, AppError> {
    let cmd = match form.text.split_whitespace().next().unwrap_or("help") {
        "register" => {
            let target = app
                .slack_target(conn.org_id)
                .await?
                .ok_or(AppError::NotFound("Slack connection"))?;
            let profile = api
                .profile(&target.api_base_url, &target.bot_token, &form.user_id)
                .await
                .map_err(|e| AppError::Internal(anyhow::anyhow!("Slack users.info: {e}")))?;
            SlackCommand::Register {
                slack_user: form.user_id.clone(),
                email: profile.email,
                name: profile.name,
            }
        }
        "link" => SlackCommand::Link {
            slack_user: form.user_id.clone(),
        },
        _ => SlackCommand::Help,
    };
    let outcome = app.slack_command(conn, &form.trigger_id, cmd, meta).await?;
    Ok(words(&outcome, &form.command))
}

/// Reads a click on a review card from an interaction payload.
pub fn click(payload: &Value) -> Result<ReviewClick, AppError> {
    let action = &payload["actions"][0];
    let key = format!(
        "{}:{}",
        payload["trigger_id"].as_str().unwrap_or(""),
        action["action_ts"].as_str().unwrap_or("")
    );
    let target = action["value"]
        .as_str()
        .and_then(|v| v.parse().ok())
        .map(UserId::new)
        .ok_or_else(|| invalid("value", "not a review card"))?;
    let approve = match action["action_id"].as_str() {
        Some("roster_approve") => true,
        Some("roster_reject") => false,
        _ => return Err(invalid("action_id", "unknown action")),
    };
    Ok(ReviewClick {
        key,
        clicker: payload["user"]["id"].as_str().unwrap_or("").to_owned(),
        target,
        approve,
        channel: payload["channel"]["id"].as_str().map(str::to_owned),
        message_ts: payload["message"]["ts"].as_str().unwrap_or("").to_owned(),
    })
}

/// What Roster answers in Slack, in words.
pub fn words(outcome: &SlackOutcome, command: &str) -> String {
    match outcome {
        SlackOutcome::AlreadyHandled => "Already handled.".into(),
        SlackOutcome::Registered { name, org_name } => format!(
            "Thanks {name}: your request to join {org_name} is waiting for an administrator's approval."
        ),
        SlackOutcome::AlreadyMember { org_name, status } => {
            format!("You are already in {org_name} ({status}).")
        }
        SlackOutcome::LinkCode { code, org_slug } => format!(
            "To link this Slack account to your Roster account, run within 10 minutes, signed in:\n`roster slack link {code} --org {org_slug}`"
        ),
        SlackOutcome::Help { org_name } => format!(
            "{command} register: ask to join {org_name} (an administrator approves)\n{command} link: link this Slack account to your Roster account\n{command} help: this message"
        ),
        SlackOutcome::Decided { approved: true } => "Request approved.".into(),
        SlackOutcome::Decided { approved: false } => "Request rejected.".into(),
    }
}

/// A post as Block Kit, with the Web API method that sends it.
pub fn blocks(post: &SlackPost) -> (&'static str, Value) {
    match post {
        SlackPost::ReviewCard {
            channel,
            user_id,
            email,
            name,
            org_name,
            at,
        } => (
            "chat.postMessage",
            json!({
                "channel": channel,
                "text": format!("{name} ({email}) asked to join {org_name}"),
                "blocks": [
                    {"type": "section", "text": {"type": "mrkdwn",
                        "text": format!("*{name}* ({email}) asked to join *{org_name}* at {at}")}},
                    {"type": "actions", "block_id": format!("roster_review_{user_id}"), "elements": [
                        {"type": "button", "action_id": "roster_approve", "style": "primary", "value": user_id.to_string(),
                         "text": {"type": "plain_text", "text": "Approve"}},
                        {"type": "button", "action_id": "roster_reject", "style": "danger", "value": user_id.to_string(),
                         "text": {"type": "plain_text", "text": "Reject"}}
                    ]}
                ]
            }),
        ),
        SlackPost::Decision {
            channel,
            ts,
            name,
            email,
            role,
            by,
        } => {
            let outcome = match role {
                Some(role) => format!("*{name}* ({email}) was approved as {role} by {by}"),
                None => format!("*{name}* ({email}) was rejected by {by}"),
            };
            (
                "chat.update",
                json!({
                    "channel": channel, "ts": ts, "text": outcome.replace('*', ""),
                    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": outcome}}]
                }),
            )
        }
    }
}

/// Delivers a queued post to the org's workspace.
pub async fn deliver(app: &App, api: &SlackApi, m: &Message) -> Result<(), String> {
    let org_id = m.org_id.ok_or("a Slack message needs an org")?;
    let target = app
        .slack_target(org_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the org has no Slack connection")?;
    let post: SlackPost = serde_json::from_str(&m.body_text).map_err(|e| e.to_string())?;
    let (method, payload) = blocks(&post);
    api.call(
        &target.api_base_url,
        &target.bot_token,
        method,
        Some(&payload),
        &[],
    )
    .await
    .map(|_| ())
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    fn sign(secret: &str, ts: i64, body: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("v0:{ts}:{body}").as_bytes());
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("v0={hex}")
    }

    #[test]
    fn signatures_hold_only_for_the_secret_the_body_and_the_time() {
        let now = Timestamp::from_unix_ms(1_700_000_000_000);
        let ts = 1_700_000_000;
        let sig = sign("s3cret", ts, "a=1");
        assert!(signature_holds(
            "s3cret",
            &ts.to_string(),
            b"a=1",
            &sig,
            now
        ));
        assert!(!signature_holds(
            "other",
            &ts.to_string(),
            b"a=1",
            &sig,
            now
        ));
        assert!(!signature_holds(
            "s3cret",
            &ts.to_string(),
            b"a=2",
            &sig,
            now
        ));
        let late = now.plus(Duration::from_secs(301));
        assert!(!signature_holds(
            "s3cret",
            &ts.to_string(),
            b"a=1",
            &sig,
            late
        ));
        assert!(!signature_holds("s3cret", "soon", b"a=1", &sig, now));
    }

    #[test]
    fn a_click_names_its_target_and_decision() {
        let payload = json!({
            "trigger_id": "t1",
            "user": {"id": "U1"},
            "channel": {"id": "C1"},
            "message": {"ts": "123.4"},
            "actions": [{"action_id": "roster_reject", "value": "42", "action_ts": "9"}]
        });
        let c = click(&payload).unwrap();
        assert_eq!(
            (c.target, c.approve, c.clicker.as_str(), c.key.as_str()),
            (UserId::new(42), false, "U1", "t1:9")
        );
        let bad = json!({"actions": [{"action_id": "roster_explode", "value": "42"}]});
        assert!(click(&bad).is_err());
    }
}
