//! `/scim/v2`: the SCIM 2.0 endpoints (RFC 7644) an org's directory
//! calls with its SCIM token. Bodies are `application/scim+json`; every
//! failure is a SCIM error body (never problem+json), unknown routes are
//! 404 and methods a route does not take (writes to the discovery
//! endpoints) are 405, both as SCIM errors.
//!
//! A handler reads the request into what the directory says (through
//! `integrations::scim`), calls one `app::scim` use case, and renders the
//! resource as it is afterwards.

use crate::app::scim::Directory;
use crate::app::{AppError, Channel, RequestMeta};
use crate::http::error::InternalDetail;
use crate::http::extract::Meta;
use crate::http::AppState;
use crate::integrations::scim::resource::{self, editable};
use crate::integrations::scim::schema::{
    self, ResourceType, DOCUMENTS, GROUPS, LIST_RESPONSE, RESOURCE_TYPE, SCHEMA,
    SERVICE_PROVIDER_CONFIG, USERS,
};
use crate::integrations::scim::{filter, patch, ScimError};
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, RawQuery};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use roster_domain::{Conflict, DomainError, GroupId, UserId};
use roster_store::scim::MemberLookup;
use scim_v2::filter::{AttrExp, CompValue, CompareOp, Filter};
use serde_json::{json, Value};

/// The most resources one page holds; a larger `count` is lowered to it
/// (RFC 7644 §3.4.2.4).
pub const MAX_RESULTS: usize = 200;
/// The page size when `count` is not given.
const DEFAULT_COUNT: usize = 100;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ServiceProviderConfig", get(service_provider_config))
        .route("/ResourceTypes", get(resource_types))
        .route("/ResourceTypes/{id}", get(resource_type))
        .route("/Schemas", get(schemas))
        .route("/Schemas/{id}", get(schema_by_id))
        .route("/Users", get(list_users).post(create_user))
        .route("/Users/.search", post(search_users))
        .route(
            "/Users/{id}",
            get(get_user)
                .put(replace_user)
                .patch(patch_user)
                .delete(delete_user),
        )
        .route("/Groups", get(list_groups).post(create_group))
        .route("/Groups/.search", post(search_groups))
        .route(
            "/Groups/{id}",
            get(get_group)
                .put(replace_group)
                .patch(patch_group)
                .delete(delete_group),
        )
        .route("/.search", post(search_all))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

/// A SCIM answer: an error body or a resource.
pub struct Scim(Response);

impl IntoResponse for Scim {
    fn into_response(self) -> Response {
        self.0
    }
}

fn body(status: StatusCode, v: &Value) -> Response {
    let mut res = (status, v.to_string()).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/scim+json"),
    );
    res
}

/// A resource with its ETag.
fn resource_response(status: StatusCode, v: &Value, location: bool) -> Response {
    let mut res = body(status, v);
    if let Some(version) = v
        .get("meta")
        .and_then(|m| m.get("version"))
        .and_then(Value::as_str)
        .and_then(|s| HeaderValue::from_str(s).ok())
    {
        res.headers_mut().insert(header::ETAG, version);
    }
    if location {
        if let Some(loc) = v
            .get("meta")
            .and_then(|m| m.get("location"))
            .and_then(Value::as_str)
            .and_then(|s| HeaderValue::from_str(s).ok())
        {
            res.headers_mut().insert(header::LOCATION, loc);
        }
    }
    res
}

impl From<ScimError> for Scim {
    fn from(e: ScimError) -> Self {
        let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
        let mut res = body(status, &e.body());
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        Scim(res)
    }
}

impl From<AppError> for Scim {
    fn from(e: AppError) -> Self {
        let internal = match &e {
            AppError::Internal(inner) => Some(format!("{inner:#}")),
            _ => None,
        };
        let mut res = Scim::from(scim_error(&e)).0;
        if let Some(detail) = internal {
            res.extensions_mut().insert(InternalDetail(detail));
        }
        Scim(res)
    }
}

