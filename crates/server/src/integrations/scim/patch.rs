//! Documents as they arrive (POST, PUT) and PATCH (RFC 7644 §3.5.2) as
//! Okta and Entra ID send it: `op` in any case (`"Replace"`), booleans as
//! `"True"`/`"False"`, a value object whose keys are paths
//! (`"name.givenName"`, an extension attribute's full URN), value filters
//! in paths (`emails[type eq "work"].value`, created when Entra ID sets an
//! address that is not there yet), and members removed by a value list.

use super::filter::{elements, matches_element};
use super::schema::{Attr, Kind, Mutability, ResourceType, Schema, PATCH_OP};
use super::{Result, ScimError};
use scim_v2::filter::{AttrExp, CompValue, CompareOp, PatchPath, ValFilter};
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The most operations one PATCH may hold.
pub const MAX_OPERATIONS: usize = 1000;

/// Rewrites one value of `attr` in the schema's form; `None`: unassigned.
pub fn value(attr: &Attr, v: &Value, path: &str) -> Result<Option<Value>> {
    if v.is_null() {
        return Ok(None);
    }
    if attr.multi {
        let items: Vec<&Value> = match v {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        let mut out = Vec::new();
        for item in items {
            if let Some(n) = single(attr, item, path)? {
                out.push(n);
            }
        }
        return Ok(if out.is_empty() {
            None
        } else {
            Some(Value::Array(out))
        });
    }
    single(attr, v, path)
}

fn wrong(path: &str, what: &str) -> ScimError {
    ScimError::invalid_value(format!("{path} must be {what}"))
}

/// One value (one element of a multi-valued attribute).
pub fn single(attr: &Attr, v: &Value, path: &str) -> Result<Option<Value>> {
    if v.is_null() {
        return Ok(None);
    }
    Ok(Some(match attr.kind {
        Kind::String | Kind::Reference | Kind::Binary => match v {
            Value::String(_) => v.clone(),
            _ => return Err(wrong(path, "a string")),
        },
        Kind::DateTime => match v.as_str() {
            Some(s) if OffsetDateTime::parse(s, &Rfc3339).is_ok() => v.clone(),
            _ => return Err(wrong(path, "an RFC 3339 date")),
        },
        Kind::Boolean => match v {
            Value::Bool(_) => v.clone(),
            // Entra ID sends booleans as the strings "True" and "False".
            Value::String(s) if s.eq_ignore_ascii_case("true") => Value::Bool(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Value::Bool(false),
            _ => return Err(wrong(path, "true or false")),
        },
        Kind::Integer => match v.as_i64() {
            Some(_) => v.clone(),
            None => return Err(wrong(path, "an integer")),
        },
        Kind::Decimal => match v {
            Value::Number(_) => v.clone(),
            _ => return Err(wrong(path, "a number")),
        },
        Kind::Complex => {
            let Value::Object(fields) = v else {
                return Err(wrong(path, "an object"));
            };
            let mut out = Map::new();
            for (k, fv) in fields {
                let sub = attr.sub_attr(k).ok_or_else(|| {
                    ScimError::invalid_syntax(format!("{path} has no attribute {k:?}"))
                })?;
                if sub.mutability == Mutability::ReadOnly {
                    continue;
                }
                if let Some(n) = single(sub, fv, &format!("{path}.{}", sub.name))? {
                    out.insert(sub.name.clone(), n);
                }
            }
            if out.is_empty() {
                return Ok(None);
            }
            Value::Object(out)
        }
    }))
}

/// The attributes of one schema from an object, in the schema's form.
fn attributes(
    schema: &Schema,
    fields: &Map<String, Value>,
    into: &mut Map<String, Value>,
) -> Result<()> {
    for (k, v) in fields {
        if k.eq_ignore_ascii_case("schemas") {
            continue;
        }
        let attr = schema.attr(k).ok_or_else(|| {
            ScimError::invalid_syntax(format!("{} has no attribute {k:?}", schema.id))
        })?;
        if attr.mutability == Mutability::ReadOnly {
            continue;
        }
        match value(attr, v, &attr.name)? {
            Some(n) => {
                into.insert(attr.name.clone(), n);
            }
            None => {
                into.remove(&attr.name);
            }
        }
    }
    Ok(())
}

/// A whole resource from a POST or PUT body, in the schema's form:
/// read-only attributes (`id`, `meta`, `groups`) dropped, unknown ones
/// refused, required ones checked.
pub fn document(rt: &ResourceType, body: &Value) -> Result<Map<String, Value>> {
    let Value::Object(fields) = body else {
        return Err(ScimError::invalid_syntax("the body must be a JSON object"));
    };
    if let Some(schemas) = get_ci(fields, "schemas") {
        let list = schemas
            .as_array()
            .ok_or_else(|| ScimError::invalid_syntax("schemas must be a list of URNs"))?;
        for s in list {
            let urn = s
                .as_str()
                .ok_or_else(|| ScimError::invalid_syntax("schemas must be a list of URNs"))?;
            if rt.schema_of(Some(urn)).is_none() {
                return Err(ScimError::invalid_value(format!(
                    "a {} does not take the schema {urn}",
                    rt.name
                )));
            }
        }
    }
    let mut out = Map::new();
    for (k, v) in fields {
        if k.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if let Some(ext) = rt.extension(k) {
            let Value::Object(inner) = v else {
                if v.is_null() {
                    continue;
                }
                return Err(ScimError::invalid_value(format!("{k} must be an object")));
            };
            let mut attrs = Map::new();
            attributes(ext, inner, &mut attrs)?;
            if !attrs.is_empty() {
                out.insert(ext.id.clone(), Value::Object(attrs));
            }
            continue;
        }
        let single_field = Map::from_iter([(k.clone(), v.clone())]);
        attributes(&rt.core, &single_field, &mut out)?;
    }
    required(rt, &out)?;
    Ok(out)
}

fn get_ci<'a>(fields: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// Refuses a document without a required attribute.
pub fn required(rt: &ResourceType, doc: &Map<String, Value>) -> Result<()> {
    for attr in &rt.core.attrs {
        if attr.required
            && doc
                .get(&attr.name)
                .is_none_or(|v| elements(Some(v)).is_empty())
        {
            return Err(ScimError::invalid_value(format!(
                "{} is required",
                attr.name
            )));
        }
        if attr.required && attr.multi {
            for element in elements(doc.get(&attr.name)) {
                for sub in attr.sub.iter().filter(|s| s.required) {
                    if element.get(&sub.name).is_none() {
                        return Err(ScimError::invalid_value(format!(
                            "each of {} needs {}",
                            attr.name, sub.name
                        )));
                    }
                }
            }
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Remove,
    Replace,
}

/// One PATCH operation, as received.
#[derive(Debug, Clone)]
pub struct Operation {
    op: Op,
    path: Option<String>,
    value: Option<Value>,
}

/// Reads a PatchOp body.
pub fn operations(body: &Value) -> Result<Vec<Operation>> {
    let Value::Object(fields) = body else {
        return Err(ScimError::invalid_syntax("the body must be a JSON object"));
    };
    let is_patch = get_ci(fields, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter()
                .any(|u| u.as_str().is_some_and(|u| u.eq_ignore_ascii_case(PATCH_OP)))
        });
    if !is_patch {
        return Err(ScimError::invalid_syntax(format!(
            "a PATCH body names the schema {PATCH_OP}"
        )));
    }
    let ops = get_ci(fields, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::invalid_syntax("a PATCH body has a list of Operations"))?;
    if ops.is_empty() || ops.len() > MAX_OPERATIONS {
        return Err(ScimError::invalid_syntax(format!(
            "a PATCH holds 1 to {MAX_OPERATIONS} operations"
        )));
    }
    let mut out = Vec::new();
    for o in ops {
        let Value::Object(o) = o else {
            return Err(ScimError::invalid_syntax("each operation is an object"));
        };
        let op = match get_ci(o, "op").and_then(Value::as_str) {
            Some(s) if s.eq_ignore_ascii_case("add") => Op::Add,
            Some(s) if s.eq_ignore_ascii_case("remove") => Op::Remove,
            Some(s) if s.eq_ignore_ascii_case("replace") => Op::Replace,
            _ => {
                return Err(ScimError::invalid_syntax(
                    "each operation's op is add, remove or replace",
                ))
            }
        };
        let path = match get_ci(o, "path") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) if p.trim().is_empty() => None,
            Some(Value::String(p)) => Some(p.clone()),
            Some(_) => return Err(ScimError::invalid_path("a path is a string")),
        };
        out.push(Operation {
            op,
            path,
            value: get_ci(o, "value").cloned(),
        });
    }
    Ok(out)
}

/// Where an operation points.
enum Target<'a> {
    /// A whole extension (its URN as the path).
    Extension(&'a Schema),
    Attribute {
        /// The extension holding it (`None`: the resource itself).
        container: Option<&'a str>,
        attr: &'a Attr,
        filter: Option<ValFilter>,
        sub: Option<&'a Attr>,
    },
}

fn target<'a>(rt: &'a ResourceType, raw: &str) -> Result<Target<'a>> {
    let raw = raw.trim();
    if let Some(ext) = rt.extension(raw) {
        return Ok(Target::Extension(ext));
    }
    let parsed: PatchPath = raw
        .parse()
        .map_err(|e| ScimError::invalid_path(format!("the path {raw:?} does not parse: {e}")))?;
    let (ap, filter, sub_name) = match parsed {
        PatchPath::Attr(ap) => {
            let sub = ap.sub_attr.clone();
            (ap, None, sub)
        }
        PatchPath::Value(vp) => (vp.attr, Some(vp.filter), vp.sub_attr),
    };
    let schema = rt
        .schema_of(ap.uri.as_deref())
        .ok_or_else(|| ScimError::invalid_path(format!("no schema in {raw:?}")))?;
    let attr = schema
        .attr(&ap.name)
        .ok_or_else(|| ScimError::invalid_path(format!("no attribute {:?}", ap.name)))?;
    if filter.is_some() && !attr.multi {
        return Err(ScimError::invalid_path(format!(
            "{} has one value: a value filter needs a multi-valued attribute",
            attr.name
        )));
    }
    let sub = match sub_name {
        Some(s) => Some(
            attr.sub_attr(&s)
                .ok_or_else(|| ScimError::invalid_path(format!("{} has no {s:?}", attr.name)))?,
        ),
        None => None,
    };
    if attr.mutability == Mutability::ReadOnly
        || sub.is_some_and(|s| s.mutability == Mutability::ReadOnly)
    {
        return Err(ScimError::bad("mutability", format!("{raw} is read-only")));
    }
    let container = if schema.id == rt.core.id {
        None
    } else {
        Some(schema.id.as_str())
    };
    Ok(Target::Attribute {
        container,
        attr,
        filter,
        sub,
    })
}

