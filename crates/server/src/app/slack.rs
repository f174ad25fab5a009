//! Slack (SPEC §3.3): an org connects a workspace; people register with
//! `/roster register`, link themselves with `/roster link`, and approvers
//! decide from a review card. Every request from Slack is verified (v0
//! signature, timestamp within five minutes, constant-time comparison) and
//! handled at most once. Calls to Slack go through the outbox.

use super::auth::create_account;
use super::caller::{Actor, Caller, Credential};
use super::change::Change;
use super::error::{Result, StoreResultExt};
use super::orgs::{invalid, OrgAccess};
use super::time::rfc3339;
use super::{App, AppError, Channel, RequestMeta};
use crate::crypto::{self, Keys};
use roster_domain::{Conflict, DisplayName, Email, ManagementPermission, OrgId, Timestamp, UserId};
use roster_store::orgs::Org;
use roster_store::slack::{self, Connection};
use roster_store::{members, orgs, outbox, users, Conn};
use serde_json::{json, Value};
use std::time::Duration;

/// Slack's own API, unless an org names another (tests, proxies).
pub const DEFAULT_API_BASE: &str = "https://slack.com/api";
/// How far a request's timestamp may be from now.
const MAX_SKEW_SECS: i64 = 5 * 60;
const LINK_CODE_TTL: Duration = Duration::from_secs(10 * 60);

/// A connection as received from an administrator.
pub struct SlackSettings {
    pub signing_secret: String,
    pub bot_token: String,
    pub channel: String,
    pub api_base_url: Option<String>,
}

/// A slash command, as Slack posts it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct SlashCommand {
    pub team_id: String,
    pub user_id: String,
    #[serde(default)]
    pub command: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub trigger_id: String,
}

fn slack_meta(meta: &RequestMeta) -> RequestMeta {
    RequestMeta {
        channel: Channel::Slack,
        ..meta.clone()
    }
}

fn bad_signature() -> AppError {
    AppError::Unauthenticated
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default()
}

/// Calls a Slack Web API method; Slack answers `{"ok": false, "error": ..}`
/// on failure.
async fn call(
    base: &str,
    token: &str,
    method: &str,
    body: Option<&Value>,
    query: &[(&str, &str)],
) -> anyhow::Result<Value> {
    let url = format!("{}/{method}", base.trim_end_matches('/'));
    let req = match body {
        Some(b) => http().post(url).json(b),
        None => http().get(url).query(query),
    };
    let res: Value = req
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    if res["ok"] != Value::Bool(true) {
        anyhow::bail!(
            "Slack {method} failed: {}",
            res["error"].as_str().unwrap_or("unknown error")
        );
    }
    Ok(res)
}

/// The review card for a sign-up, as a `chat.postMessage` payload.
pub fn review_card(
    channel: &str,
    org: &Org,
    user_id: UserId,
    email: &str,
    name: &str,
    at: Timestamp,
) -> Value {
    json!({
        "channel": channel,
        "text": format!("{name} ({email}) asked to join {}", org.name),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn",
                "text": format!("*{name}* ({email}) asked to join *{}* at {}", org.name, rfc3339(at))}},
            {"type": "actions", "block_id": format!("roster_review_{user_id}"), "elements": [
                {"type": "button", "action_id": "roster_approve", "style": "primary", "value": user_id.to_string(),
                 "text": {"type": "plain_text", "text": "Approve"}},
                {"type": "button", "action_id": "roster_reject", "style": "danger", "value": user_id.to_string(),
                 "text": {"type": "plain_text", "text": "Reject"}}
            ]}
        ]
    })
}