/// The one table from application errors to SCIM errors.
fn scim_error(e: &AppError) -> ScimError {
    match e {
        AppError::Domain(DomainError::Invalid { message, .. }) => {
            ScimError::invalid_value(message.clone())
        }
        AppError::Domain(DomainError::LastOwner) => ScimError::new(409, None, e.to_string()),
        AppError::Domain(DomainError::PersonalOrg) => ScimError::new(409, None, e.to_string()),
        AppError::Domain(_) | AppError::Forbidden(_) => ScimError::new(403, None, e.to_string()),
        AppError::Conflict {
            conflict:
                Conflict::UserNameTaken
                | Conflict::EmailTaken
                | Conflict::AlreadyMember
                | Conflict::GroupExists,
            message,
        } => ScimError::new(409, Some("uniqueness"), message.clone()),
        AppError::Conflict { message, .. } => ScimError::new(409, None, message.clone()),
        AppError::NotFound(what) => ScimError::not_found(format!("{what} not found")),
        AppError::Unauthenticated => ScimError::new(
            401,
            None,
            "a valid SCIM token is needed: Authorization: Bearer rsc_...",
        ),
        AppError::Unavailable => ScimError::new(503, None, e.to_string()),
        AppError::Internal(_) => ScimError::new(
            500,
            None,
            "something went wrong on our side; the request id is in the x-request-id header",
        ),
        other => ScimError::new(400, None, other.to_string()),
    }
}

/// The directory behind the request's SCIM token, the app, and the
/// request's audit facts (channel `scim`).
pub struct Dir {
    app: crate::app::App,
    dir: Directory,
    meta: RequestMeta,
    base: String,
}

impl FromRequestParts<AppState> for Dir {
    type Rejection = Scim;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Scim> {
        let Ok(Meta(mut meta)) = Meta::from_request_parts(parts, state).await;
        meta.channel = Channel::Scim;
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or(AppError::Unauthenticated)?;
        let dir = state.app.authenticate_scim(token, &meta).await?;
        Ok(Dir {
            app: state.app.clone(),
            dir,
            meta,
            base: base(state),
        })
    }
}

fn base(state: &AppState) -> String {
    format!(
        "{}/scim/v2",
        state.app.settings().public_url.trim_end_matches('/')
    )
}

async fn not_found(_d: Dir) -> Scim {
    ScimError::not_found("no such SCIM endpoint").into()
}

async fn method_not_allowed(_d: Dir) -> Scim {
    ScimError::new(405, None, "this endpoint does not take that method").into()
}

/// A body as JSON (`application/scim+json` or `application/json`).
fn json_body(headers: &HeaderMap, bytes: &Bytes) -> Result<Value, ScimError> {
    if let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        let ct = ct.split(';').next().unwrap_or_default().trim();
        if !ct.eq_ignore_ascii_case("application/scim+json")
            && !ct.eq_ignore_ascii_case("application/json")
        {
            return Err(ScimError::invalid_syntax(
                "send the body as application/scim+json",
            ));
        }
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ScimError::invalid_syntax(format!("the body is not valid JSON: {e}")))
}

/// The query parameters of a list or a read (names case-insensitive).
#[derive(Default)]
struct Query {
    filter: Option<String>,
    start_index: Option<i64>,
    count: Option<i64>,
    attributes: Vec<String>,
    excluded: Vec<String>,
}

fn number(name: &str, raw: &str) -> Result<i64, ScimError> {
    raw.trim()
        .parse::<i64>()
        .map_err(|_| ScimError::invalid_value(format!("{name} is a whole number")))
}

