//! Roster's people and groups as SCIM resources, and back: what Roster
//! keeps (status, team, groups, the account's address) is written over
//! the document the directory sent; a resource from the directory becomes
//! what [`crate::app::scim`] takes.

use super::filter;
use super::schema::{ResourceType, ENTERPRISE, GROUP, GROUPS, USER, USERS};
use super::{Result, ScimError};
use crate::app::scim::{DirectoryGroupSpec, DirectoryUser, ProvisionedGroup, ProvisionedUser};
use crate::app::time::rfc3339;
use roster_domain::{DisplayName, Email, MemberStatus, Team, UserId};
use scim_v2::filter::PatchPath;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

/// Attributes Roster keeps in its own columns, never in the document.
const KEPT_APART: &[&str] = &["id", "meta", "schemas", "groups", "userName", "externalId"];

/// The weak ETag of a resource: a hash of what it says (not its `meta`).
pub fn version(doc: &Value) -> String {
    let mut without_meta = doc.clone();
    if let Some(o) = without_meta.as_object_mut() {
        o.remove("meta");
    }
    let digest = Sha256::digest(without_meta.to_string().as_bytes());
    let hex: String = digest.iter().take(10).map(|b| format!("{b:02x}")).collect();
    format!("W/\"{hex}\"")
}

fn with_meta(
    mut doc: Map<String, Value>,
    kind: &str,
    location: String,
    created: String,
    modified: String,
) -> Value {
    let mut v = Value::Object(doc.clone());
    let version = version(&v);
    doc.insert(
        "meta".to_owned(),
        json!({
            "resourceType": kind,
            "created": created,
            "lastModified": modified,
            "location": location,
            "version": version,
        }),
    );
    v = Value::Object(doc);
    v
}

/// A person as a SCIM User.
pub fn user(base: &str, u: &ProvisionedUser) -> Value {
    let m = &u.member.member;
    let stored: Option<Map<String, Value>> = u
        .member
        .scim_document
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok());
    let written = stored.is_some();
    let mut doc = stored.unwrap_or_else(|| {
        // A member the directory never wrote: what Roster knows.
        let mut d = Map::new();
        d.insert("displayName".to_owned(), Value::from(m.name.clone()));
        d.insert(
            "emails".to_owned(),
            json!([{ "value": m.email, "type": "work", "primary": true }]),
        );
        d
    });
    let mut out = Map::new();
    out.insert("id".to_owned(), Value::from(m.user_id.get().to_string()));
    if let Some(e) = &u.member.scim_external_id {
        out.insert("externalId".to_owned(), Value::from(e.clone()));
    }
    out.insert(
        "userName".to_owned(),
        Value::from(
            u.member
                .scim_user_name
                .clone()
                .unwrap_or_else(|| m.email.clone()),
        ),
    );
    // Roster's status wins; `active` shows when the directory wrote it, or
    // when the member is not active.
    let active = m.status == MemberStatus::Active;
    if !written || doc.contains_key("active") || !active {
        doc.insert("active".to_owned(), Value::Bool(active));
    }
    // The team is the Enterprise User's department.
    let ext = doc
        .entry(ENTERPRISE.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(ext) = ext.as_object_mut() {
        if m.team.is_empty() {
            ext.remove("department");
        } else {
            ext.insert("department".to_owned(), Value::from(m.team.clone()));
        }
    }
    if doc
        .get(ENTERPRISE)
        .and_then(Value::as_object)
        .is_some_and(Map::is_empty)
    {
        doc.remove(ENTERPRISE);
    }
    if !u.groups.is_empty() {
        let groups: Vec<Value> = u
            .groups
            .iter()
            .map(|(id, display)| {
                json!({
                    "value": id.get().to_string(),
                    "$ref": format!("{base}/Groups/{id}"),
                    "display": display,
                    "type": "direct",
                })
            })
            .collect();
        doc.insert("groups".to_owned(), Value::Array(groups));
    }
    let mut schemas = vec![Value::from(USER)];
    if doc.contains_key(ENTERPRISE) {
        schemas.push(Value::from(ENTERPRISE));
    }
    out.insert("schemas".to_owned(), Value::Array(schemas));
    for (k, v) in doc {
        if !KEPT_APART.contains(&k.as_str()) || k == "groups" {
            out.insert(k, v);
        }
    }
    with_meta(
        out,
        "User",
        format!("{base}/Users/{}", m.user_id),
        rfc3339(m.joined_at),
        rfc3339(u.member.updated_at),
    )
}