/// The object holding an attribute, made when missing.
fn holder<'d>(
    doc: &'d mut Map<String, Value>,
    container: Option<&str>,
) -> &'d mut Map<String, Value> {
    match container {
        None => doc,
        Some(urn) => {
            let slot = doc
                .entry(urn.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            match slot {
                Value::Object(m) => m,
                _ => unreachable!("made an object above"),
            }
        }
    }
}

/// Applies the operations to a document in the schema's form, then checks
/// what is required. Any failure leaves the caller's document unused.
pub fn apply(rt: &ResourceType, doc: &mut Map<String, Value>, ops: &[Operation]) -> Result<()> {
    for o in ops {
        match &o.path {
            None => whole(rt, doc, o)?,
            Some(p) => at(rt, doc, o.op, &target(rt, p)?, o.value.as_ref(), p)?,
        }
    }
    tidy(doc);
    required(rt, doc)
}

/// An operation without a path: its value's keys are attributes, or paths.
fn whole(rt: &ResourceType, doc: &mut Map<String, Value>, o: &Operation) -> Result<()> {
    if o.op == Op::Remove {
        return Err(ScimError::bad("noTarget", "remove needs a path"));
    }
    let Some(Value::Object(fields)) = &o.value else {
        return Err(ScimError::invalid_value(
            "an operation without a path takes an object of attributes",
        ));
    };
    for (k, v) in fields {
        // Okta repeats what the resource already says; those never change.
        if ["schemas", "id", "meta"]
            .iter()
            .any(|r| k.eq_ignore_ascii_case(r))
        {
            continue;
        }
        if let Some(ext) = rt.extension(k) {
            let Value::Object(inner) = v else {
                return Err(ScimError::invalid_value(format!("{k} must be an object")));
            };
            for (ik, iv) in inner {
                if ik.eq_ignore_ascii_case("schemas") {
                    continue;
                }
                let attr = ext.attr(ik).ok_or_else(|| {
                    ScimError::invalid_path(format!("{} has no attribute {ik:?}", ext.id))
                })?;
                let t = Target::Attribute {
                    container: Some(ext.id.as_str()),
                    attr,
                    filter: None,
                    sub: None,
                };
                at(rt, doc, o.op, &t, Some(iv), ik)?;
            }
            continue;
        }
        let t = target(rt, k)?;
        at(rt, doc, o.op, &t, Some(v), k)?;
    }
    Ok(())
}