impl Query {
    fn from_raw(raw: Option<&str>) -> Result<Query, ScimError> {
        let mut q = Query::default();
        for (k, v) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            match k.to_ascii_lowercase().as_str() {
                "filter" => q.filter = Some(v.into_owned()),
                "startindex" => q.start_index = Some(number("startIndex", &v)?),
                "count" => q.count = Some(number("count", &v)?),
                "attributes" => q.attributes.push(v.into_owned()),
                "excludedattributes" => q.excluded.push(v.into_owned()),
                _ => {}
            }
        }
        Ok(q)
    }

    /// A `SearchRequest` body (RFC 7644 §3.4.3).
    fn from_search(v: &Value) -> Result<Query, ScimError> {
        let Value::Object(o) = v else {
            return Err(ScimError::invalid_syntax("the body must be a JSON object"));
        };
        let mut q = Query::default();
        let strings = |v: &Value, name: &str| -> Result<Vec<String>, ScimError> {
            match v {
                Value::String(s) => Ok(vec![s.clone()]),
                Value::Array(items) => items
                    .iter()
                    .map(|i| {
                        i.as_str().map(str::to_owned).ok_or_else(|| {
                            ScimError::invalid_value(format!("{name} is a list of attribute names"))
                        })
                    })
                    .collect(),
                _ => Err(ScimError::invalid_value(format!(
                    "{name} is a list of attribute names"
                ))),
            }
        };
        for (k, v) in o {
            match k.to_ascii_lowercase().as_str() {
                "schemas" | "sortby" | "sortorder" => {}
                "filter" => {
                    q.filter = Some(
                        v.as_str()
                            .ok_or_else(|| ScimError::invalid_filter("filter is a string"))?
                            .to_owned(),
                    )
                }
                "startindex" => {
                    q.start_index =
                        Some(v.as_i64().ok_or_else(|| {
                            ScimError::invalid_value("startIndex is a whole number")
                        })?)
                }
                "count" => {
                    q.count = Some(
                        v.as_i64()
                            .ok_or_else(|| ScimError::invalid_value("count is a whole number"))?,
                    )
                }
                "attributes" => q.attributes = strings(v, "attributes")?,
                "excludedattributes" => q.excluded = strings(v, "excludedAttributes")?,
                other => {
                    return Err(ScimError::invalid_syntax(format!(
                        "a SearchRequest has no {other:?}"
                    )))
                }
            }
        }
        Ok(q)
    }

    fn parsed_filter(&self) -> Result<Option<Filter>, ScimError> {
        self.filter.as_deref().map(filter::parse).transpose()
    }

    /// The page: its 1-based start and its size (RFC 7644 §3.4.2.4: a
    /// start below 1 is 1, a negative count is 0, a count above the
    /// maximum is the maximum).
    fn page(&self) -> (usize, usize) {
        let start = self.start_index.unwrap_or(1).max(1);
        let count = match self.count {
            None => DEFAULT_COUNT,
            Some(c) if c < 0 => 0,
            Some(c) => usize::try_from(c).unwrap_or(MAX_RESULTS).min(MAX_RESULTS),
        };
        (usize::try_from(start).unwrap_or(usize::MAX), count)
    }
}

/// A ListResponse of the resources that match, one page of them.
fn list_response(all: Vec<(&'static ResourceType, Value)>, q: &Query) -> Value {
    let (start, count) = q.page();
    let total = all.len();
    let page: Vec<Value> = all
        .into_iter()
        .skip(start - 1)
        .take(count)
        .map(|(rt, v)| resource::project(rt, v, &q.attributes, &q.excluded))
        .collect();
    json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": page.len(),
        "Resources": page,
    })
}

/// What the store can narrow a user list to before the filter runs: a
/// top-level `userName eq`, `externalId eq` or `id eq` (alone or in an
/// `and`), which is how Okta and Entra ID look a person up.
fn lookup(f: &Filter) -> MemberLookup<'_> {
    let mut l = MemberLookup::default();
    let terms: Vec<&Filter> = match f {
        Filter::And(items) => items.iter().collect(),
        other => vec![other],
    };
    for t in terms {
        if let Filter::Attr(AttrExp::Comparison(p, CompareOp::Eq, CompValue::Str(v))) = t {
            if p.sub_attr.is_some() || p.uri.as_deref().is_some_and(|u| u != schema::USER) {
                continue;
            }
            if p.name.eq_ignore_ascii_case("userName") {
                l.user_name_folded = Some(v.as_str());
            } else if p.name.eq_ignore_ascii_case("externalId") {
                l.external_id = Some(v.as_str());
            } else if p.name.eq_ignore_ascii_case("id") {
                l.user_id = Some(v.parse::<i64>().map(UserId::new).unwrap_or(UserId::new(0)));
            }
        }
    }
    l
}

async fn users_matching(
    d: &Dir,
    f: Option<&Filter>,
) -> Result<Vec<(&'static ResourceType, Value)>, Scim> {
    let folded;
    let mut l = match f {
        Some(f) => lookup(f),
        None => MemberLookup::default(),
    };
    if let Some(name) = l.user_name_folded {
        folded = name.to_lowercase();
        l.user_name_folded = Some(&folded);
    }
    let mut out = Vec::new();
    for u in d.app.scim_users(&d.dir, &l).await? {
        let v = resource::user(&d.base, &u);
        let keep = match f {
            None => true,
            // A User the directory wrote without `active` is active.
            Some(f) if v.get("active").is_none() => {
                let mut probe = v.clone();
                probe["active"] = Value::Bool(true);
                filter::matches(&USERS, f, &probe)?
            }
            Some(f) => filter::matches(&USERS, f, &v)?,
        };
        if keep {
            out.push((&*USERS, v));
        }
    }
    Ok(out)
}

