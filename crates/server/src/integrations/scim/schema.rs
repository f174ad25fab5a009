//! The schemas Roster serves (RFC 7643 §4, §8.7.1) and the attribute
//! definitions the rest of the integration reads them through: names are
//! matched case-insensitively and every document is rewritten with the
//! schema's spelling, so the filter and PATCH code compare exact keys.
//!
//! `schemas.json` is RFC 7643's User, Group and Enterprise User schemas
//! with Roster's differences: no `password` (Roster never takes a
//! password from a directory), `emails` required (every account has an
//! address), and Group `members.display` read-only and never returned (the
//! member's name is the account's, not the directory's).

use serde_json::Value;
use std::sync::LazyLock;

pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
pub const RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const SERVICE_PROVIDER_CONFIG: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

/// The schema documents, as served under `/Schemas`.
pub static DOCUMENTS: LazyLock<Vec<Value>> =
    LazyLock::new(|| serde_json::from_str(include_str!("schemas.json")).unwrap_or_default());

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Reference,
    Binary,
    Complex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

/// One attribute of a schema.
#[derive(Debug, Clone)]
pub struct Attr {
    pub name: String,
    pub kind: Kind,
    pub multi: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub sub: Vec<Attr>,
}

impl Attr {
    fn from_json(v: &Value) -> Attr {
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default();
        let b = |k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
        let kind = match s("type") {
            "boolean" => Kind::Boolean,
            "decimal" => Kind::Decimal,
            "integer" => Kind::Integer,
            "dateTime" => Kind::DateTime,
            "reference" => Kind::Reference,
            "binary" => Kind::Binary,
            "complex" => Kind::Complex,
            _ => Kind::String,
        };
        let mutability = match s("mutability") {
            "readOnly" => Mutability::ReadOnly,
            "immutable" => Mutability::Immutable,
            "writeOnly" => Mutability::WriteOnly,
            _ => Mutability::ReadWrite,
        };
        Attr {
            name: s("name").to_owned(),
            kind,
            multi: b("multiValued"),
            required: b("required"),
            case_exact: b("caseExact"),
            mutability,
            sub: v
                .get("subAttributes")
                .and_then(Value::as_array)
                .map(|a| a.iter().map(Attr::from_json).collect())
                .unwrap_or_default(),
        }
    }

    fn simple(name: &str, kind: Kind, case_exact: bool, mutability: Mutability) -> Attr {
        Attr {
            name: name.to_owned(),
            kind,
            multi: false,
            required: false,
            case_exact,
            mutability,
            sub: Vec::new(),
        }
    }

    /// The sub-attribute `name`, matched case-insensitively.
    pub fn sub_attr(&self, name: &str) -> Option<&Attr> {
        self.sub.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

/// One schema: its URN and attributes.
#[derive(Debug, Clone)]
pub struct Schema {
    pub id: String,
    pub attrs: Vec<Attr>,
}

impl Schema {
    /// The attribute `name`, matched case-insensitively.
    pub fn attr(&self, name: &str) -> Option<&Attr> {
        self.attrs
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

fn schema(id: &str) -> Schema {
    let doc = DOCUMENTS
        .iter()
        .find(|d| d.get("id").and_then(Value::as_str) == Some(id));
    Schema {
        id: id.to_owned(),
        attrs: doc
            .and_then(|d| d.get("attributes"))
            .and_then(Value::as_array)
            .map(|a| a.iter().map(Attr::from_json).collect())
            .unwrap_or_default(),
    }
}

/// A resource type: its core schema, its extensions, and the attributes
/// every resource has (`id`, `externalId`, `meta`).
#[derive(Debug)]
pub struct ResourceType {
    pub name: &'static str,
    pub endpoint: &'static str,
    pub core: Schema,
    pub extensions: Vec<Schema>,
    pub common: Vec<Attr>,
}

impl ResourceType {
    fn new(name: &'static str, endpoint: &'static str, core: &str, ext: &[&str]) -> Self {
        let mut core = schema(core);
        // The common attributes (RFC 7643 §3.1) are read through the core
        // schema, as every resource has them.
        let common = vec![
            Attr::simple("id", Kind::String, true, Mutability::ReadOnly),
            Attr::simple("externalId", Kind::String, true, Mutability::ReadWrite),
            Attr {
                name: "meta".to_owned(),
                kind: Kind::Complex,
                multi: false,
                required: false,
                case_exact: false,
                mutability: Mutability::ReadOnly,
                sub: vec![
                    Attr::simple("resourceType", Kind::String, true, Mutability::ReadOnly),
                    Attr::simple("created", Kind::DateTime, false, Mutability::ReadOnly),
                    Attr::simple("lastModified", Kind::DateTime, false, Mutability::ReadOnly),
                    Attr::simple("location", Kind::Reference, true, Mutability::ReadOnly),
                    Attr::simple("version", Kind::String, true, Mutability::ReadOnly),
                ],
            },
        ];
        core.attrs.extend(common.iter().cloned());
        ResourceType {
            name,
            endpoint,
            core,
            extensions: ext.iter().map(|e| schema(e)).collect(),
            common,
        }
    }

    /// The extension whose URN is `urn`, matched case-insensitively.
    pub fn extension(&self, urn: &str) -> Option<&Schema> {
        self.extensions
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// The schema a path's URI names (none: the core schema).
    pub fn schema_of(&self, uri: Option<&str>) -> Option<&Schema> {
        match uri {
            None => Some(&self.core),
            Some(u) if u.eq_ignore_ascii_case(&self.core.id) => Some(&self.core),
            Some(u) => self.extension(u),
        }
    }
}

pub static USERS: LazyLock<ResourceType> =
    LazyLock::new(|| ResourceType::new("User", "/Users", USER, &[ENTERPRISE]));
pub static GROUPS: LazyLock<ResourceType> =
    LazyLock::new(|| ResourceType::new("Group", "/Groups", GROUP, &[]));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_served_schemas_hold_rosters_differences() {
        assert_eq!(DOCUMENTS.len(), 3);
        let users = &*USERS;
        assert!(users.core.attr("password").is_none());
        let emails = users.core.attr("EMAILS").expect("emails");
        assert!(emails.required && emails.multi);
        assert!(emails.sub_attr("value").expect("value").required);
        assert_eq!(
            users.core.attr("groups").map(|a| a.mutability),
            Some(Mutability::ReadOnly)
        );
        assert!(users
            .extension(ENTERPRISE)
            .and_then(|s| s.attr("department"))
            .is_some());
        let members = GROUPS.core.attr("members").expect("members");
        assert_eq!(
            members.sub_attr("display").map(|a| a.mutability),
            Some(Mutability::ReadOnly)
        );
    }
}
