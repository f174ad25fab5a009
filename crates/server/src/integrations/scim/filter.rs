//! What a filter (RFC 7644 §3.4.2.2) means for a document. The grammar is
//! `scim_v2`'s; this decides matches against Roster's schemas: attribute
//! names case-insensitively, strings case-insensitively unless the
//! attribute is `caseExact`, `gt`/`ge`/`lt`/`le` on dates as instants, a
//! multi-valued complex attribute compared through its `value`.

use super::schema::{Attr, Kind, ResourceType};
use super::{Result, ScimError};
use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, Filter, ValFilter};
use serde_json::Value;
use std::cmp::Ordering;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The longest filter Roster reads.
pub const MAX_FILTER_LEN: usize = 4096;

/// Parses a filter; a bad one is `invalidFilter`.
pub fn parse(raw: &str) -> Result<Filter> {
    if raw.len() > MAX_FILTER_LEN {
        return Err(ScimError::invalid_filter("the filter is too long"));
    }
    raw.parse::<Filter>()
        .map_err(|e| ScimError::invalid_filter(format!("the filter does not parse: {e}")))
}

/// Whether a filter names only attributes of `rt` (so that a typo is an
/// error, not an empty answer).
pub fn check(rt: &ResourceType, f: &Filter) -> Result<()> {
    match f {
        Filter::Attr(AttrExp::Present(p) | AttrExp::Comparison(p, _, _)) => {
            resolve(rt, p).map(|_| ())
        }
        Filter::ValuePath(vp) => {
            let (attr, _) = resolve(rt, &vp.attr)?;
            check_val(attr, &vp.filter)
        }
        Filter::Not(inner) => check(rt, inner),
        Filter::And(items) | Filter::Or(items) => items.iter().try_for_each(|i| check(rt, i)),
    }
}

fn check_val(attr: &Attr, f: &ValFilter) -> Result<()> {
    match f {
        ValFilter::Attr(AttrExp::Present(p) | AttrExp::Comparison(p, _, _)) => {
            sub_of(attr, p).map(|_| ())
        }
        ValFilter::Not(inner) => check_val(attr, inner),
        ValFilter::And(items) | ValFilter::Or(items) => {
            items.iter().try_for_each(|i| check_val(attr, i))
        }
    }
}

/// The attribute a path names, and the key of its container (`None`: the
/// document itself; `Some(urn)`: the extension's object).
fn resolve<'a>(rt: &'a ResourceType, p: &AttrPath) -> Result<(&'a Attr, Option<&'a str>)> {
    let schema = rt
        .schema_of(p.uri.as_deref())
        .ok_or_else(|| ScimError::invalid_filter(format!("no schema {:?}", p.uri)))?;
    let attr = schema
        .attr(&p.name)
        .ok_or_else(|| ScimError::invalid_filter(format!("no attribute {:?}", p.name)))?;
    if let Some(sub) = &p.sub_attr {
        attr.sub_attr(sub)
            .ok_or_else(|| ScimError::invalid_filter(format!("no attribute {p}")))?;
    }
    let container = if schema.id == rt.core.id {
        None
    } else {
        Some(schema.id.as_str())
    };
    Ok((attr, container))
}

/// The sub-attribute a value filter's path names (its name, or a
/// sub-attribute written in full: `emails.type` inside `emails[...]`).
fn sub_of<'a>(attr: &'a Attr, p: &AttrPath) -> Result<&'a Attr> {
    let name = match &p.sub_attr {
        Some(sub) if p.name.eq_ignore_ascii_case(&attr.name) => sub,
        _ => &p.name,
    };
    attr.sub_attr(name)
        .ok_or_else(|| ScimError::invalid_filter(format!("{} has no {name:?}", attr.name)))
}

/// Whether `doc` (a rendered resource) matches the filter.
pub fn matches(rt: &ResourceType, f: &Filter, doc: &Value) -> Result<bool> {
    Ok(match f {
        Filter::Attr(e) => {
            let (path, op) = match e {
                AttrExp::Present(p) => (p, None),
                AttrExp::Comparison(p, op, v) => (p, Some((op, v))),
            };
            let (attr, container) = resolve(rt, path)?;
            let holder = match container {
                None => Some(doc),
                Some(urn) => doc.get(urn),
            };
            let value = holder.and_then(|h| h.get(&attr.name));
            let (leaf, values) = leaf_values(attr, path.sub_attr.as_deref(), value);
            test(leaf, &values, op)?
        }
        Filter::ValuePath(vp) => {
            let (attr, container) = resolve(rt, &vp.attr)?;
            let holder = match container {
                None => Some(doc),
                Some(urn) => doc.get(urn),
            };
            let value = holder.and_then(|h| h.get(&attr.name));
            let mut any = false;
            for element in elements(value) {
                if matches_element(attr, &vp.filter, element)? {
                    any = true;
                    break;
                }
            }
            any
        }
        Filter::Not(inner) => !matches(rt, inner, doc)?,
        Filter::And(items) => {
            for i in items.iter() {
                if !matches(rt, i, doc)? {
                    return Ok(false);
                }
            }
            true
        }
        Filter::Or(items) => {
            for i in items.iter() {
                if matches(rt, i, doc)? {
                    return Ok(true);
                }
            }
            false
        }
    })
}

