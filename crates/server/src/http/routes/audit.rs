//! `/orgs/{org}/audit`: reading the audit log.

use crate::app::AuditQuery;
use crate::http::error::ApiError;
use crate::http::extract::{ApiQuery, Org};
use crate::http::pagination;
use crate::http::{views, AppState};
use axum::Json;
use roster_proto::{AuditEventView, Page, Problem};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_audit))
        .routes(routes!(export_audit))
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

/// Every matching event, newest first, as CSV or JSON Lines, for download.
/// Needs `audit:read`.
#[utoipa::path(get, path = "/orgs/{org}/audit/export", tag = "audit", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug"), AuditExportQuery),
    responses((status = 200, description = "text/csv or application/x-ndjson", content((String = "text/csv"), (String = "application/x-ndjson"))),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn export_audit(
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
    let mut out = String::new();
    if csv {
        out.push_str("id,at,actor_id,actor_email,actor_name,channel,action,target,details,client_addr,request_id\n");
    }
    let mut before = None;
    loop {
        let page = app.audit_list(&access, &query, before, 1000).await?;
        for e in &page {
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