/// The `eq` terms of a value filter joined by `and`, as fields of a new
/// value (`type eq "work"` → `{"type": "work"}`); `None` for any other
/// filter.
fn as_fields(attr: &Attr, f: &ValFilter) -> Option<Map<String, Value>> {
    match f {
        ValFilter::Attr(AttrExp::Comparison(p, CompareOp::Eq, v)) => {
            let name = p.sub_attr.as_deref().unwrap_or(&p.name);
            let sub = attr.sub_attr(name)?;
            let v = match v {
                CompValue::Str(s) => Value::from(s.clone()),
                CompValue::True => Value::Bool(true),
                CompValue::False => Value::Bool(false),
                CompValue::Number(n) => Value::Number(n.clone()),
                CompValue::Null => return None,
            };
            Some(Map::from_iter([(sub.name.clone(), v)]))
        }
        ValFilter::And(items) => {
            let mut out = Map::new();
            for i in items.iter() {
                out.extend(as_fields(attr, i)?);
            }
            Some(out)
        }
        _ => None,
    }
}

/// Makes the new element the only primary one.
fn one_primary(items: &mut [Value], chosen: usize) {
    let chosen_primary = items
        .get(chosen)
        .and_then(|v| v.get("primary"))
        .and_then(Value::as_bool)
        == Some(true);
    if chosen_primary {
        for (i, item) in items.iter_mut().enumerate() {
            if i != chosen {
                if let Some(o) = item.as_object_mut() {
                    if o.get("primary") == Some(&Value::Bool(true)) {
                        o.insert("primary".to_owned(), Value::Bool(false));
                    }
                }
            }
        }
    }
}