/// Whether one value of a multi-valued complex attribute matches a value
/// filter (`emails[type eq "work"]`).
pub fn matches_element(attr: &Attr, f: &ValFilter, element: &Value) -> Result<bool> {
    Ok(match f {
        ValFilter::Attr(e) => {
            let (path, op) = match e {
                AttrExp::Present(p) => (p, None),
                AttrExp::Comparison(p, op, v) => (p, Some((op, v))),
            };
            let sub = sub_of(attr, path)?;
            let values: Vec<&Value> = element.get(&sub.name).into_iter().collect();
            test(sub, &values, op)?
        }
        ValFilter::Not(inner) => !matches_element(attr, inner, element)?,
        ValFilter::And(items) => {
            for i in items.iter() {
                if !matches_element(attr, i, element)? {
                    return Ok(false);
                }
            }
            true
        }
        ValFilter::Or(items) => {
            for i in items.iter() {
                if matches_element(attr, i, element)? {
                    return Ok(true);
                }
            }
            false
        }
    })
}

/// The values of an attribute one by one (a single value, or each of a
/// multi-valued attribute's).
pub fn elements(value: Option<&Value>) -> Vec<&Value> {
    match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(v) => vec![v],
    }
}

/// The attribute compared and its values: a sub-attribute's values, or a
/// multi-valued complex attribute's `value`s.
fn leaf_values<'a, 'v>(
    attr: &'a Attr,
    sub: Option<&str>,
    value: Option<&'v Value>,
) -> (&'a Attr, Vec<&'v Value>) {
    let sub = match sub {
        Some(s) => attr.sub_attr(s),
        None if attr.kind == Kind::Complex => attr.sub_attr("value"),
        None => None,
    };
    match sub {
        Some(sub) => (
            sub,
            elements(value)
                .into_iter()
                .filter_map(|e| e.get(&sub.name))
                .collect(),
        ),
        None => (attr, elements(value)),
    }
}

fn present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

