//! Slack (SPEC §3.3), as use cases: an org connects a workspace; people
//! register with `/roster register`, link themselves with `/roster link`,
//! and approvers decide from a review card.
//!
//! Architecture invariant: nothing here speaks Slack. The integration
//! (`crate::integrations::slack`) verifies Slack's requests, calls Slack's
//! Web API and turns payloads into the typed commands below; these use
//! cases answer with typed outcomes, and queue typed [`SlackPost`]s that
//! the integration renders as Block Kit when it delivers them.

use super::auth::create_account;
use super::caller::{Actor, Caller, Credential};
use super::change::Change;
use super::error::{Result, StoreResultExt};
use super::orgs::{invalid, OrgAccess};
use super::time::rfc3339;
use super::{App, AppError, Channel, RequestMeta};
use crate::crypto;
use roster_domain::{
    Conflict, DisplayName, Email, ManagementPermission, MemberStatus, OrgId, Timestamp, UserId,
};
use roster_store::orgs::Org;
use roster_store::slack::{self, Connection};
use roster_store::{members, orgs, outbox, users, Conn};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::time::Duration;

/// Slack's own API, unless an org names another (tests, proxies).
pub const DEFAULT_API_BASE: &str = "https://slack.com/api";
const LINK_CODE_TTL: Duration = Duration::from_secs(10 * 60);

/// A connection to make, as the integration checked it: the workspace is
/// the one Slack named for the bot token.
pub struct SlackSettings {
    pub team_id: String,
    pub signing_secret: String,
    pub bot_token: String,
    pub channel: String,
    pub api_base_url: String,
}

/// Where to call Slack for an org, with the bot token decrypted.
pub struct SlackTarget {
    pub api_base_url: String,
    pub bot_token: String,
    pub channel: String,
}

/// What a person typed after `/roster`.
pub enum SlackCommand {
    /// `register`, with what Slack's `users.info` says of them.
    Register {
        slack_user: String,
        email: Option<String>,
        name: Option<String>,
    },
    /// `link`: a code to confirm while signed in to Roster.
    Link { slack_user: String },
    /// Anything else.
    Help,
}

/// What a slash command did, for the integration to put in words.
pub enum SlackOutcome {
    /// The same request (by Slack's trigger id) was handled already.
    AlreadyHandled,
    Registered {
        name: String,
        org_name: String,
    },
    AlreadyMember {
        org_name: String,
        status: MemberStatus,
    },
    LinkCode {
        code: String,
        org_slug: String,
    },
    Help {
        org_name: String,
    },
    Decided {
        approved: bool,
    },
}

/// A click on a review card's Approve or Reject button.
pub struct ReviewClick {
    /// Identifies the click, so a retried delivery acts once.
    pub key: String,
    pub clicker: String,
    pub target: UserId,
    pub approve: bool,
    pub channel: Option<String>,
    pub message_ts: String,
}

/// A message to post to Slack, queued in the outbox like mail and turned
/// into Block Kit when it is delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "post", rename_all = "snake_case")]
pub enum SlackPost {
    /// Someone asked to join; approvers decide with the buttons.
    ReviewCard {
        channel: String,
        user_id: i64,
        email: String,
        name: String,
        org_name: String,
        at: String,
    },
    /// A review card, replaced by its outcome.
    Decision {
        channel: String,
        ts: String,
        name: String,
        email: String,
        /// The role given, when approved.
        role: Option<String>,
        by: String,
    },
}

impl SlackPost {
    fn channel(&self) -> &str {
        match self {
            SlackPost::ReviewCard { channel, .. } | SlackPost::Decision { channel, .. } => channel,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            SlackPost::ReviewCard { .. } => "slack.post",
            SlackPost::Decision { .. } => "slack.update",
        }
    }

    /// A line that stands for the post in lists of messages.
    fn summary(&self) -> String {
        match self {
            SlackPost::ReviewCard {
                name,
                email,
                org_name,
                ..
            } => format!("{name} ({email}) asked to join {org_name}"),
            SlackPost::Decision {
                name, email, role, ..
            } => match role {
                Some(_) => format!("{name} ({email}) was approved"),
                None => format!("{name} ({email}) was rejected"),
            },
        }
    }
}