fn at(
    rt: &ResourceType,
    doc: &mut Map<String, Value>,
    op: Op,
    t: &Target<'_>,
    v: Option<&Value>,
    raw: &str,
) -> Result<()> {
    let needs_value = || {
        v.filter(|v| !v.is_null() || op == Op::Replace)
            .ok_or_else(|| ScimError::invalid_value(format!("{raw}: {op:?} needs a value")))
    };
    let (container, attr, filter, sub) = match t {
        Target::Extension(ext) => {
            match op {
                Op::Remove => {
                    doc.remove(&ext.id);
                }
                Op::Add | Op::Replace => {
                    let Value::Object(fields) = needs_value()? else {
                        return Err(ScimError::invalid_value(format!("{raw} takes an object")));
                    };
                    let h = holder(doc, Some(&ext.id));
                    attributes(ext, fields, h)?;
                }
            }
            return Ok(());
        }
        Target::Attribute {
            container,
            attr,
            filter,
            sub,
        } => (*container, *attr, filter, *sub),
    };
    let _ = rt;
    let h = holder(doc, container);
    if let Some(filter) = filter {
        // Check the filter once, whatever the elements.
        matches_element(attr, filter, &Value::Object(Map::new()))
            .map_err(|e| ScimError::invalid_path(e.detail))?;
        let mut items: Vec<Value> = elements(h.get(&attr.name)).into_iter().cloned().collect();
        let mut hits = Vec::new();
        for (i, item) in items.iter().enumerate() {
            if matches_element(attr, filter, item)? {
                hits.push(i);
            }
        }
        match op {
            Op::Remove => {
                if let Some(sub) = sub {
                    for &i in &hits {
                        if let Some(o) = items[i].as_object_mut() {
                            o.remove(&sub.name);
                        }
                    }
                } else {
                    let mut i = 0;
                    items.retain(|_| {
                        let keep = !hits.contains(&i);
                        i += 1;
                        keep
                    });
                }
            }
            Op::Add | Op::Replace => {
                let value = needs_value()?;
                if hits.is_empty() {
                    // Entra ID sets `emails[type eq "work"].value` on a
                    // user without a work address: the element is made.
                    let mut fields = as_fields(attr, filter).ok_or_else(|| {
                        ScimError::bad(
                            "noTarget",
                            format!("no value of {} matches {raw}", attr.name),
                        )
                    })?;
                    match sub {
                        Some(sub) => {
                            if let Some(n) = single(sub, value, raw)? {
                                fields.insert(sub.name.clone(), n);
                            }
                        }
                        None => {
                            if let Some(Value::Object(n)) = single(attr, value, raw)? {
                                fields.extend(n);
                            }
                        }
                    }
                    let made = single(attr, &Value::Object(fields), raw)?;
                    if let Some(made) = made {
                        items.push(made);
                        let last = items.len() - 1;
                        one_primary(&mut items, last);
                    }
                } else {
                    for &i in &hits {
                        match sub {
                            Some(sub) => {
                                let n = single(sub, value, raw)?;
                                if let Some(o) = items[i].as_object_mut() {
                                    match n {
                                        Some(n) => o.insert(sub.name.clone(), n),
                                        None => o.remove(&sub.name),
                                    };
                                }
                            }
                            None => {
                                let n = single(attr, value, raw)?;
                                match (op, n) {
                                    (Op::Add, Some(Value::Object(n))) => {
                                        if let Some(o) = items[i].as_object_mut() {
                                            o.extend(n);
                                        }
                                    }
                                    (_, Some(n)) => items[i] = n,
                                    (_, None) => {}
                                }
                            }
                        }
                        one_primary(&mut items, i);
                    }
                }
            }
        }
        set(h, attr, items);
        return Ok(());
    }
    if let Some(sub) = sub {
        // `name.givenName`, or a sub-attribute of every value.
        if attr.multi {
            let mut items: Vec<Value> = elements(h.get(&attr.name)).into_iter().cloned().collect();
            if items.is_empty() && op != Op::Remove {
                return Err(ScimError::bad(
                    "noTarget",
                    format!("{} has no values to set {} on", attr.name, sub.name),
                ));
            }
            let n = match op {
                Op::Remove => None,
                _ => single(sub, needs_value()?, raw)?,
            };
            for item in &mut items {
                if let Some(o) = item.as_object_mut() {
                    match &n {
                        Some(n) => o.insert(sub.name.clone(), n.clone()),
                        None => o.remove(&sub.name),
                    };
                }
            }
            set(h, attr, items);
        } else {
            let n = match op {
                Op::Remove => None,
                _ => single(sub, needs_value()?, raw)?,
            };
            let slot = h
                .entry(attr.name.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(o) = slot.as_object_mut() {
                match n {
                    Some(n) => o.insert(sub.name.clone(), n),
                    None => o.remove(&sub.name),
                };
            }
        }
        return Ok(());
    }
    match op {
        Op::Remove => {
            match (attr.multi, v) {
                // Entra ID removes members by listing them as the value.
                (true, Some(Value::Array(gone))) if !gone.is_empty() => {
                    let gone: Vec<&Value> = gone.iter().filter_map(|g| g.get("value")).collect();
                    let items: Vec<Value> = elements(h.get(&attr.name))
                        .into_iter()
                        .filter(|i| !i.get("value").is_some_and(|x| gone.contains(&x)))
                        .cloned()
                        .collect();
                    set(h, attr, items);
                }
                _ => {
                    h.remove(&attr.name);
                }
            }
        }
        Op::Add | Op::Replace => {
            let n = value(attr, needs_value()?, raw)?;
            match n {
                None => {
                    if op == Op::Replace {
                        h.remove(&attr.name);
                    }
                }
                Some(Value::Array(new)) if op == Op::Add => {
                    let mut items: Vec<Value> =
                        elements(h.get(&attr.name)).into_iter().cloned().collect();
                    for item in new {
                        if !items.contains(&item) {
                            items.push(item);
                            let last = items.len() - 1;
                            one_primary(&mut items, last);
                        }
                    }
                    set(h, attr, items);
                }
                Some(Value::Object(new)) if attr.kind == Kind::Complex => {
                    // Sub-attributes given replace, the others stay
                    // (RFC 7644 §3.5.2.1 and §3.5.2.3).
                    let slot = h
                        .entry(attr.name.clone())
                        .or_insert_with(|| Value::Object(Map::new()));
                    match slot.as_object_mut() {
                        Some(o) => o.extend(new),
                        None => *slot = Value::Object(new),
                    }
                }
                Some(n) => {
                    h.insert(attr.name.clone(), n);
                }
            }
        }
    }
    Ok(())
}

fn set(h: &mut Map<String, Value>, attr: &Attr, items: Vec<Value>) {
    if items.is_empty() {
        h.remove(&attr.name);
    } else {
        h.insert(attr.name.clone(), Value::Array(items));
    }
}

/// Drops what is unassigned: empty objects and lists, and extensions left
/// with nothing.
fn tidy(doc: &mut Map<String, Value>) {
    fn empty(v: &Value) -> bool {
        match v {
            Value::Null => true,
            Value::Array(a) => a.is_empty(),
            Value::Object(o) => o.is_empty(),
            _ => false,
        }
    }
    for v in doc.values_mut() {
        if let Value::Object(o) = v {
            for inner in o.values_mut() {
                if let Value::Object(io) = inner {
                    io.retain(|_, x| !empty(x));
                }
            }
            o.retain(|_, x| !empty(x));
        }
    }
    doc.retain(|_, v| !empty(v));
}

#[cfg(test)]
mod tests {
    use super::super::schema::{ENTERPRISE, GROUPS, USERS};
    use super::*;
    use serde_json::json;

    fn doc() -> Map<String, Value> {
        document(
            &USERS,
            &json!({
                "schemas": [super::super::schema::USER],
                "UserName": "pam",
                "name": {"givenName": "Pam", "familyName": "Beesly"},
                "emails": [{"value": "pam@dundermifflin.com", "type": "work", "primary": true}],
                "active": "True",
                "groups": [{"value": "1"}],
                "id": "ignored",
            }),
        )
        .expect("a valid user")
    }

    fn patch(d: &mut Map<String, Value>, body: Value) -> Result<()> {
        apply(&USERS, d, &operations(&body)?)
    }

    #[test]
    fn documents_take_the_schemas_spelling_and_drop_read_only_attributes() {
        let d = doc();
        assert_eq!(d["userName"], "pam");
        assert_eq!(d["active"], true);
        assert!(!d.contains_key("groups") && !d.contains_key("id"));
        let unknown = document(
            &USERS,
            &json!({"userName": "x", "emails": [{"value": "x@y.z"}], "shoeSize": 9}),
        );
        assert_eq!(unknown.map_err(|e| e.scim_type), Err(Some("invalidSyntax")));
        let missing = document(&USERS, &json!({"emails": [{"value": "x@y.z"}]}));
        assert_eq!(missing.map_err(|e| e.scim_type), Err(Some("invalidValue")));
    }

    #[test]
    fn entra_ids_dialect_is_understood() {
        let mut d = doc();
        patch(
            &mut d,
            json!({"schemas": [PATCH_OP], "Operations": [
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "Add", "path": "emails[type eq \"home\"].value", "value": "pam@home.example"},
                {"op": "Replace", "value": {"name.givenName": "Pamela",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Sales"}},
            ]}),
        )
        .expect("applies");
        assert_eq!(d["active"], false);
        assert_eq!(d["name"]["givenName"], "Pamela");
        assert_eq!(d["name"]["familyName"], "Beesly");
        assert_eq!(d[ENTERPRISE]["department"], "Sales");
        assert_eq!(
            d["emails"][1],
            json!({"type": "home", "value": "pam@home.example"})
        );
        patch(
            &mut d,
            json!({"schemas": [PATCH_OP], "Operations": [
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "pb@dundermifflin.com"},
                {"op": "remove", "path": "emails[type eq \"home\"]"},
            ]}),
        )
        .expect("applies");
        assert_eq!(
            d["emails"],
            json!([{"value": "pb@dundermifflin.com", "type": "work", "primary": true}])
        );
    }

    #[test]
    fn bad_patches_are_refused_with_their_scim_type() {
        let cases = [
            (
                json!({"Operations": [{"op": "add", "path": "title", "value": "x"}]}),
                "invalidSyntax",
            ),
            (
                json!({"schemas": [PATCH_OP], "Operations": [{"op": "move", "path": "title"}]}),
                "invalidSyntax",
            ),
            (
                json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "groups", "value": []}]}),
                "mutability",
            ),
            (
                json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "id", "value": "9"}]}),
                "mutability",
            ),
            (
                json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "shoeSize", "value": 9}]}),
                "invalidPath",
            ),
            (
                json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "emails[type eq]", "value": 9}]}),
                "invalidPath",
            ),
            (
                json!({"schemas": [PATCH_OP], "Operations": [{"op": "remove"}]}),
                "noTarget",
            ),
            (
                json!({"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": "userName"}]}),
                "invalidValue",
            ),
            (
                json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": "maybe"}]}),
                "invalidValue",
            ),
        ];
        for (body, want) in cases {
            let mut d = doc();
            let before = d.clone();
            let got = patch(&mut d, body.clone()).expect_err(&body.to_string());
            assert_eq!(got.scim_type, Some(want), "{body}: {}", got.detail);
            let _ = before;
        }
    }

    #[test]
    fn group_members_are_added_and_removed_as_okta_and_entra_send_them() {
        let mut g = document(
            &GROUPS,
            &json!({"displayName": "Sales", "members": [{"value": "1"}, {"value": "2"}]}),
        )
        .expect("a group");
        let ops = operations(&json!({"schemas": [PATCH_OP], "Operations": [
            {"op": "add", "path": "members", "value": [{"value": "3"}]},
            {"op": "remove", "path": "members[value eq \"1\"]"},
            {"op": "Remove", "path": "members", "value": [{"value": "2"}]},
        ]}))
        .expect("reads");
        apply(&GROUPS, &mut g, &ops).expect("applies");
        assert_eq!(g["members"], json!([{"value": "3"}]));
    }
}
