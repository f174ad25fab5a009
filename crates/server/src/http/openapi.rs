//! What every operation of the OpenAPI document can answer besides what its
//! handler documents: the refusals the extractors give before a handler
//! runs. Added here once, from what each operation takes, so the document
//! says exactly what the server does and a new route cannot forget them.
//!
//! - every problem document is `application/problem+json`;
//! - an operation that needs a token can answer 401 (no, a bad or an
//!   expired token) and 403 (a token that may not, or a sign-in step left);
//! - one with path parameters can answer 404 (no such thing, or not
//!   yours: the answers are alike);
//! - one with a JSON body can answer 400 (not JSON), 413 (too large), 415
//!   (not `application/json`) and 422 (JSON of the wrong shape);
//! - one with query parameters can answer 400 (a query that does not
//!   parse) and 422 (values that do not validate).

use serde_json::{json, Map, Value};
use utoipa::openapi::OpenApi;

const PROBLEM: &str = "#/components/schemas/Problem";
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The document, as served, with the extractors' refusals added to every
/// operation. (utoipa's types do not read back their own JSON, so the
/// document is served as JSON.)
pub(crate) fn with_refusals(doc: &OpenApi) -> Value {
    let Ok(mut value) = serde_json::to_value(doc) else {
        return Value::Null;
    };
    if let Some(paths) = value.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            let shared_params = item.get("parameters").cloned();
            for method in METHODS {
                if let Some(op) = item.get_mut(method).and_then(Value::as_object_mut) {
                    optional_body(op);
                    add_refusals(path, op, shared_params.as_ref());
                }
            }
        }
    }
    with_limits(&mut value);
    value
}

/// An action's optional body (`request_body = Option<T>`, read by
/// `ActionJson`): utoipa writes it as "`null` or T", but the server takes
/// T or no body at all, never the JSON `null`.
fn optional_body(op: &mut Map<String, Value>) {
    let Some(body) = op.get_mut("requestBody").and_then(Value::as_object_mut) else {
        return;
    };
    let Some(content) = body.get_mut("content").and_then(Value::as_object_mut) else {
        return;
    };
    let mut optional = false;
    for media in content.values_mut() {
        let Some(one_of) = media["schema"]["oneOf"].as_array() else {
            continue;
        };
        let not_null: Vec<&Value> = one_of.iter().filter(|s| s["type"] != "null").collect();
        if one_of.len() == 2 && not_null.len() == 1 {
            let schema = not_null[0].clone();
            media["schema"] = schema;
            optional = true;
        }
    }
    if optional {
        body.insert("required".to_owned(), Value::Bool(false));
    }
}

fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/problem+json": { "schema": { "$ref": PROBLEM } } }
    })
}

fn add_refusals(path: &str, op: &mut Map<String, Value>, shared_params: Option<&Value>) {
    let secured = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty());
    let params: Vec<&Value> = op
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .chain(shared_params.and_then(Value::as_array))
        .flatten()
        .collect();
    let has_query = params.iter().any(|p| p["in"] == "query");
    let has_path = path.contains('{');
    let has_body = op.contains_key("requestBody");

    let Some(responses) = op
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut()
    else {
        return;
    };
    // Problem documents are `application/problem+json`, whatever the
    // handler's annotation said.
    for response in responses.values_mut() {
        if let Some(content) = response.get_mut("content").and_then(Value::as_object_mut) {
            let is_problem = content
                .get("application/json")
                .is_some_and(|c| c["schema"]["$ref"] == PROBLEM);
            if is_problem {
                if let Some(c) = content.remove("application/json") {
                    content.insert("application/problem+json".to_owned(), c);
                }
            }
        }
    }
    let mut add = |status: &str, description: &str| {
        responses
            .entry(status.to_owned())
            .or_insert_with(|| problem(description));
    };
    if secured {
        add(
            "401",
            "no token, or an invalid or expired one (`unauthenticated`)",
        );
        add(
            "403",
            "the caller may not do this, or has a sign-in step left (`forbidden`, ...)",
        );
    }
    if has_path {
        add(
            "404",
            "no such thing here, or not visible to the caller (`not_found`)",
        );
    }
    if has_body {
        add("400", "the body is not JSON (`invalid_json`)");
        add("413", "the body is larger than 64 KiB (`body_too_large`)");
        add(
            "415",
            "the body is not sent as `application/json` (`unsupported_media_type`)",
        );
        add(
            "422",
            "the body has the wrong shape or values (`invalid_body`, `validation_failed`)",
        );
    }
    if has_query {
        add("400", "the query string does not parse (`invalid_query`)");
        add(
            "422",
            "a query value does not validate (`validation_failed`)",
        );
    }
}