/// A group as a SCIM Group.
pub fn group(base: &str, g: &ProvisionedGroup) -> Value {
    let mut out = Map::new();
    out.insert("schemas".to_owned(), json!([GROUP]));
    out.insert("id".to_owned(), Value::from(g.group.id.get().to_string()));
    if let Some(e) = &g.group.scim_external_id {
        out.insert("externalId".to_owned(), Value::from(e.clone()));
    }
    out.insert(
        "displayName".to_owned(),
        Value::from(
            g.group
                .scim_display_name
                .clone()
                .unwrap_or_else(|| g.group.name.clone()),
        ),
    );
    if !g.members.is_empty() {
        let members: Vec<Value> = g
            .members
            .iter()
            .map(|(id, _)| {
                json!({
                    "value": id.get().to_string(),
                    "$ref": format!("{base}/Users/{id}"),
                    "type": "User",
                })
            })
            .collect();
        out.insert("members".to_owned(), Value::Array(members));
    }
    with_meta(
        out,
        "Group",
        format!("{base}/Groups/{}", g.group.id),
        rfc3339(g.group.created_at),
        rfc3339(g.group.updated_at.unwrap_or(g.group.created_at)),
    )
}

/// The document of a rendered resource in the schema's form, to apply a
/// PATCH to (Roster's own attributes included, so paths find them).
pub fn editable(rendered: &Value) -> Map<String, Value> {
    let mut doc = rendered.as_object().cloned().unwrap_or_default();
    for k in ["id", "meta", "schemas", "groups"] {
        doc.remove(k);
    }
    doc
}

