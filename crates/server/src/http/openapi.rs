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
    // utoipa's document is plain data: serialising it cannot fail.
    let mut value = serde_json::to_value(doc).unwrap_or_default();
    if let Some(paths) = value.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            let shared_params = item.get("parameters").cloned();
            for method in METHODS {
                if let Some(op) = item.get_mut(method).and_then(Value::as_object_mut) {
                    add_refusals(path, op, shared_params.as_ref());
                }
            }
        }
    }
    value
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
