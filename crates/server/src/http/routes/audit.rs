//! `/orgs/{org}/audit`: reading the audit log.

use crate::app::AuditQuery;
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiQuery, Authed, Org};
use crate::http::pagination;
use crate::http::{views, AppState};
use axum::extract::State;
use axum::Json;
use roster_proto::{AuditEventView, AuditRetention, AuditVerifyView, Page, Problem};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_audit))
        .routes(routes!(export_audit))
        .routes(routes!(verify_audit))
        .routes(routes!(get_retention, set_retention))
        .routes(routes!(personal_audit))
}

/// Recompute the org's audit chain from its checkpoint to its head: `ok`
/// with the count and head hash, or the first event that does not match
/// and why (edited, missing, reordered). Needs `audit:read`.
#[utoipa::path(get, path = "/orgs/{org}/audit/verify", tag = "audit", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug")),
    responses((status = 200, body = AuditVerifyView), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn verify_audit(Org { app, access, .. }: Org) -> Result<Json<AuditVerifyView>, ApiError> {
    let v = app.audit_verify(&access).await?;
    Ok(Json(views::audit_verdict(&v)))
}

/// How long the org keeps its audit events. Needs `audit:read`.
#[utoipa::path(get, path = "/orgs/{org}/audit/retention", tag = "audit", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug")),
    responses((status = 200, body = AuditRetention), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_retention(Org { app, access, .. }: Org) -> Result<Json<AuditRetention>, ApiError> {
    let days = app.audit_retention(&access).await?;
    Ok(Json(AuditRetention { days }))
}

/// Set how long the org keeps its audit events (`null`: forever). Older
/// events are pruned by housekeeping; the chain keeps a checkpoint so what
/// remains still verifies, and each pruning is itself audited
/// (`audit.prune`). Needs `org:manage`.
#[utoipa::path(put, path = "/orgs/{org}/audit/retention", tag = "audit", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug")),
    request_body = AuditRetention,
    responses((status = 200, body = AuditRetention), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn set_retention(
    Org { app, access, meta }: Org,
    ApiJson(req): ApiJson<AuditRetention>,
) -> Result<Json<AuditRetention>, ApiError> {
    let days = app.set_audit_retention(&access, req.days, &meta).await?;
    Ok(Json(AuditRetention { days }))
}

/// Paging of your own audit events.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PersonalAuditQuery {
    limit: Option<i64>,
    cursor: Option<String>,
}

/// Your own audit events, newest first: those that belong to no org
/// (password changes and other account events).
#[utoipa::path(get, path = "/me/audit", tag = "me", security(("bearer" = [])),
    params(PersonalAuditQuery),
    responses((status = 200, body = Page<AuditEventView>), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn personal_audit(
    State(state): State<AppState>,
    Authed(caller): Authed,
    ApiQuery(q): ApiQuery<PersonalAuditQuery>,
) -> Result<Json<Page<AuditEventView>>, ApiError> {
    let limit = pagination::limit(q.limit)?;
    let before = pagination::decode("p", q.cursor.as_deref())?;
    let mut rows = state.app.personal_audit(&caller, before, limit + 1).await?;
    let next_cursor = pagination::next(&mut rows, limit, "p", |e| e.id);
    Ok(Json(Page {
        items: rows.iter().map(views::audit_event).collect(),
        next_cursor,
    }))
}

/// Filters of the audit log; they combine.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditListQuery {
    /// The actor's email.
    actor: Option<String>,
    /// An action (`member.update`) or a prefix ending in `.` (`member.`).
    action: Option<String>,
    /// A target such as `user:42` or `org:acme`.
    target: Option<String>,
    /// RFC 3339; events at or after.
    since: Option<String>,
    /// RFC 3339; events before.
    until: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// The org's audit events, newest first. Needs `audit:read`.
#[utoipa::path(get, path = "/orgs/{org}/audit", tag = "audit", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug"), AuditListQuery),
    responses((status = 200, body = Page<AuditEventView>), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn list_audit(
    Org { app, access, .. }: Org,
    ApiQuery(q): ApiQuery<AuditListQuery>,
) -> Result<Json<Page<AuditEventView>>, ApiError> {
    let limit = pagination::limit(q.limit)?;
    let before = pagination::decode("a", q.cursor.as_deref())?;
    let query = AuditQuery {
        actor: q.actor,
        action: q.action,
        target: q.target,
        since: q.since,
        until: q.until,
    };
    let mut rows = app.audit_list(&access, &query, before, limit + 1).await?;
    let next_cursor = pagination::next(&mut rows, limit, "a", |e| e.id);
    Ok(Json(Page {
        items: rows.iter().map(views::audit_event).collect(),
        next_cursor,
    }))
}

/// Filters of the export, and its format.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditExportQuery {
    /// `csv` or `jsonl`.
    format: String,
    actor: Option<String>,
    action: Option<String>,
    target: Option<String>,
    since: Option<String>,
    until: Option<String>,
}

/// Quotes a CSV field (RFC 4180), and defuses spreadsheet formulas.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// Every matching event, newest first, as CSV or JSON Lines, for download,
/// with the chain's head (count and hash) read before the events: the
/// CSV's first line is `# roster audit head: org=... count=N hash=...
/// exported_at=...`, the JSON Lines' last line `{"head": {...}}`, and the
/// `Roster-Audit-Count` and `Roster-Audit-Head` headers say the same.
/// Needs `audit:read`.
#[utoipa::path(get, path = "/orgs/{org}/audit/export", tag = "audit", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug"), AuditExportQuery),
    responses((status = 200, description = "text/csv or application/x-ndjson", content((String = "text/csv"), (String = "application/x-ndjson"))),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn export_audit(
    Org { app, access, .. }: Org,
    ApiQuery(q): ApiQuery<AuditExportQuery>,
) -> Result<axum::response::Response, ApiError> {
    use axum::http::header;
    use axum::response::IntoResponse;
    let csv = match q.format.as_str() {
        "csv" => true,
        "jsonl" => false,
        _ => return Err(crate::app::orgs::invalid("format", "format is csv or jsonl").into()),
    };
    let query = AuditQuery {
        actor: q.actor,
        action: q.action,
        target: q.target,
        since: q.since,
        until: q.until,
    };
    // The head first: the export holds the events up to it.
    let (count, head) = app.audit_head(&access).await?;
    let exported_at = crate::app::time::rfc3339(app.now());
    let mut out = String::new();
    if csv {
        out.push_str(&format!(
            "# roster audit head: org={} count={count} hash={head} exported_at={exported_at}\n",
            access.org.slug
        ));
        out.push_str("id,at,actor_id,actor_email,actor_name,channel,action,target,details,client_addr,request_id,seq,prev_hash,hash\n");
    }
    let mut before = None;
    loop {
        let page = app.audit_list(&access, &query, before, 1000).await?;
        for e in page.iter().filter(|e| e.seq.is_none_or(|s| s <= count)) {
            if csv {
                let row = [
                    e.id.to_string(),
                    crate::app::time::rfc3339(e.at),
                    e.actor_id.map(|i| i.to_string()).unwrap_or_default(),
                    e.actor_email.clone(),
                    e.actor_name.clone(),
                    e.channel.clone(),
                    e.action.clone(),
                    e.target.clone(),
                    e.details.clone(),
                    e.client_addr.clone(),
                    e.request_id.clone(),
                    e.seq.map(|s| s.to_string()).unwrap_or_default(),
                    e.prev_hash.clone(),
                    e.hash.clone(),
                ];
                out.push_str(
                    &row.iter()
                        .map(|f| csv_field(f))
                        .collect::<Vec<_>>()
                        .join(","),
                );
            } else {
                out.push_str(&serde_json::to_string(&views::audit_event(e)).unwrap_or_default());
            }
            out.push('\n');
        }
        match page.last() {
            Some(last) if page.len() == 1000 => before = Some(last.id),
            _ => break,
        }
    }
    if !csv {
        out.push_str(
            &serde_json::json!({ "head": {
                "org": access.org.slug.as_str(), "count": count, "hash": head, "exported_at": exported_at,
            }})
            .to_string(),
        );
        out.push('\n');
    }
    let (content_type, ext) = if csv {
        ("text/csv; charset=utf-8", "csv")
    } else {
        ("application/x-ndjson", "jsonl")
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"audit-{}.{ext}\"", access.org.slug),
            ),
            (
                header::HeaderName::from_static("roster-audit-count"),
                count.to_string(),
            ),
            (header::HeaderName::from_static("roster-audit-head"), head),
        ],
        out,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
    }
}