fn slack_meta(meta: &RequestMeta) -> RequestMeta {
    RequestMeta {
        channel: Channel::Slack,
        ..meta.clone()
    }
}

impl App {
    /// Connects (or reconnects) the org to a Slack workspace.
    pub async fn connect_slack(
        &self,
        access: &OrgAccess,
        s: SlackSettings,
        meta: &RequestMeta,
    ) -> Result<Connection> {
        access.require(ManagementPermission::IntegrationsManage)?;
        let now = self.now();
        let conn = Connection {
            org_id: access.org.id,
            team_id: s.team_id.clone(),
            channel: s.channel.trim().to_owned(),
            api_base_url: s.api_base_url,
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
            format!("slack:{}", s.team_id),
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

    /// The connection of a workspace and its signing secret, for verifying
    /// a request that claims to come from it.
    pub async fn slack_workspace(&self, team_id: &str) -> Result<Option<(Connection, String)>> {
        let mut db = self.store().conn().await?;
        let Some(c) = slack::for_team(&mut db, team_id).await? else {
            return Ok(None);
        };
        let secret = self.keys().decrypt(&c.signing_secret_enc)?;
        Ok(Some((c, secret)))
    }

    /// Where and with which token to call Slack for an org.
    pub async fn slack_target(&self, org_id: OrgId) -> Result<Option<SlackTarget>> {
        let mut db = self.store().conn().await?;
        let Some(c) = slack::for_org(&mut db, org_id).await? else {
            return Ok(None);
        };
        Ok(Some(SlackTarget {
            bot_token: self.keys().decrypt(&c.bot_token_enc)?,
            api_base_url: c.api_base_url,
            channel: c.channel,
        }))
    }

    /// Whether this request (by its key) is seen for the first time.
    async fn first_time(&self, key: &str) -> Result<bool> {
        let mut db = self.store().conn().await?;
        Ok(slack::first_time(&mut db, key, self.now()).await?)
    }

    /// Handles a slash command from a verified workspace. `trigger` is
    /// Slack's id of the request, so that a retried delivery acts once.
    pub async fn slack_command(
        &self,
        c: &Connection,
        trigger: &str,
        cmd: SlackCommand,
        meta: &RequestMeta,
    ) -> Result<SlackOutcome> {
        let meta = slack_meta(meta);
        if !trigger.is_empty()
            && !self
                .first_time(&format!("cmd:{}:{trigger}", c.team_id))
                .await?
        {
            return Ok(SlackOutcome::AlreadyHandled);
        }
        let org = {
            let mut db = self.store().conn().await?;
            orgs::get(&mut db, c.org_id).await?
        };
        match cmd {
            SlackCommand::Register {
                slack_user,
                email,
                name,
            } => {
                self.slack_register(&org, &slack_user, email, name, &meta)
                    .await
            }
            SlackCommand::Link { slack_user } => {
                let code = crypto::new_token("")[..10]
                    .to_uppercase()
                    .replace(['-', '_'], "X");
                let expires = self.now().plus(LINK_CODE_TTL);
                let mut db = self.store().write_conn().await?;
                slack::insert_link_code(
                    &mut db,
                    &self.keys().hash_token(&code),
                    c.org_id,
                    &slack_user,
                    expires,
                )
                .await?;
                Ok(SlackOutcome::LinkCode {
                    code,
                    org_slug: org.slug,
                })
            }
            SlackCommand::Help => Ok(SlackOutcome::Help { org_name: org.name }),
        }
    }

    /// `/roster register`: self-registration for the Slack user, with name
    /// and email from Slack, and the membership linked to them.
    async fn slack_register(
        &self,
        org: &Org,
        slack_user: &str,
        email: Option<String>,
        name: Option<String>,
        meta: &RequestMeta,
    ) -> Result<SlackOutcome> {
        let email = Email::parse(email.as_deref().unwrap_or("")).map_err(|_| {
            AppError::Forbidden("Slack did not share an email address for you".into())
        })?;
        let name = name
            .and_then(|n| DisplayName::parse(&n).ok())
            .unwrap_or_else(|| DisplayName::from_email(&email));
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
            return Ok(SlackOutcome::AlreadyMember {
                org_name: org.name.clone(),
                status: m.status,
            });
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
        Ok(SlackOutcome::Registered {
            name: name.to_string(),
            org_name: org.name.clone(),
        })
    }

    /// Queues the review card when the org has Slack; part of the sign-up's
    /// change.
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
        let post = SlackPost::ReviewCard {
            channel: conn.channel,
            user_id: user_id.get(),
            email: email.to_owned(),
            name: name.to_owned(),
            org_name: org.name.clone(),
            at: rfc3339(now),
        };
        queue_slack(c, self.keys(), now, org.id, &post).await
    }

    /// Handles a click on a review card. The clicking Slack user must be
    /// linked to a member holding `users:approve`.
    pub async fn slack_click(
        &self,
        c: &Connection,
        click: ReviewClick,
        meta: &RequestMeta,
    ) -> Result<SlackOutcome> {
        let meta = slack_meta(meta);
        if !self
            .first_time(&format!("act:{}:{}", c.team_id, click.key))
            .await?
        {
            return Ok(SlackOutcome::AlreadyHandled);
        }
        let (org, approver) = {
            let mut db = self.store().conn().await?;
            let org = orgs::get(&mut db, c.org_id).await?;
            let linked = slack::linked_user(&mut db, c.org_id, &click.clicker).await?;
            let approver = match linked {
                Some(id) => Some(users::get(&mut db, id).await?),
                None => None,
            };
            (org, approver)
        };
        let Some(approver) = approver else {
            tracing::info!(clicker = %click.clicker, "review card clicked by an unlinked Slack user");
            return Err(AppError::Forbidden(
                "link your Slack account first: /roster link".into(),
            ));
        };
        // The linked member acts through Slack as if signed in: the same
        // rules decide, against what they hold now.
        let caller = Caller {
            actor: Actor::new(approver.id, &approver.email, &approver.name),
            credential: Credential::LinkedSlack {
                slack_user: click.clicker.clone(),
            },
        };
        let access = self.org_access(&caller, &org.slug).await?;
        let (member, role) = if click.approve {
            let m = self
                .approve_member(&access, click.target, None, &meta)
                .await?;
            let role = m.role.clone();
            (m, Some(role))
        } else {
            let m = {
                let mut db = self.store().conn().await?;
                members::find(&mut db, org.id, click.target)
                    .await?
                    .ok_or(AppError::NotFound("member"))?
            };
            self.reject_member(&access, click.target, &meta).await?;
            (m, None)
        };
        let post = SlackPost::Decision {
            channel: click.channel.unwrap_or_else(|| c.channel.clone()),
            ts: click.message_ts,
            name: member.name,
            email: member.email,
            role,
            by: approver.name,
        };
        let mut db = self.store().conn().await?;
        queue_slack(&mut db, self.keys(), self.now(), org.id, &post).await?;
        Ok(SlackOutcome::Decided {
            approved: click.approve,
        })
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
}

/// Checks a Slack API base URL an administrator names.
pub fn parse_api_base(raw: Option<&str>) -> Result<String> {
    let base = raw.unwrap_or(DEFAULT_API_BASE).trim().to_owned();
    url::Url::parse(&base)
        .map_err(|_| invalid("api_base_url", "api_base_url must be an absolute URL"))?;
    Ok(base)
}

/// Queues a post to Slack in the outbox.
async fn queue_slack(
    conn: &mut Conn,
    keys: &crate::crypto::Keys,
    now: Timestamp,
    org_id: OrgId,
    post: &SlackPost,
) -> Result<()> {
    let body = serde_json::to_string(post).map_err(anyhow::Error::from)?;
    super::outbox::enqueue(
        conn,
        keys,
        &outbox::NewMessage {
            org_id: Some(org_id),
            kind: post.kind(),
            recipient: &format!("slack:{}", post.channel()),
            subject: &post.summary(),
            body_text: &body,
            body_html: "",
            now,
        },
    )
    .await?;
    Ok(())
}
