//! Validation of an object against its structural schema, with upstream's messages
//! (`spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer:
//! "string"`): types and formats, enums, bounds, lengths, patterns, required properties,
//! nullability, and the uniqueness of `set` and `map` lists.

use serde_json::Value;

use super::{RESOURCE_FIELDS, additional, embedded, property};
use crate::registry::validation::{FieldErrors, bad, index};

/// Checks `obj` against `schema`, the object's root schema.
pub fn object(schema: &Value, obj: &Value, errors: &mut FieldErrors) {
    if let Value::Object(map) = obj {
        required(schema, obj, "", errors);
        for (name, value) in map {
            if RESOURCE_FIELDS.contains(&name.as_str()) {
                continue;
            }
            if let Some(prop) = property(schema, name).or_else(|| additional(schema)) {
                check(prop, value, name, errors);
            }
        }
    }
}

fn join(path: &str, name: &str) -> String {
    match path {
        "" => name.to_string(),
        p => format!("{p}.{name}"),
    }
}

/// The JSON type of a value, in the schema's words.
fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn has_type(value: &Value, ty: &str) -> bool {
    match (ty, value) {
        ("number", Value::Number(_)) => true,
        (t, v) => type_of(v) == t,
    }
}

fn in_body(path: &str, rest: &str) -> String {
    format!("{path} in body {rest}")
}

/// One value at `path` against its schema.
fn check(schema: &Value, value: &Value, path: &str, errors: &mut FieldErrors) {
    if value.is_null() {
        if !super::flag(schema, "nullable")
            && let Some(ty) = schema.get("type").and_then(Value::as_str)
        {
            let detail = in_body(path, &format!("must be of type {ty}: \"null\""));
            errors.type_invalid(path, bad(&Value::from("null")), &detail);
        }
        return;
    }
    if super::flag(schema, "x-kubernetes-int-or-string") {
        if !matches!(type_of(value), "integer" | "string") {
            let actual = type_of(value);
            let detail = in_body(path, &format!("must be of type int-or-string: {actual:?}"));
            errors.type_invalid(path, bad(&Value::from(actual)), &detail);
            return;
        }
    } else if let Some(ty) = schema.get("type").and_then(Value::as_str)
        && !has_type(value, ty)
    {
        let actual = type_of(value);
        let detail = in_body(path, &format!("must be of type {ty}: {actual:?}"));
        errors.type_invalid(path, bad(&Value::from(actual)), &detail);
        return;
    }
    if let Some(Value::Array(allowed)) = schema.get("enum")
        && !allowed.contains(value)
    {
        let supported: Vec<String> = allowed
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        let supported: Vec<&str> = supported.iter().map(String::as_str).collect();
        errors.not_supported(path, bad(value), &supported);
    }
    match value {
        Value::Number(n) => number(schema, n, value, path, errors),
        Value::String(s) => string(schema, s, value, path, errors),
        Value::Array(items) => array(schema, items, path, errors),
        Value::Object(map) => {
            required(schema, value, path, errors);
            let resource = embedded(schema);
            for (name, v) in map {
                if resource && RESOURCE_FIELDS.contains(&name.as_str()) {
                    continue;
                }
                if let Some(prop) = property(schema, name).or_else(|| additional(schema)) {
                    check(prop, v, &join(path, name), errors);
                }
            }
            if let Some(max) = schema.get("maxProperties").and_then(Value::as_u64)
                && map.len() as u64 > max
            {
                errors.too_many(path, map.len(), max as usize);
            }
            if let Some(min) = schema.get("minProperties").and_then(Value::as_u64)
                && (map.len() as u64) < min
            {
                let detail = in_body(path, &format!("should have at least {min} properties"));
                errors.invalid(path, bad(value), &detail);
            }
        }
        _ => {}
    }
}

fn required(schema: &Value, obj: &Value, path: &str, errors: &mut FieldErrors) {
    if let Some(Value::Array(names)) = schema.get("required") {
        for name in names.iter().filter_map(Value::as_str) {
            if obj.get(name).is_none() {
                errors.required(&join(path, name), "");
            }
        }
    }
}

fn number(
    schema: &Value,
    n: &serde_json::Number,
    value: &Value,
    path: &str,
    errors: &mut FieldErrors,
) {
    let x = n.as_f64().unwrap_or_default();
    let bound = |name: &str| schema.get(name).and_then(Value::as_f64);
    let flag = |name: &str| super::flag(schema, name);
    let shown = |name: &str| schema.get(name).map(Value::to_string).unwrap_or_default();
    if let Some(min) = bound("minimum") {
        let (fails, words) = match flag("exclusiveMinimum") {
            true => (x <= min, "greater than"),
            false => (x < min, "greater than or equal to"),
        };
        if fails {
            let detail = in_body(path, &format!("should be {words} {}", shown("minimum")));
            errors.invalid(path, bad(value), &detail);
        }
    }
    if let Some(max) = bound("maximum") {
        let (fails, words) = match flag("exclusiveMaximum") {
            true => (x >= max, "less than"),
            false => (x > max, "less than or equal to"),
        };
        if fails {
            let detail = in_body(path, &format!("should be {words} {}", shown("maximum")));
            errors.invalid(path, bad(value), &detail);
        }
    }
    if let Some(m) = bound("multipleOf").filter(|m| *m > 0.0)
        && (x / m).fract() != 0.0
    {
        let detail = in_body(
            path,
            &format!("should be a multiple of {}", shown("multipleOf")),
        );
        errors.invalid(path, bad(value), &detail);
    }
    if let Some(format) = schema.get("format").and_then(Value::as_str) {
        let fits = match format {
            "int32" => n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()),
            _ => true,
        };
        if !fits {
            let detail = in_body(
                path,
                &format!("must be of type {format}: {:?}", n.to_string()),
            );
            errors.type_invalid(path, bad(value), &detail);
        }
    }
}

