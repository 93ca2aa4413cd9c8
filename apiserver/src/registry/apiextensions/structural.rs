//! Whether a version's schema is structural, as upstream requires of `apiextensions.k8s.io/v1`
//! definitions (its messages): an object at the root, a type on every property and array
//! item (unless int-or-string or keeping unknown fields), items on every array, patterns that
//! compile, `properties` and `additionalProperties` not both, map lists with their keys.

use serde_json::Value;

use crate::registry::validation::{Bad, FieldErrors};

const TYPES: &[&str] = &["array", "boolean", "integer", "number", "object", "string"];

fn flag(schema: &Value, name: &str) -> bool {
    schema.get(name).and_then(Value::as_bool).unwrap_or(false)
}

/// Checks the root schema at `path`.
pub fn check(schema: &Value, path: &str, errors: &mut FieldErrors) {
    match schema.get("type").and_then(Value::as_str) {
        None | Some("") => {
            errors.required(&format!("{path}.type"), "must not be empty at the root")
        }
        Some("object") => {}
        Some(other) => errors.invalid(
            &format!("{path}.type"),
            Bad::Str(other),
            "must be object at the root",
        ),
    }
    node(schema, path, errors);
}

/// Why a node must have a type, when it has none.
fn needs_type(schema: &Value) -> bool {
    !flag(schema, "x-kubernetes-int-or-string")
        && !flag(schema, "x-kubernetes-preserve-unknown-fields")
}

fn node(schema: &Value, path: &str, errors: &mut FieldErrors) {
    let ty = schema
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !ty.is_empty() && !TYPES.contains(&ty) {
        errors.not_supported(&format!("{path}.type"), Bad::Str(ty), TYPES);
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str)
        && let Err(e) = regex::Regex::new(pattern)
    {
        let detail = format!("must be a valid regular expression, but isn't: {e}");
        errors.invalid(&format!("{path}.pattern"), Bad::Str(pattern), &detail);
    }
    let props = schema.get("properties").and_then(Value::as_object);
    if props.is_some()
        && schema
            .get("additionalProperties")
            .is_some_and(|a| a != &Value::Bool(false))
    {
        errors.forbidden(
            &format!("{path}.additionalProperties"),
            "additionalProperties and properties are mutual exclusive",
        );
    }
    for (name, prop) in props.into_iter().flatten() {
        let child = format!("{path}.properties[{name}]");
        if prop
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .is_empty()
            && needs_type(prop)
        {
            errors.required(
                &format!("{child}.type"),
                "must not be empty for specified object fields",
            );
        }
        node(prop, &child, errors);
    }
    if let Some(additional) = schema.get("additionalProperties").filter(|a| a.is_object()) {
        let child = format!("{path}.additionalProperties");
        if additional
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .is_empty()
            && needs_type(additional)
        {
            errors.required(
                &format!("{child}.type"),
                "must not be empty for specified object fields",
            );
        }
        node(additional, &child, errors);
    }
    match schema.get("items") {
        Some(items) => {
            let child = format!("{path}.items");
            if items
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .is_empty()
                && needs_type(items)
            {
                errors.required(
                    &format!("{child}.type"),
                    "must not be empty for specified array items",
                );
            }
            node(items, &child, errors);
        }
        None if ty == "array" => errors.required(&format!("{path}.items"), "must be specified"),
        None => {}
    }
    if schema.get("x-kubernetes-list-type").and_then(Value::as_str) == Some("map")
        && schema
            .get("x-kubernetes-list-map-keys")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty)
    {
        errors.required(
            &format!("{path}.x-kubernetes-list-map-keys"),
            "must not be empty if x-kubernetes-list-type is map",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn summary(schema: Value) -> String {
        let mut errors = FieldErrors::default();
        check(&schema, "s", &mut errors);
        match errors.is_empty() {
            true => String::new(),
            false => errors.summary(),
        }
    }

    #[test]
    fn structural_rules() {
        assert_eq!(
            summary(
                json!({"type": "object", "properties": {"spec": {"type": "object",
            "properties": {"a": {"x-kubernetes-int-or-string": true}, "b": {"type": "array", "items": {"type": "string"}}}}}})
            ),
            ""
        );
        assert_eq!(
            summary(json!({"type": "string"})),
            r#"s.type: Invalid value: "string": must be object at the root"#
        );
        assert_eq!(
            summary(json!({"type": "object", "properties": {"spec": {"properties": {}}}})),
            "s.properties[spec].type: Required value: must not be empty for specified object fields"
        );
        assert_eq!(
            summary(json!({"type": "object", "properties": {"l": {"type": "array"}}})),
            "s.properties[l].items: Required value: must be specified"
        );
        assert!(summary(json!({"type": "object", "properties": {"n": {"type": "string", "pattern": "["}}}))
            .starts_with(r#"s.properties[n].pattern: Invalid value: "[": must be a valid regular expression, but isn't"#));
    }
}