fn text(doc: &Map<String, Value>, key: &str) -> Option<String> {
    doc.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// The address of a User: its userName when that is an email, else its
/// primary address, else its work address, else its first.
fn address(doc: &Map<String, Value>) -> Option<Email> {
    if let Some(e) = doc
        .get("userName")
        .and_then(Value::as_str)
        .and_then(|u| Email::parse(u).ok())
    {
        return Some(e);
    }
    let emails = filter::elements(doc.get("emails"));
    let pick = |f: &dyn Fn(&Value) -> bool| {
        emails
            .iter()
            .find(|e| f(e))
            .and_then(|e| e.get("value"))
            .and_then(Value::as_str)
            .and_then(|v| Email::parse(v).ok())
    };
    pick(&|e| e.get("primary").and_then(Value::as_bool) == Some(true))
        .or_else(|| pick(&|e| e.get("type").and_then(Value::as_str) == Some("work")))
        .or_else(|| pick(&|_| true))
}

/// The name Roster shows for a User: displayName, else name.formatted,
/// else given and family names.
fn display_name(doc: &Map<String, Value>) -> Option<DisplayName> {
    let name = doc.get("name");
    let part = |k: &str| name.and_then(|n| n.get(k)).and_then(Value::as_str);
    let joined = [part("givenName"), part("familyName")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    [
        text(doc, "displayName"),
        part("formatted").map(str::to_owned),
        Some(joined),
    ]
    .into_iter()
    .flatten()
    .find_map(|n| DisplayName::parse(&n).ok())
}

/// What a User document (in the schema's form) says, in Roster's terms.
pub fn directory_user(doc: &Map<String, Value>) -> Result<DirectoryUser> {
    let user_name = text(doc, "userName")
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty())
        .ok_or_else(|| ScimError::invalid_value("userName is required"))?;
    if user_name.chars().count() > 254 {
        return Err(ScimError::invalid_value(
            "userName has at most 254 characters",
        ));
    }
    let external_id = text(doc, "externalId");
    if external_id
        .as_ref()
        .is_some_and(|e| e.chars().count() > 254)
    {
        return Err(ScimError::invalid_value(
            "externalId has at most 254 characters",
        ));
    }
    let department = doc
        .get(ENTERPRISE)
        .and_then(|e| e.get("department"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let team = Team::parse(department).map_err(|_| {
        ScimError::invalid_value("department has at most 100 characters and no control characters")
    })?;
    let mut kept = doc.clone();
    for k in KEPT_APART {
        kept.remove(*k);
    }
    Ok(DirectoryUser {
        user_name,
        external_id,
        email: address(doc),
        name: display_name(doc),
        active: doc.get("active").and_then(Value::as_bool).unwrap_or(true),
        team,
        document: Value::Object(kept).to_string(),
    })
}

/// What a Group document says, in Roster's terms.
pub fn directory_group(doc: &Map<String, Value>) -> Result<DirectoryGroupSpec> {
    let display_name = text(doc, "displayName")
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty())
        .ok_or_else(|| ScimError::invalid_value("displayName is required"))?;
    if display_name.chars().count() > 200 {
        return Err(ScimError::invalid_value(
            "displayName has at most 200 characters",
        ));
    }
    let mut members = BTreeSet::new();
    for m in filter::elements(doc.get("members")) {
        if m.get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| !t.eq_ignore_ascii_case("User"))
        {
            return Err(ScimError::invalid_value(
                "a group's members are Users (Roster groups do not nest)",
            ));
        }
        // A value that is no User id is no member of this org: it is left
        // out, as another org's ids are (below), never an error that would
        // say which ids exist.
        let Some(id) = m
            .get("value")
            .and_then(Value::as_str)
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|v| *v > 0)
        else {
            continue;
        };
        members.insert(UserId::new(id));
    }
    Ok(DirectoryGroupSpec {
        display_name,
        external_id: text(doc, "externalId"),
        members,
        since: None,
    })
}

/// The attributes a list of names picks: their top-level keys, and the
/// extension attributes (`urn:...:User:department`).
fn picks(rt: &ResourceType, names: &[String]) -> Vec<(Option<String>, String, Option<String>)> {
    let mut out = Vec::new();
    for raw in names.iter().flat_map(|n| n.split(',')) {
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        if let Some(ext) = rt.extension(raw) {
            out.push((Some(ext.id.clone()), String::new(), None));
            continue;
        }
        let Ok(PatchPath::Attr(ap)) = raw.parse::<PatchPath>() else {
            continue;
        };
        let Some(schema) = rt.schema_of(ap.uri.as_deref()) else {
            continue;
        };
        let Some(attr) = schema.attr(&ap.name) else {
            continue;
        };
        let container = (schema.id != rt.core.id).then(|| schema.id.clone());
        let sub = ap
            .sub_attr
            .and_then(|s| attr.sub_attr(&s).map(|a| a.name.clone()));
        out.push((container, attr.name.clone(), sub));
    }
    out
}