async fn groups_matching(
    d: &Dir,
    f: Option<&Filter>,
) -> Result<Vec<(&'static ResourceType, Value)>, Scim> {
    let mut out = Vec::new();
    for g in d.app.scim_groups(&d.dir).await? {
        let v = resource::group(&d.base, &g);
        if f.map(|f| filter::matches(&GROUPS, f, &v))
            .transpose()?
            .unwrap_or(true)
        {
            out.push((&*GROUPS, v));
        }
    }
    Ok(out)
}

async fn list_of(d: &Dir, rt: &'static ResourceType, q: Query) -> Result<Scim, Scim> {
    let f = q.parsed_filter()?;
    if let Some(f) = &f {
        filter::check(rt, f)?;
    }
    let all = if rt.name == "User" {
        users_matching(d, f.as_ref()).await?
    } else {
        groups_matching(d, f.as_ref()).await?
    };
    Ok(Scim(body(StatusCode::OK, &list_response(all, &q))))
}

async fn list_users(d: Dir, RawQuery(raw): RawQuery) -> Result<Scim, Scim> {
    let q = Query::from_raw(raw.as_deref())?;
    list_of(&d, &USERS, q).await
}

async fn list_groups(d: Dir, RawQuery(raw): RawQuery) -> Result<Scim, Scim> {
    let q = Query::from_raw(raw.as_deref())?;
    list_of(&d, &GROUPS, q).await
}

async fn search_users(d: Dir, headers: HeaderMap, bytes: Bytes) -> Result<Scim, Scim> {
    let q = Query::from_search(&json_body(&headers, &bytes)?)?;
    list_of(&d, &USERS, q).await
}

async fn search_groups(d: Dir, headers: HeaderMap, bytes: Bytes) -> Result<Scim, Scim> {
    let q = Query::from_search(&json_body(&headers, &bytes)?)?;
    list_of(&d, &GROUPS, q).await
}

/// `POST /.search`: Users and Groups together, Users first. A filter
/// must make sense for at least one of them.
async fn search_all(d: Dir, headers: HeaderMap, bytes: Bytes) -> Result<Scim, Scim> {
    let q = Query::from_search(&json_body(&headers, &bytes)?)?;
    let f = q.parsed_filter()?;
    let (for_users, for_groups) = match &f {
        None => (true, true),
        Some(f) => {
            let u = filter::check(&USERS, f);
            let g = filter::check(&GROUPS, f);
            if let (Err(e), Err(_)) = (&u, &g) {
                return Err(e.clone().into());
            }
            (u.is_ok(), g.is_ok())
        }
    };
    let mut all = Vec::new();
    if for_users {
        all.extend(users_matching(&d, f.as_ref()).await?);
    }
    if for_groups {
        all.extend(groups_matching(&d, f.as_ref()).await?);
    }
    Ok(Scim(body(StatusCode::OK, &list_response(all, &q))))
}

fn user_id(raw: &str) -> Result<UserId, ScimError> {
    raw.parse::<i64>()
        .ok()
        .filter(|i| *i > 0)
        .map(UserId::new)
        .ok_or_else(|| ScimError::not_found("user not found"))
}

fn group_id(raw: &str) -> Result<GroupId, ScimError> {
    raw.parse::<i64>()
        .ok()
        .filter(|i| *i > 0)
        .map(GroupId::new)
        .ok_or_else(|| ScimError::not_found("group not found"))
}