// ----- the limits the server enforces, said in the document -----
//
// Each pattern is the exact set of strings the parser named beside it
// accepts (those parsers trim Unicode white space first, hence `WS*` at
// both ends), written so that Python's `re` and ECMA-262 read it alike:
// schemathesis generates requests from them and expects every value a
// pattern allows to be accepted, and every value it refuses to be refused.

/// Unicode White_Space, what `str::trim` removes.
const WS: &str = r"[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*";
/// Neither white space nor a control character.
const VISIBLE: &str = r"[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";
/// Not a control character.
const NO_CONTROL: &str = r"[^\x00-\x1f\x7f-\x9f]";

/// Trimmed text of `min` (0 or 1) to `max` characters without control
/// characters (`DisplayName`, `OrgName`, `Team`, token names, reasons).
fn text(min: usize, max: usize) -> String {
    let inner = format!(
        "{VISIBLE}(?:{NO_CONTROL}{{0,{}}}{VISIBLE})?",
        max.saturating_sub(2)
    );
    let inner = if min == 0 {
        format!("(?:{inner})?")
    } else {
        inner
    };
    format!("^{WS}{inner}{WS}$")
}

/// `OrgSlug::parse`.
fn slug() -> String {
    format!("^{WS}[a-z0-9][a-z0-9-]{{0,61}}[a-z0-9]{WS}$")
}

/// A slug for a new org: `personal-` is reserved (`OrgSlug::is_reserved`).
fn new_slug() -> String {
    format!("^{WS}(?!personal-)[a-z0-9][a-z0-9-]{{0,61}}[a-z0-9]{WS}$")
}

/// `catalog::valid_name`: resource types and their actions.
const CATALOG_NAME: &str = "[a-z][a-z0-9_-]{0,62}";

/// A resource type a request adds: not one of `RESERVED_TYPES`.
fn resource_type_name() -> String {
    let reserved = roster_domain::catalog::RESERVED_TYPES.join("|");
    format!("^{WS}(?!(?:{reserved}){WS}$){CATALOG_NAME}{WS}$")
}

/// A person's address: not one of the domain service accounts are given
/// (`app::tokens::person_email`; the domain is compared lower-cased).
fn person_email() -> Value {
    json!({
        "format": "email",
        "pattern": r"^(?![\s\S]*[Ss][Ee][Rr][Vv][Ii][Cc][Ee]\.[Ii][Nn][Vv][Aa][Ll][Ii][Dd]\s*$)"
    })
}

/// `GroupName::parse`: lower-cased first (Unicode: the Kelvin sign is a k).
const GROUP: &str = r"[A-Za-z0-9\u212a][A-Za-z0-9_.\u212a-]{0,62}";

fn group() -> String {
    format!("^{WS}{GROUP}{WS}$")
}

/// `GroupName::parse_list` on one item: comma-separated names, empty parts
/// skipped.
fn group_list_item() -> String {
    let part = format!("{WS}(?:{GROUP}{WS})?");
    format!("^{part}(?:,{part})*$")
}

/// `RoleName::parse`: ASCII case-insensitive, and the vendor spelling
/// `viewer_no_secrets`.
fn role() -> String {
    format!(
        "^{WS}(?:[A-Za-z][A-Za-z0-9-]{{0,62}}|[Vv][Ii][Ee][Ww][Ee][Rr]_[Nn][Oo]_[Ss][Ee][Cc][Rr][Ee][Tt][Ss]){WS}$"
    )
}

/// `IdentityProvider::parse`.
fn identity_provider() -> String {
    format!("^{WS}[A-Za-z0-9-]{{1,63}}{WS}$")
}

/// An SSO connection's name: an identity provider's, but not the two
/// names members show for other ways in (`app::sso`).
fn sso_name() -> String {
    let core = identity_provider();
    let core = core.trim_start_matches('^');
    format!("^(?!{WS}(?:[Pp][Aa][Ss][Ss][Ww][Oo][Rr][Dd]|[Tt][Oo][Kk][Ee][Nn]){WS}$){core}")
}

/// The service account name check in `app::tokens`.
fn service_account_name() -> String {
    format!("^{WS}[A-Za-z][A-Za-z0-9-]{{0,39}}{WS}$")
}

fn pattern(p: String) -> Value {
    json!({ "pattern": p })
}