impl App {
    /// Connects (or reconnects) the org to a Slack workspace. The bot token
    /// is checked with `auth.test`, which also names the workspace.
    pub async fn connect_slack(
        &self,
        access: &OrgAccess,
        s: SlackSettings,
        meta: &RequestMeta,
    ) -> Result<Connection> {
        access.require(ManagementPermission::IntegrationsManage)?;
        for (field, v) in [
            ("signing_secret", &s.signing_secret),
            ("bot_token", &s.bot_token),
            ("channel", &s.channel),
        ] {
            if v.trim().is_empty() || v.len() > 500 {
                return Err(invalid(field, format!("{field} is required")));
            }
        }
        let base = s
            .api_base_url
            .clone()
            .unwrap_or_else(|| DEFAULT_API_BASE.to_owned());
        url::Url::parse(&base)
            .map_err(|_| invalid("api_base_url", "api_base_url must be an absolute URL"))?;
        let who = call(&base, &s.bot_token, "auth.test", Some(&json!({})), &[])
            .await
            .map_err(|e| invalid("bot_token", format!("Slack refused the bot token: {e}")))?;
        let team_id = who["team_id"].as_str().unwrap_or_default().to_owned();
        if team_id.is_empty() {
            return Err(invalid(
                "bot_token",
                "Slack did not name the workspace of this token",
            ));
        }
        let now = self.now();
        let conn = Connection {
            org_id: access.org.id,
            team_id: team_id.clone(),
            channel: s.channel.trim().to_owned(),
            api_base_url: base,
            signing_secret_enc: self.keys().encrypt(s.signing_secret.trim())?,
            bot_token_enc: self.keys().encrypt(s.bot_token.trim())?,
            created_at: now,
            updated_at: now,
        };
        let mut c = self
            .change(access, Some(ManagementPermission::IntegrationsManage), meta)
            .await?;
        slack::upsert(&mut c, &conn)
            .await
            .on_conflict(Conflict::SlackWorkspaceTaken, || {
                Conflict::SlackWorkspaceTaken.describe().to_owned()
            })?;
        c.audit(
            "integration.slack.connect",
            format!("slack:{team_id}"),
            json!({ "channel": conn.channel, "api_base_url": conn.api_base_url }),
        )
        .await?;
        c.commit().await?;
        Ok(conn)
    }

    pub async fn slack_connection(&self, access: &OrgAccess) -> Result<Connection> {
        access.require(ManagementPermission::IntegrationsManage)?;
        let mut conn = self.store().conn().await?;
        slack::for_org(&mut conn, access.org.id)
            .await?
            .ok_or(AppError::NotFound("Slack connection"))
    }

    pub async fn disconnect_slack(&self, access: &OrgAccess, meta: &RequestMeta) -> Result<()> {
        access.require(ManagementPermission::IntegrationsManage)?;
        let mut c = self
            .change(access, Some(ManagementPermission::IntegrationsManage), meta)
            .await?;
        slack::delete(&mut c, access.org.id)
            .await
            .or_not_found("Slack connection")?;
        c.audit(
            "integration.slack.disconnect",
            format!("org:{}", access.org.slug),
            json!({}),
        )
        .await?;
        c.commit().await
    }

    /// Verifies a request from Slack and finds the org's connection.
    /// Unsigned, stale, tampered or unknown-workspace requests are refused.
    pub async fn verify_slack(
        &self,
        team_id: &str,
        timestamp: &str,
        signature: &str,
        body: &[u8],
    ) -> Result<Connection> {
        let ts: i64 = timestamp.parse().map_err(|_| bad_signature())?;
        if (self.now().unix_ms() / 1000 - ts).abs() > MAX_SKEW_SECS {
            tracing::warn!(team_id, "refused a stale Slack request");
            return Err(bad_signature());
        }
        let conn = {
            let mut db = self.store().conn().await?;
            slack::for_team(&mut db, team_id)
                .await?
                .ok_or_else(bad_signature)?
        };
        let secret = self.keys().decrypt(&conn.signing_secret_enc)?;
        let mut base = format!("v0:{ts}:").into_bytes();
        base.extend_from_slice(body);
        let hex = signature.strip_prefix("v0=").unwrap_or("");
        if !Keys::verify_hmac_hex(secret.as_bytes(), &base, hex) {
            tracing::warn!(team_id, "refused a Slack request with a bad signature");
            return Err(bad_signature());
        }
        Ok(conn)
    }

    /// Whether this request (by its key) is seen for the first time.
    async fn first_time(&self, key: &str) -> Result<bool> {
        let mut db = self.store().conn().await?;
        Ok(slack::first_time(&mut db, key, self.now()).await?)
    }