/// Refuses a write whose `If-Match` names another version (412).
fn if_match(headers: &HeaderMap, current: &Value) -> Result<(), ScimError> {
    let Some(wanted) = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let version = current
        .get("meta")
        .and_then(|m| m.get("version"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let strip = |s: &str| s.trim().trim_start_matches("W/").to_owned();
    let ok = wanted
        .split(',')
        .any(|w| w.trim() == "*" || strip(w) == strip(version));
    if ok {
        Ok(())
    } else {
        Err(ScimError::new(
            412,
            None,
            format!("the resource is at version {version}, not {wanted}"),
        ))
    }
}

fn read_response(rt: &ResourceType, v: Value, raw: Option<&str>) -> Result<Scim, ScimError> {
    let q = Query::from_raw(raw)?;
    let shown = resource::project(rt, v.clone(), &q.attributes, &q.excluded);
    let mut res = resource_response(StatusCode::OK, &shown, false);
    if let Some(version) = v
        .get("meta")
        .and_then(|m| m.get("version"))
        .and_then(Value::as_str)
        .and_then(|s| HeaderValue::from_str(s).ok())
    {
        res.headers_mut().insert(header::ETAG, version);
    }
    Ok(Scim(res))
}

async fn current_user(d: &Dir, id: UserId) -> Result<Value, Scim> {
    let u = d.app.scim_user(&d.dir, id).await?;
    Ok(resource::user(&d.base, &u))
}

async fn current_group(d: &Dir, id: GroupId) -> Result<Value, Scim> {
    let g = d.app.scim_group(&d.dir, id).await?;
    Ok(resource::group(&d.base, &g))
}

async fn get_user(d: Dir, Path(id): Path<String>, RawQuery(raw): RawQuery) -> Result<Scim, Scim> {
    let v = current_user(&d, user_id(&id)?).await?;
    Ok(read_response(&USERS, v, raw.as_deref())?)
}

async fn create_user(d: Dir, headers: HeaderMap, bytes: Bytes) -> Result<Scim, Scim> {
    let doc = patch::document(&USERS, &json_body(&headers, &bytes)?)?;
    let u = resource::directory_user(&doc)?;
    let id = d.app.scim_create_user(&d.dir, u, &d.meta).await?;
    let v = current_user(&d, id).await?;
    Ok(Scim(resource_response(StatusCode::CREATED, &v, true)))
}

async fn replace_user(
    d: Dir,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Scim, Scim> {
    let id = user_id(&id)?;
    let current = current_user(&d, id).await?;
    if_match(&headers, &current)?;
    let doc = patch::document(&USERS, &json_body(&headers, &bytes)?)?;
    let u = resource::directory_user(&doc)?;
    d.app.scim_update_user(&d.dir, id, u, &d.meta).await?;
    let v = current_user(&d, id).await?;
    Ok(Scim(resource_response(StatusCode::OK, &v, false)))
}

async fn patch_user(
    d: Dir,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Scim, Scim> {
    let id = user_id(&id)?;
    let current = current_user(&d, id).await?;
    if_match(&headers, &current)?;
    let ops = patch::operations(&json_body(&headers, &bytes)?)?;
    let mut doc = editable(&current);
    patch::apply(&USERS, &mut doc, &ops)?;
    let u = resource::directory_user(&doc)?;
    d.app.scim_update_user(&d.dir, id, u, &d.meta).await?;
    let v = current_user(&d, id).await?;
    Ok(Scim(resource_response(StatusCode::OK, &v, false)))
}

async fn delete_user(d: Dir, Path(id): Path<String>, headers: HeaderMap) -> Result<Scim, Scim> {
    let id = user_id(&id)?;
    let current = current_user(&d, id).await?;
    if_match(&headers, &current)?;
    d.app.scim_delete_user(&d.dir, id, &d.meta).await?;
    Ok(Scim(StatusCode::NO_CONTENT.into_response()))
}

async fn get_group(d: Dir, Path(id): Path<String>, RawQuery(raw): RawQuery) -> Result<Scim, Scim> {
    let v = current_group(&d, group_id(&id)?).await?;
    Ok(read_response(&GROUPS, v, raw.as_deref())?)
}

async fn create_group(d: Dir, headers: HeaderMap, bytes: Bytes) -> Result<Scim, Scim> {
    let doc = patch::document(&GROUPS, &json_body(&headers, &bytes)?)?;
    let g = resource::directory_group(&doc)?;
    let id = d.app.scim_create_group(&d.dir, g, &d.meta).await?;
    let v = current_group(&d, id).await?;
    Ok(Scim(resource_response(StatusCode::CREATED, &v, true)))
}

async fn replace_group(
    d: Dir,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Scim, Scim> {
    let id = group_id(&id)?;
    let current = current_group(&d, id).await?;
    if_match(&headers, &current)?;
    let doc = patch::document(&GROUPS, &json_body(&headers, &bytes)?)?;
    let g = resource::directory_group(&doc)?;
    d.app.scim_update_group(&d.dir, id, g, &d.meta).await?;
    let v = current_group(&d, id).await?;
    Ok(Scim(resource_response(StatusCode::OK, &v, false)))
}

async fn patch_group(
    d: Dir,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Scim, Scim> {
    let id = group_id(&id)?;
    let current = current_group(&d, id).await?;
    if_match(&headers, &current)?;
    let ops = patch::operations(&json_body(&headers, &bytes)?)?;
    let before = resource::directory_group(&editable(&current))?.members;
    let mut doc = editable(&current);
    patch::apply(&GROUPS, &mut doc, &ops)?;
    let mut g = resource::directory_group(&doc)?;
    g.since = Some(before);
    d.app.scim_update_group(&d.dir, id, g, &d.meta).await?;
    let v = current_group(&d, id).await?;
    Ok(Scim(resource_response(StatusCode::OK, &v, false)))
}

async fn delete_group(d: Dir, Path(id): Path<String>, headers: HeaderMap) -> Result<Scim, Scim> {
    let id = group_id(&id)?;
    let current = current_group(&d, id).await?;
    if_match(&headers, &current)?;
    d.app.scim_delete_group(&d.dir, id, &d.meta).await?;
    Ok(Scim(StatusCode::NO_CONTENT.into_response()))
}

async fn service_provider_config(d: Dir) -> Scim {
    Scim(body(
        StatusCode::OK,
        &json!({
            "schemas": [SERVICE_PROVIDER_CONFIG],
            "patch": {"supported": true},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": true, "maxResults": MAX_RESULTS},
            "changePassword": {"supported": false},
            "sort": {"supported": false},
            "etag": {"supported": true},
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "SCIM token",
                "description": "A SCIM token of the organization (rsc_...), made with POST /api/v1/orgs/{org}/scim-tokens, sent as Authorization: Bearer",
                "primary": true,
            }],
            "meta": {
                "resourceType": "ServiceProviderConfig",
                "location": format!("{}/ServiceProviderConfig", d.base),
            },
        }),
    ))
}

fn resource_type_doc(base: &str, rt: &ResourceType) -> Value {
    let mut v = json!({
        "schemas": [RESOURCE_TYPE],
        "id": rt.name,
        "name": rt.name,
        "endpoint": rt.endpoint,
        "description": if rt.name == "User" { "A member of the organization" } else { "A group of the organization's members" },
        "schema": rt.core.id,
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{}", rt.name)},
    });
    if !rt.extensions.is_empty() {
        v["schemaExtensions"] = Value::Array(
            rt.extensions
                .iter()
                .map(|e| json!({"schema": e.id, "required": false}))
                .collect(),
        );
    }
    v
}

fn discovery_list(items: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": items.len(),
        "startIndex": 1,
        "itemsPerPage": items.len(),
        "Resources": items,
    })
}

async fn resource_types(d: Dir) -> Scim {
    let items = vec![
        resource_type_doc(&d.base, &USERS),
        resource_type_doc(&d.base, &GROUPS),
    ];
    Scim(body(StatusCode::OK, &discovery_list(items)))
}

async fn resource_type(d: Dir, Path(id): Path<String>) -> Result<Scim, Scim> {
    let rt = [&*USERS, &*GROUPS]
        .into_iter()
        .find(|rt| rt.name == id)
        .ok_or_else(|| ScimError::not_found(format!("no resource type {id:?}")))?;
    Ok(Scim(body(StatusCode::OK, &resource_type_doc(&d.base, rt))))
}

fn schema_doc(base: &str, doc: &Value) -> Value {
    let mut v = doc.clone();
    let id = v
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    v["schemas"] = json!([SCHEMA]);
    v["meta"] = json!({"resourceType": "Schema", "location": format!("{base}/Schemas/{id}")});
    v
}

async fn schemas(d: Dir) -> Scim {
    let items = DOCUMENTS.iter().map(|s| schema_doc(&d.base, s)).collect();
    Scim(body(StatusCode::OK, &discovery_list(items)))
}

async fn schema_by_id(d: Dir, Path(id): Path<String>) -> Result<Scim, Scim> {
    let doc = DOCUMENTS
        .iter()
        .find(|s| s.get("id").and_then(Value::as_str) == Some(id.as_str()))
        .ok_or_else(|| ScimError::not_found(format!("no schema {id:?}")))?;
    Ok(Scim(body(StatusCode::OK, &schema_doc(&d.base, doc))))
}