/// (schema, property, what to add). A property that is an array gets it on
/// its items when the key starts with `items.`.
fn schema_limits() -> Vec<(&'static str, &'static str, Value)> {
    let email = json!({ "format": "email" });
    let password = json!({ "minLength": 10, "maxLength": 256 });
    vec![
        ("CreateOrgRequest", "slug", pattern(new_slug())),
        ("CreateOrgRequest", "name", pattern(text(1, 200))),
        ("UpdateOrgRequest", "name", pattern(text(1, 200))),
        ("UpdateMeRequest", "name", pattern(text(1, 200))),
        ("SetupRequest", "org_slug", pattern(slug())),
        ("SetupRequest", "org_name", pattern(text(1, 200))),
        ("SetupRequest", "name", pattern(text(1, 200))),
        ("SetupRequest", "email", email.clone()),
        ("SetupRequest", "password", password.clone()),
        ("SignupRequest", "org", pattern(slug())),
        ("SignupRequest", "name", pattern(text(1, 200))),
        ("SignupRequest", "email", person_email()),
        ("SignupRequest", "password", password.clone()),
        ("ChangePasswordRequest", "new_password", password.clone()),
        ("SetPasswordRequest", "password", password),
        ("CreateMemberRequest", "email", person_email()),
        ("CreateMemberRequest", "name", pattern(text(1, 200))),
        ("CreateMemberRequest", "role", pattern(role())),
        ("CreateMemberRequest", "team", pattern(text(0, 100))),
        (
            "CreateMemberRequest",
            "items.groups",
            pattern(group_list_item()),
        ),
        (
            "CreateMemberRequest",
            "identity_provider",
            pattern(identity_provider()),
        ),
        ("UpdateMemberRequest", "role", pattern(role())),
        ("UpdateMemberRequest", "team", pattern(text(0, 100))),
        (
            "UpdateMemberRequest",
            "items.groups",
            pattern(group_list_item()),
        ),
        (
            "UpdateMemberRequest",
            "identity_provider",
            pattern(identity_provider()),
        ),
        // No limits on `InviteItem` and the shared `role`, `team` and
        // `groups` of `CreateInvitationsRequest`: each address is checked on
        // its own and a bad value is that address's `refused` result, in a
        // 200 answer (one bad address never fails the others).
        ("ApproveRequest", "role", pattern(role())),
        ("GroupRequest", "name", pattern(group())),
        ("RoleRequest", "name", pattern(role())),
        ("ResourceTypeRequest", "actions", json!({ "minItems": 1 })),
        ("ReviewRequestRequest", "reason", pattern(text(1, 1000))),
        (
            "ReviewRequestRequest",
            "duration_seconds",
            json!({ "minimum": 60, "maximum": 30 * 24 * 3600 }),
        ),
        ("TokenRequest", "name", pattern(text(1, 100))),
        (
            "TokenRequest",
            "expires_at",
            json!({ "format": "date-time" }),
        ),
        (
            "ServiceAccountRequest",
            "name",
            pattern(service_account_name()),
        ),
        ("ServiceAccountRequest", "role", pattern(role())),
        ("AccessRuleRequest", "role", pattern(role())),
        // `ActionClass::parse` after a trim: lower case only.
        (
            "NewActionRequest",
            "class",
            pattern(format!("^{WS}(?:read|write|secret|admin){WS}$")),
        ),
        (
            "NewActionRequest",
            "name",
            pattern(format!("^{WS}{CATALOG_NAME}{WS}$")),
        ),
        ("ResourceTypeRequest", "name", pattern(resource_type_name())),
        // Present, it names at least one permission (`app::tokens`).
        ("TokenRequest", "permissions", json!({ "minItems": 1 })),
        ("ScimTokenRequest", "name", pattern(text(1, 100))),
        (
            "ScimTokenRequest",
            "expires_at",
            json!({ "format": "date-time" }),
        ),
        // `MemberStatus::parse`: "invited" is a status a member is put in
        // by an invitation, not one a request sets.
        (
            "UpdateMemberRequest",
            "status",
            pattern(one_of(&["reviewing", "active", "disabled"], false)),
        ),
        (
            "AuditRetention",
            "days",
            json!({ "minimum": 1, "maximum": crate::app::MAX_RETENTION_DAYS }),
        ),
        // `App::update_org`: 5 minutes to 30 days; the policy as written.
        (
            "UpdateOrgRequest",
            "invitation_ttl_seconds",
            json!({ "minimum": 300, "maximum": 30 * 86_400 }),
        ),
        (
            "UpdateOrgRequest",
            "mfa_policy",
            json!({ "enum": ["optional", "required", null] }),
        ),
        // `IdentityProvider::parse`, but not `password` or `token`.
        ("CreateSsoConnectionRequest", "name", pattern(sso_name())),
        ("UpdateSsoConnectionRequest", "name", pattern(sso_name())),
        // `outbound::Guard::check_url`: an absolute http(s) URL.
        (
            "CreateWebhookRequest",
            "url",
            pattern(format!("^{WS}[Hh][Tt][Tt][Pp][Ss]?://")),
        ),
    ]
}