    /// Handles a slash command; returns the text to show the user.
    pub async fn slack_command(
        &self,
        c: &Connection,
        cmd: SlashCommand,
        meta: &RequestMeta,
    ) -> Result<String> {
        let meta = slack_meta(meta);
        if !cmd.trigger_id.is_empty()
            && !self
                .first_time(&format!("cmd:{}:{}", c.team_id, cmd.trigger_id))
                .await?
        {
            return Ok("Already handled.".into());
        }
        let org = {
            let mut db = self.store().conn().await?;
            orgs::get(&mut db, c.org_id).await?
        };
        match cmd.text.split_whitespace().next().unwrap_or("help") {
            "register" => self.slack_register(c, &org, &cmd.user_id, &meta).await,
            "link" => {
                let code = crypto::new_token("")[..10].to_uppercase().replace(['-', '_'], "X");
                let mut db = self.store().conn().await?;
                let expires = self.now().plus(LINK_CODE_TTL);
                slack::insert_link_code(&mut db, &self.keys().hash_token(&code), c.org_id, &cmd.user_id, expires).await?;
                Ok(format!(
                    "To link this Slack account to your Roster account, run within 10 minutes, signed in:\n`roster slack link {code} --org {}`",
                    org.slug
                ))
            }
            _ => Ok(format!(
                "{} register: ask to join {} (an administrator approves)\n{} link: link this Slack account to your Roster account\n{} help: this message",
                cmd.command, org.name, cmd.command, cmd.command
            )),
        }
    }

    /// `/roster register`: self-registration for the Slack user, with name and
    /// email from Slack's `users.info`, and the membership linked to them.
    async fn slack_register(
        &self,
        c: &Connection,
        org: &Org,
        slack_user: &str,
        meta: &RequestMeta,
    ) -> Result<String> {
        let token = self.keys().decrypt(&c.bot_token_enc)?;
        let info = call(
            &c.api_base_url,
            &token,
            "users.info",
            None,
            &[("user", slack_user)],
        )
        .await
        .map_err(AppError::Internal)?;
        let profile = &info["user"]["profile"];
        let email = Email::parse(profile["email"].as_str().unwrap_or("")).map_err(|_| {
            AppError::Forbidden("Slack did not share an email address for you".into())
        })?;
        let raw_name = [
            &profile["real_name"],
            &info["user"]["real_name"],
            &info["user"]["name"],
        ]
        .iter()
        .find_map(|v| v.as_str().filter(|s| !s.trim().is_empty()))
        .map(str::to_owned);
        let name = match raw_name {
            Some(n) => DisplayName::parse(&n).unwrap_or_else(|_| DisplayName::from_email(&email)),
            None => DisplayName::from_email(&email),
        };
        if !super::signup::accepts_signup(org, &email) {
            return Err(AppError::SignupNotAllowed);
        }
        let mut c = self.change_org(org.id, None, meta).await?;
        let now = c.now();
        let user_id = match users::find_by_email(&mut c, email.as_str()).await? {
            Some(u) => u.id,
            None => create_account(&mut c, now, &email, &name, None, false).await?,
        };
        if let Some(m) = members::find(&mut c, org.id, user_id).await? {
            return Ok(format!("You are already in {} ({}).", org.name, m.status));
        }
        slack::link(&mut c, org.id, slack_user, user_id, now).await?;
        self.enter_review(
            &mut c,
            org,
            user_id,
            &email,
            &name,
            json!({ "slack_user": slack_user }),
        )
        .await?;
        c.commit().await?;
        Ok(format!(
            "Thanks {name}: your request to join {} is waiting for an administrator's approval.",
            org.name
        ))
    }

    /// Queues the review card when the org has Slack; part of the sign-up's
    /// transaction.
    pub(crate) async fn queue_review_card(
        &self,
        c: &mut Change<'_>,
        org: &Org,
        user_id: UserId,
        email: &str,
        name: &str,
    ) -> Result<()> {
        let Some(conn) = slack::for_org(c, org.id).await? else {
            return Ok(());
        };
        let now = c.now();
        let card = review_card(&conn.channel, org, user_id, email, name, now);
        queue_slack(c, now, org.id, "slack.post", &conn.channel, &card).await
    }