fn string(schema: &Value, s: &str, value: &Value, path: &str, errors: &mut FieldErrors) {
    let chars = s.chars().count() as u64;
    if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
        && chars > max
    {
        errors.too_long(path, max as usize);
    }
    if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
        && chars < min
    {
        let detail = in_body(path, &format!("should be at least {min} chars long"));
        errors.invalid(path, bad(value), &detail);
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        // A pattern that does not compile was refused with its CRD; none here matches nothing.
        if regex::Regex::new(pattern).is_ok_and(|re| !re.is_match(s)) {
            let detail = in_body(path, &format!("should match '{pattern}'"));
            errors.invalid(path, bad(value), &detail);
        }
    }
    if let Some(format) = schema.get("format").and_then(Value::as_str)
        && !super::super::formats::fits(format, s)
    {
        let detail = in_body(path, &format!("must be of type {format}: {s:?}"));
        errors.type_invalid(path, bad(value), &detail);
    }
}

fn array(schema: &Value, items: &[Value], path: &str, errors: &mut FieldErrors) {
    if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
        && items.len() as u64 > max
    {
        errors.too_many(path, items.len(), max as usize);
    }
    if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
        && (items.len() as u64) < min
    {
        let detail = in_body(path, &format!("should have at least {min} items"));
        errors.invalid(path, bad(&Value::from(items.len())), &detail);
    }
    if let Some(item) = schema.get("items") {
        for (i, v) in items.iter().enumerate() {
            check(item, v, &index(path, i), errors);
        }
    }
    match schema.get("x-kubernetes-list-type").and_then(Value::as_str) {
        Some("set") => {
            for (i, v) in items.iter().enumerate() {
                if items[..i].contains(v) {
                    errors.duplicate(&index(path, i), bad(v));
                }
            }
        }
        Some("map") => {
            let keys: Vec<&str> = schema
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .map(|k| k.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let key_of = |v: &Value| -> Vec<Value> {
                keys.iter()
                    .map(|k| v.get(*k).cloned().unwrap_or(Value::Null))
                    .collect()
            };
            for (i, v) in items.iter().enumerate() {
                let key = key_of(v);
                if items[..i].iter().any(|other| key_of(other) == key) {
                    let shown: serde_json::Map<String, Value> = keys
                        .iter()
                        .zip(key)
                        .map(|(k, v)| (k.to_string(), v))
                        .collect();
                    errors.duplicate(&index(path, i), bad(&Value::Object(shown)));
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn messages(schema: &Value, obj: &Value) -> String {
        let mut errors = FieldErrors::default();
        object(schema, obj, &mut errors);
        match errors.is_empty() {
            true => String::new(),
            false => errors.summary(),
        }
    }

    fn schema() -> Value {
        json!({"type": "object", "properties": {"spec": {"type": "object", "required": ["size"], "properties": {
            "size": {"type": "integer", "minimum": 1, "maximum": 10},
            "replicas": {"type": "integer", "format": "int32"},
            "color": {"type": "string", "enum": ["red", "green"]},
            "name": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 5, "minLength": 2},
            "when": {"type": "string", "format": "date-time"},
            "port": {"x-kubernetes-int-or-string": true},
            "tags": {"type": "array", "maxItems": 2, "x-kubernetes-list-type": "set", "items": {"type": "string"}},
            "note": {"type": "string", "nullable": true},
        }}}})
    }

    #[test]
    fn upstream_messages() {
        let s = schema();
        assert_eq!(
            messages(&s, &json!({"spec": {"size": 1, "replicas": "x"}})),
            r#"spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string""#
        );
        assert_eq!(
            messages(&s, &json!({"spec": {}})),
            "spec.size: Required value"
        );
        assert_eq!(
            messages(&s, &json!({"spec": {"size": 0, "color": "blue"}})),
            r#"[spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1, spec.color: Unsupported value: "blue": supported values: "red", "green"]"#
        );
        assert_eq!(
            messages(&s, &json!({"spec": {"size": 1, "name": "ABCDEFG"}})),
            r#"[spec.name: Too long: may not be more than 5 bytes, spec.name: Invalid value: "ABCDEFG": spec.name in body should match '^[a-z]+$']"#
        );
        assert_eq!(
            messages(&s, &json!({"spec": {"size": 1, "when": "yesterday"}})),
            r#"spec.when: Invalid value: "yesterday": spec.when in body must be of type date-time: "yesterday""#
        );
        assert_eq!(
            messages(&s, &json!({"spec": {"size": 1, "tags": ["a", "a", "b"]}})),
            r#"[spec.tags: Too many: 3: must have at most 2 items, spec.tags[1]: Duplicate value: "a"]"#
        );
        assert_eq!(
            messages(
                &s,
                &json!({"spec": {"size": 11, "replicas": 4294967296i64}})
            ),
            r#"[spec.size: Invalid value: 11: spec.size in body should be less than or equal to 10, spec.replicas: Invalid value: 4294967296: spec.replicas in body must be of type int32: "4294967296"]"#
        );
        assert_eq!(
            messages(
                &s,
                &json!({"spec": {"size": 5, "port": "http", "note": null, "when": "2024-01-02T03:04:05Z"}})
            ),
            ""
        );
        assert!(
            messages(&s, &json!({"spec": {"size": 5, "port": true}})).contains("int-or-string")
        );
    }
}