/// Tests the values of an attribute: presence, or a comparison that any
/// value passes (`ne`: that none is equal).
fn test(attr: &Attr, values: &[&Value], op: Option<(&CompareOp, &CompValue)>) -> Result<bool> {
    let Some((op, comp)) = op else {
        return Ok(values.iter().any(|v| present(v)));
    };
    if *op == CompareOp::Ne {
        for v in values {
            if compare(attr, &CompareOp::Eq, comp, v)? {
                return Ok(false);
            }
        }
        return Ok(true);
    }
    if matches!(comp, CompValue::Null) {
        return match op {
            CompareOp::Eq => Ok(!values.iter().any(|v| present(v))),
            _ => Err(ScimError::invalid_filter(
                "null compares only with eq and ne",
            )),
        };
    }
    for v in values {
        if compare(attr, op, comp, v)? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn ordered(op: &CompareOp, o: Ordering) -> bool {
    match op {
        CompareOp::Gt => o == Ordering::Greater,
        CompareOp::Ge => o != Ordering::Less,
        CompareOp::Lt => o == Ordering::Less,
        CompareOp::Le => o != Ordering::Greater,
        CompareOp::Eq => o == Ordering::Equal,
        _ => false,
    }
}

fn instant(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// One comparison of one value (not `ne`, not `null`).
fn compare(attr: &Attr, op: &CompareOp, comp: &CompValue, v: &Value) -> Result<bool> {
    match attr.kind {
        Kind::Boolean => {
            let want = match comp {
                CompValue::True => true,
                CompValue::False => false,
                CompValue::Str(s) if s.eq_ignore_ascii_case("true") => true,
                CompValue::Str(s) if s.eq_ignore_ascii_case("false") => false,
                _ => {
                    return Err(ScimError::invalid_filter(format!(
                        "{} is a boolean",
                        attr.name
                    )))
                }
            };
            match op {
                CompareOp::Eq => Ok(v.as_bool() == Some(want)),
                _ => Err(ScimError::invalid_filter(format!(
                    "{} is a boolean: compare it with eq, ne or pr",
                    attr.name
                ))),
            }
        }
        Kind::Integer | Kind::Decimal => {
            let CompValue::Number(n) = comp else {
                return Err(ScimError::invalid_filter(format!(
                    "{} is a number",
                    attr.name
                )));
            };
            let (Some(a), Some(b)) = (v.as_f64(), n.as_f64()) else {
                return Ok(false);
            };
            match op {
                CompareOp::Co | CompareOp::Sw | CompareOp::Ew => Err(ScimError::invalid_filter(
                    format!("{} is a number: co, sw and ew compare strings", attr.name),
                )),
                _ => Ok(a.partial_cmp(&b).is_some_and(|o| ordered(op, o))),
            }
        }
        Kind::DateTime => {
            let CompValue::Str(s) = comp else {
                return Err(ScimError::invalid_filter(format!(
                    "{} is a date: compare it with a string such as \"2026-01-31T00:00:00Z\"",
                    attr.name
                )));
            };
            let Some(v) = v.as_str() else {
                return Ok(false);
            };
            match op {
                CompareOp::Co | CompareOp::Sw | CompareOp::Ew => Ok(text(attr, op, s, v)),
                _ => {
                    let want = instant(s).ok_or_else(|| {
                        ScimError::invalid_filter(format!("{s:?} is not an RFC 3339 date"))
                    })?;
                    Ok(instant(v).is_some_and(|have| ordered(op, have.cmp(&want))))
                }
            }
        }
        Kind::Complex => Err(ScimError::invalid_filter(format!(
            "{} is complex: compare one of its sub-attributes",
            attr.name
        ))),
        Kind::String | Kind::Reference | Kind::Binary => {
            let want = match comp {
                CompValue::Str(s) => s.clone(),
                CompValue::Number(n) => n.to_string(),
                CompValue::True => "true".to_owned(),
                CompValue::False => "false".to_owned(),
                CompValue::Null => return Ok(false),
            };
            let Some(v) = v.as_str() else {
                return Ok(false);
            };
            Ok(text(attr, op, &want, v))
        }
    }
}

fn text(attr: &Attr, op: &CompareOp, want: &str, have: &str) -> bool {
    let (want, have) = if attr.case_exact {
        (want.to_owned(), have.to_owned())
    } else {
        (want.to_lowercase(), have.to_lowercase())
    };
    match op {
        CompareOp::Co => have.contains(&want),
        CompareOp::Sw => have.starts_with(&want),
        CompareOp::Ew => have.ends_with(&want),
        other => ordered(other, have.as_str().cmp(want.as_str())),
    }
}

#[cfg(test)]
mod tests {
    use super::super::schema::USERS;
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "id": "7",
            "userName": "Pam.Beesly@dundermifflin.com",
            "externalId": "00u1",
            "displayName": "Pam Beesly",
            "active": true,
            "emails": [
                {"value": "pam@home.example", "type": "home"},
                {"value": "pam@dundermifflin.com", "type": "work", "primary": true}
            ],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Reception"},
            "meta": {"lastModified": "2026-03-01T10:00:00.000Z", "created": "2026-01-01T00:00:00Z"}
        })
    }

    fn yes(f: &str) -> bool {
        let f = parse(f).expect("parses");
        check(&USERS, &f).expect("known attributes");
        matches(&USERS, &f, &user()).expect("evaluates")
    }

    #[test]
    fn every_operator_the_issue_names_works_on_the_attributes_it_names() {
        assert!(yes(r#"userName eq "pam.beesly@dundermifflin.com""#));
        assert!(yes(r#"USERNAME Eq "PAM.BEESLY@dundermifflin.com""#));
        assert!(!yes(r#"userName ne "pam.beesly@dundermifflin.com""#));
        assert!(yes(r#"userName co "beesly""#));
        assert!(yes(r#"userName sw "pam""#));
        assert!(yes(r#"userName ew "mifflin.com""#));
        assert!(yes(r#"emails.value eq "pam@dundermifflin.com""#));
        assert!(yes(r#"emails co "home.example""#));
        assert!(yes(r#"emails[type eq "work" and value ew "mifflin.com"]"#));
        assert!(!yes(r#"emails[type eq "other"]"#));
        assert!(yes(r#"externalId eq "00u1""#));
        assert!(!yes(r#"externalId eq "00U1""#), "externalId is caseExact");
        assert!(yes(r#"displayName pr"#));
        assert!(!yes(r#"nickName pr"#));
        assert!(yes(r#"active eq true"#));
        assert!(!yes(r#"active eq false"#));
        assert!(yes(r#"meta.lastModified gt "2026-02-01T00:00:00Z""#));
        assert!(yes(r#"meta.lastModified ge "2026-03-01T10:00:00Z""#));
        assert!(!yes(r#"meta.lastModified lt "2026-03-01T10:00:00Z""#));
        assert!(yes(r#"meta.lastModified le "2026-03-01T11:00:00+01:00""#));
        assert!(yes(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "reception""#
        ));
        assert!(yes(
            r#"(userName eq "x" or displayName co "pam") and not (active eq false)"#
        ));
        assert!(!yes(r#"userName eq "x" or not (displayName co "pam")"#));
    }

    #[test]
    fn bad_filters_are_invalid_filter_errors() {
        for bad in [
            r#"userName eq"#,
            r#"userName xx "a""#,
            r#"(userName eq "a""#,
            r#"userName eq "a" and"#,
        ] {
            let e = parse(bad).expect_err(bad);
            assert_eq!(e.scim_type, Some("invalidFilter"), "{bad}");
        }
        let unknown = parse(r#"shoeSize eq "9""#).expect("parses");
        assert_eq!(
            check(&USERS, &unknown).map_err(|e| e.scim_type),
            Err(Some("invalidFilter"))
        );
        let f = parse(r#"active gt true"#).expect("parses");
        assert!(matches(&USERS, &f, &user()).is_err());
        let f = parse(r#"meta.lastModified gt "yesterday""#).expect("parses");
        assert!(matches(&USERS, &f, &user()).is_err());
    }
}