    /// Handles a click on a review card. The clicking Slack user must be
    /// linked to a member holding `users:approve`.
    pub async fn slack_interaction(
        &self,
        c: &Connection,
        payload: &Value,
        meta: &RequestMeta,
    ) -> Result<String> {
        let meta = slack_meta(meta);
        let trigger = payload["trigger_id"].as_str().unwrap_or("");
        let action = &payload["actions"][0];
        let key = format!(
            "act:{}:{}:{}",
            c.team_id,
            trigger,
            action["action_ts"].as_str().unwrap_or("")
        );
        if !self.first_time(&key).await? {
            return Ok("Already handled.".into());
        }
        let clicker = payload["user"]["id"].as_str().unwrap_or("");
        let target: UserId = action["value"]
            .as_str()
            .and_then(|v| v.parse().ok())
            .map(UserId::new)
            .ok_or_else(|| invalid("value", "not a review card"))?;
        let (org, approver) = {
            let mut db = self.store().conn().await?;
            let org = orgs::get(&mut db, c.org_id).await?;
            let linked = slack::linked_user(&mut db, c.org_id, clicker).await?;
            let approver = match linked {
                Some(id) => Some(users::get(&mut db, id).await?),
                None => None,
            };
            (org, approver)
        };
        let Some(approver) = approver else {
            tracing::info!(clicker, "review card clicked by an unlinked Slack user");
            return Err(AppError::Forbidden(
                "link your Slack account first: /roster link".into(),
            ));
        };
        // The linked member acts through Slack as if signed in: the same
        // rules decide, against what they hold now.
        let caller = Caller {
            actor: Actor::new(approver.id, &approver.email, &approver.name),
            credential: Credential::LinkedSlack {
                slack_user: clicker.to_owned(),
            },
        };
        let access = self.org_access(&caller, &org.slug).await?;
        let (verb, outcome) = match action["action_id"].as_str() {
            Some("roster_approve") => {
                let m = self.approve_member(&access, target, None, &meta).await?;
                (
                    "approved",
                    format!(
                        "*{}* ({}) was approved as {} by {}",
                        m.name, m.email, m.role, approver.name
                    ),
                )
            }
            Some("roster_reject") => {
                let m = {
                    let mut db = self.store().conn().await?;
                    members::find(&mut db, org.id, target)
                        .await?
                        .ok_or(AppError::NotFound("member"))?
                };
                self.reject_member(&access, target, &meta).await?;
                (
                    "rejected",
                    format!(
                        "*{}* ({}) was rejected by {}",
                        m.name, m.email, approver.name
                    ),
                )
            }
            _ => return Err(invalid("action_id", "unknown action")),
        };
        let channel = payload["channel"]["id"]
            .as_str()
            .unwrap_or(&c.channel)
            .to_owned();
        let ts = payload["message"]["ts"].as_str().unwrap_or("").to_owned();
        let update = json!({
            "channel": channel, "ts": ts, "text": outcome.replace('*', ""),
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": outcome}}]
        });
        let mut db = self.store().conn().await?;
        queue_slack(
            &mut db,
            self.now(),
            org.id,
            "slack.update",
            &channel,
            &update,
        )
        .await?;
        Ok(format!("Request {verb}."))
    }

    /// Confirms a `/roster link` code for the signed-in member.
    pub async fn link_slack(
        &self,
        access: &OrgAccess,
        code: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        let mut c = self.change(access, None, meta).await?;
        let now = c.now();
        let slack_user = slack::redeem_link_code(
            &mut c,
            &self.keys().hash_token(code.trim()),
            access.org.id,
            now,
        )
        .await?
        .ok_or(AppError::InvalidLink)?;
        slack::link(&mut c, access.org.id, &slack_user, access.user_id(), now).await?;
        c.audit(
            "integration.slack.link",
            format!("user:{}", access.user_id()),
            json!({ "slack_user": slack_user }),
        )
        .await?;
        c.commit().await
    }

    /// Delivers one queued Slack call.
    pub(crate) async fn deliver_slack(
        &self,
        m: &outbox::Message,
    ) -> std::result::Result<(), String> {
        let org_id = m.org_id.ok_or("a Slack message needs an org")?;
        let c = {
            let mut db = self.store().conn().await.map_err(|e| e.to_string())?;
            slack::for_org(&mut db, org_id)
                .await
                .map_err(|e| e.to_string())?
        };
        let Some(c) = c else {
            return Err("the org has no Slack connection".into());
        };
        let token = self
            .keys()
            .decrypt(&c.bot_token_enc)
            .map_err(|e| e.to_string())?;
        let payload: Value = serde_json::from_str(&m.body_text).map_err(|e| e.to_string())?;
        let method = match m.kind.as_str() {
            "slack.update" => "chat.update",
            _ => "chat.postMessage",
        };
        call(&c.api_base_url, &token, method, Some(&payload), &[])
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// Queues a Slack Web API call in the outbox.
pub(crate) async fn queue_slack(
    conn: &mut Conn,
    now: Timestamp,
    org_id: OrgId,
    kind: &str,
    channel: &str,
    payload: &Value,
) -> Result<()> {
    outbox::enqueue(
        conn,
        &outbox::NewMessage {
            org_id: Some(org_id),
            kind,
            recipient: &format!("slack:{channel}"),
            subject: payload["text"].as_str().unwrap_or(""),
            body_text: &payload.to_string(),
            body_html: "",
            now,
        },
    )
    .await?;
    Ok(())
}
