//! SCIM 2.0 (RFC 7643, RFC 7644) as Okta and Entra ID speak it: the
//! schemas Roster serves, the documents it reads and writes, filters,
//! PATCH, and the error bodies. Filters and PATCH paths are parsed by the
//! `scim_v2` crate (its RFC 7644 grammar); what they mean for a document is
//! decided here, against Roster's schemas. The routes are in
//! `http::scim`; they hand [`crate::app::scim`] what the directory says in
//! Roster's terms.
//!
//! Every document is rewritten on the way in with the schema's spelling of
//! each attribute (names are case-insensitive in SCIM), values checked
//! against their types (Entra ID's booleans as `"True"`/`"False"` strings
//! become booleans), read-only attributes dropped and unknown ones refused.

pub mod filter;
pub mod patch;
pub mod resource;
pub mod schema;

/// A SCIM error (RFC 7644 §3.12): a status, a `scimType` for the 400s and
/// uniqueness conflicts, and a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

impl ScimError {
    pub fn new(status: u16, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    pub fn bad(scim_type: &'static str, detail: impl Into<String>) -> Self {
        ScimError::new(400, Some(scim_type), detail)
    }

    pub fn invalid_value(detail: impl Into<String>) -> Self {
        ScimError::bad("invalidValue", detail)
    }

    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        ScimError::bad("invalidSyntax", detail)
    }

    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        ScimError::bad("invalidFilter", detail)
    }

    pub fn invalid_path(detail: impl Into<String>) -> Self {
        ScimError::bad("invalidPath", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        ScimError::new(404, None, detail)
    }

    /// The error body.
    pub fn body(&self) -> serde_json::Value {
        let mut body = serde_json::json!({
            "schemas": [schema::ERROR],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = serde_json::Value::from(t);
        }
        body
    }
}

pub type Result<T> = std::result::Result<T, ScimError>;
