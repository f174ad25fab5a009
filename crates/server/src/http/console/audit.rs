//! The audit log: filters by actor, action, target and time, pages, and
//! downloads as CSV or JSON Lines (the API's export, with the same filters).

use super::frame::{describe, show, Frame, PageResult};
use super::session::InOrg;
use super::text::{when, with_query, Precision};
use crate::app::AuditQuery;
use crate::http::error::ApiError;
use crate::http::{pagination, views};
use askama::Template;
use axum::extract::Query;
use axum::http::StatusCode;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
pub struct AuditForm {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    target: String,
    /// `datetime-local` (UTC), or RFC 3339.
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    cursor: String,
    /// `1`: recompute the chain and show the verdict.
    #[serde(default)]
    verify: String,
}

/// A time as the form sends it (`2026-12-01T18:00`, read as UTC) or as
/// RFC 3339.
fn time(raw: &str) -> Option<String> {
    let t = raw.trim();
    match t.len() {
        0 => None,
        16 => Some(format!("{t}:00Z")),
        19 => Some(format!("{t}Z")),
        _ => Some(t.to_owned()),
    }
}

impl AuditForm {
    pub fn any(&self) -> bool {
        [
            &self.actor,
            &self.action,
            &self.target,
            &self.since,
            &self.until,
        ]
        .iter()
        .any(|v| !v.trim().is_empty())
    }

    fn query(&self) -> AuditQuery {
        let v = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        AuditQuery {
            actor: v(&self.actor),
            action: v(&self.action),
            target: v(&self.target),
            since: time(&self.since),
            until: time(&self.until),
        }
    }

    /// This page of the log at `cursor`, with the filters as typed.
    fn page_url(&self, slug: &str, cursor: Option<&str>) -> String {
        with_query(
            &format!("/o/{slug}/audit"),
            &[
                ("actor", &self.actor),
                ("action", &self.action),
                ("target", &self.target),
                ("since", &self.since),
                ("until", &self.until),
                ("cursor", cursor.unwrap_or("")),
            ],
        )
    }

    /// The download of the same filters (the API's export, answered to
    /// the console's session).
    fn export_url(&self, slug: &str, format: &str) -> String {
        let q = self.query();
        let v = |o: &Option<String>| o.clone().unwrap_or_default();
        with_query(
            &format!("/o/{slug}/audit/export"),
            &[
                ("format", format),
                ("actor", &v(&q.actor)),
                ("action", &v(&q.action)),
                ("target", &v(&q.target)),
                ("since", &v(&q.since)),
                ("until", &v(&q.until)),
            ],
        )
    }
}

struct EventLine {
    at: String,
    actor: String,
    channel: String,
    action: String,
    target: String,
    details: String,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    f: Frame,
    q: AuditForm,
    events: Vec<EventLine>,
    error: Option<String>,
    csv_url: String,
    jsonl_url: String,
    next_url: Option<String>,
    first_url: Option<String>,
    /// The chain's head: events ever appended and the newest hash.
    head_count: i64,
    head_hash: String,
    /// The verdict, when asked for: `Ok(text)` or `Err(text)`.
    verdict: Option<Result<String, String>>,
}

const PAGE: i64 = 50;

/// An event's details as a person reads them: `key: value` pairs, strings
/// unquoted, anything nested as compact JSON.
fn details(v: &serde_json::Value) -> String {
    match v.as_object() {
        Some(map) => map
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}: {s}"),
                other => format!("{k}: {other}"),
            })
            .collect::<Vec<_>>()
            .join(" · "),
        None => v.to_string(),
    }
}

pub async fn list(o: InOrg, Query(q): Query<AuditForm>) -> PageResult {
    o.access
        .require(roster_domain::ManagementPermission::AuditRead)?;
    let outcome: Result<_, ApiError> = async {
        let before = pagination::decode("a", Some(q.cursor.as_str()).filter(|c| !c.is_empty()))?;
        let mut rows = o
            .app()
            .audit_list(&o.access, &q.query(), before, PAGE + 1)
            .await?;
        let next = pagination::next(&mut rows, PAGE, "a", |e| e.id);
        Ok((rows, next))
    }
    .await;
    let (status, events, next, error) = match outcome {
        Ok((rows, next)) => (StatusCode::OK, rows, next, None),
        Err(e) => {
            let (status, text) = describe(&e);
            (status, Vec::new(), None, Some(text))
        }
    };
    let slug = o.access.org.slug.clone();
    let (head_count, head_hash) = o.app().audit_head(&o.access).await?;
    let verdict = if q.verify == "1" {
        let v = o.app().audit_verify(&o.access).await?;
        Some(match &v.first_break {
            None => Ok(format!(
                "The chain verifies: {} events{}, head {}.",
                v.count,
                if v.pruned > 0 {
                    format!(" ({} pruned behind a checkpoint)", v.pruned)
                } else {
                    String::new()
                },
                v.head_hash
            )),
            Some(b) => Err(format!(
                "The chain does not verify: {} event #{}: {}",
                b.kind.as_str(),
                b.seq,
                b.reason
            )),
        })
    } else {
        None
    };
    let f = o.frame("audit", "Audit log").await?;
    let page = AuditPage {
        events: events
            .iter()
            .map(views::audit_event)
            .map(|e| EventLine {
                at: when(&e.at, Precision::Second),
                actor: if e.actor.email.is_empty() {
                    "Roster".to_owned()
                } else {
                    e.actor.email
                },
                channel: e.channel,
                action: e.action,
                target: e.target,
                details: details(&e.details),
            })
            .collect(),
        error,
        csv_url: q.export_url(&slug, "csv"),
        jsonl_url: q.export_url(&slug, "jsonl"),
        next_url: next.as_deref().map(|c| q.page_url(&slug, Some(c))),
        first_url: (!q.cursor.is_empty()).then(|| q.page_url(&slug, None)),
        head_count,
        head_hash,
        verdict,
        f,
        q,
    };
    Ok(show(status, &page, &page.f))
}

/// `GET /o/{org}/audit/export`: the API's CSV or JSON Lines export for the
/// console's session (the API itself takes bearer tokens only). A refusal
/// is the console's error page.
pub async fn export(
    o: InOrg,
    Query(q): Query<crate::http::routes::audit::AuditExportQuery>,
) -> PageResult {
    let org = crate::http::extract::Org {
        app: o.app().clone(),
        access: o.access.clone(),
        meta: o.meta().clone(),
    };
    crate::http::routes::audit::export_audit(org, crate::http::extract::ApiQuery(q))
        .await
        .map_err(Into::into)
}