/// Applies `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5): `id`
/// and `schemas` always stay.
pub fn project(rt: &ResourceType, doc: Value, attributes: &[String], excluded: &[String]) -> Value {
    let Value::Object(mut o) = doc else {
        return doc;
    };
    let wanted = picks(rt, attributes);
    if !wanted.is_empty() {
        let mut out = Map::new();
        for k in ["schemas", "id"] {
            if let Some(v) = o.get(k) {
                out.insert(k.to_owned(), v.clone());
            }
        }
        for (container, name, sub) in wanted {
            let source = match &container {
                None => Some(&o),
                Some(urn) => o.get(urn).and_then(Value::as_object),
            };
            let Some(source) = source else { continue };
            let value = if name.is_empty() {
                Some(Value::Object(source.clone()))
            } else {
                match (&sub, source.get(&name)) {
                    (None, Some(v)) => Some(v.clone()),
                    (Some(s), Some(Value::Object(inner))) => {
                        inner.get(s).map(|x| json!({ s.clone(): x.clone() }))
                    }
                    (Some(s), Some(Value::Array(items))) => Some(Value::Array(
                        items
                            .iter()
                            .filter_map(|i| i.get(s).map(|x| json!({ s.clone(): x.clone() })))
                            .collect(),
                    )),
                    _ => None,
                }
            };
            let Some(value) = value else { continue };
            match container {
                None => {
                    merge_into(&mut out, &name, value);
                }
                Some(urn) => {
                    let slot = out.entry(urn).or_insert_with(|| Value::Object(Map::new()));
                    if name.is_empty() {
                        *slot = value;
                    } else if let Some(so) = slot.as_object_mut() {
                        merge_into(so, &name, value);
                    }
                }
            }
        }
        o = out;
    }
    for (container, name, sub) in picks(rt, excluded) {
        if name == "id" && container.is_none() {
            continue;
        }
        let target = match &container {
            None => Some(&mut o),
            Some(urn) => o.get_mut(urn).and_then(Value::as_object_mut),
        };
        let Some(target) = target else { continue };
        if name.is_empty() {
            if let Some(urn) = &container {
                o.remove(urn);
            }
            continue;
        }
        match sub {
            None => {
                target.remove(&name);
            }
            Some(s) => match target.get_mut(&name) {
                Some(Value::Object(inner)) => {
                    inner.remove(&s);
                }
                Some(Value::Array(items)) => {
                    for i in items.iter_mut().filter_map(Value::as_object_mut) {
                        i.remove(&s);
                    }
                }
                _ => {}
            },
        }
    }
    // The schemas list names what is left.
    if rt.name == "User" {
        let mut schemas = vec![Value::from(USER)];
        if o.contains_key(ENTERPRISE) {
            schemas.push(Value::from(ENTERPRISE));
        }
        o.insert("schemas".to_owned(), Value::Array(schemas));
    }
    Value::Object(o)
}

fn merge_into(out: &mut Map<String, Value>, name: &str, value: Value) {
    match (out.get_mut(name), value) {
        (Some(Value::Object(have)), Value::Object(more)) => have.extend(more),
        (_, value) => {
            out.insert(name.to_owned(), value);
        }
    }
}

/// The resource type of a `/Users` or `/Groups` document.
pub fn resource_type(kind: &str) -> &'static ResourceType {
    if kind == "Group" {
        &GROUPS
    } else {
        &USERS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_and_excluded_attributes_keep_id_and_schemas() {
        let doc = json!({
            "schemas": [USER, ENTERPRISE],
            "id": "5",
            "userName": "pam",
            "name": {"givenName": "Pam", "familyName": "Beesly"},
            "emails": [{"value": "pam@x.example", "type": "work"}],
            ENTERPRISE: {"department": "Sales", "costCenter": "1"},
            "meta": {"resourceType": "User"}
        });
        let only = project(
            &USERS,
            doc.clone(),
            &["userName,name.givenName".to_owned()],
            &[],
        );
        assert_eq!(
            only,
            json!({"schemas": [USER], "id": "5", "userName": "pam", "name": {"givenName": "Pam"}})
        );
        let ext = project(
            &USERS,
            doc.clone(),
            &[format!("{ENTERPRISE}:department")],
            &[],
        );
        assert_eq!(ext[ENTERPRISE], json!({"department": "Sales"}));
        let without = project(
            &USERS,
            doc,
            &[],
            &["name".to_owned(), "id".to_owned(), ENTERPRISE.to_owned()],
        );
        assert!(without.get("name").is_none() && without.get(ENTERPRISE).is_none());
        assert_eq!(without["id"], "5");
        assert_eq!(without["schemas"], json!([USER]));
    }
}