/// Any ASCII case of one of `words`, trimmed; or nothing, when `optional`
/// (the status parsers in `roster_domain::status`).
fn one_of(words: &[&str], optional: bool) -> String {
    let alternatives: Vec<String> = words
        .iter()
        .map(|w| {
            w.chars()
                .map(|c| {
                    if c.is_ascii_alphabetic() {
                        format!("[{}{}]", c.to_ascii_uppercase(), c)
                    } else {
                        c.to_string()
                    }
                })
                .collect()
        })
        .collect();
    let q = if optional { "?" } else { "" };
    format!("^{WS}(?:{}){q}{WS}$", alternatives.join("|"))
}

/// A filter that is ignored when empty or blank, else parsed by `inner`.
fn optional(inner: &str) -> String {
    let core = inner
        .strip_prefix(&format!("^{WS}"))
        .and_then(|s| s.strip_suffix(&format!("{WS}$")))
        .unwrap_or(inner);
    format!("^{WS}(?:{core})?{WS}$")
}

fn date_time() -> Value {
    json!({ "format": "date-time" })
}

/// (path, or "" for every path; query parameter; what to add).
fn query_limits() -> Vec<(&'static str, &'static str, Value)> {
    let users = "/api/v1/orgs/{org}/users";
    vec![
        // `pagination::limit`, shared by every list.
        ("", "limit", json!({ "minimum": 1, "maximum": 200 })),
        ("", "format", json!({ "enum": ["csv", "jsonl"] })),
        // The audit log's actor filter is an email address (`app::audit`).
        (
            "/api/v1/orgs/{org}/audit",
            "actor",
            json!({ "format": "email" }),
        ),
        (
            "/api/v1/orgs/{org}/audit/export",
            "actor",
            json!({ "format": "email" }),
        ),
        // RFC 3339 (`app::time::parse_rfc3339`).
        ("/api/v1/orgs/{org}/audit", "since", date_time()),
        ("/api/v1/orgs/{org}/audit", "until", date_time()),
        ("/api/v1/orgs/{org}/audit/export", "since", date_time()),
        ("/api/v1/orgs/{org}/audit/export", "until", date_time()),
        (users, "group", pattern(optional(&group()))),
        (users, "role", pattern(optional(&role()))),
        (
            users,
            "identity_provider",
            pattern(optional(&identity_provider())),
        ),
        (
            users,
            "status",
            pattern(one_of(
                &["reviewing", "active", "disabled", "invited"],
                true,
            )),
        ),
        (users, "name", json!({ "maxLength": 254 })),
        (users, "email", json!({ "maxLength": 254 })),
        (users, "team", json!({ "maxLength": 254 })),
        // `RequestStatus::parse`: given, it is one of them.
        (
            "/api/v1/orgs/{org}/requests",
            "status",
            pattern(one_of(
                &["pending", "approved", "rejected", "expired"],
                false,
            )),
        ),
        (
            "/api/v1/orgs/{org}/invitations",
            "status",
            pattern(one_of(&["pending", "accepted", "revoked", "expired"], true)),
        ),
    ]
}

fn with_limits(doc: &mut Value) {
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for (schema, prop, add) in schema_limits() {
            let (items, prop) = match prop.strip_prefix("items.") {
                Some(p) => (true, p),
                None => (false, prop),
            };
            let Some(mut target) = schemas
                .get_mut(schema)
                .and_then(|s| s.get_mut("properties"))
                .and_then(|p| p.get_mut(prop))
            else {
                // `tests::every_limit_lands` keeps this from happening.
                continue;
            };
            if items {
                let Some(t) = target.get_mut("items") else {
                    continue;
                };
                target = t;
            }
            merge(target, &add);
        }
    }
    let limits = query_limits();
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            for method in METHODS {
                let Some(params) = item
                    .get_mut(method)
                    .and_then(|op| op.get_mut("parameters"))
                    .and_then(Value::as_array_mut)
                else {
                    continue;
                };
                for param in params.iter_mut().filter(|p| p["in"] == "query") {
                    let name = param["name"].as_str().unwrap_or_default().to_owned();
                    let found = limits
                        .iter()
                        .find(|(p, n, _)| (p.is_empty() || p == path) && *n == name);
                    if let Some((_, _, add)) = found {
                        if let Some(schema) = param.get_mut("schema") {
                            merge(schema, add);
                        }
                    }
                }
            }
        }
    }
}

fn merge(target: &mut Value, add: &Value) {
    if let (Some(t), Some(a)) = (target.as_object_mut(), add.as_object()) {
        for (k, v) in a {
            t.insert(k.clone(), v.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row of the limits table names a property of the document.
    #[test]
    fn every_limit_lands() {
        let (_, doc) = crate::http::api();
        for (schema, prop, _) in schema_limits() {
            let (items, prop) = match prop.strip_prefix("items.") {
                Some(p) => (true, p),
                None => (false, prop),
            };
            let target = &doc["components"]["schemas"][schema]["properties"][prop];
            let target = if items { &target["items"] } else { target };
            assert!(target.is_object(), "{schema}.{prop}");
        }
    }
}
