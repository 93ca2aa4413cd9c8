//! Defaulting: a property absent from an object gets its schema's `default` (then the
//! defaults inside it), as upstream's structural defaulting on every decode. A `null` where
//! the schema does not allow one is dropped first (and so defaulted when it has a default).

use serde_json::Value;

use super::{additional, flag, property};

/// Fills in the defaults `schema` declares throughout `obj`.
pub fn apply(schema: &Value, obj: &mut Value) {
    match obj {
        Value::Object(map) => {
            map.retain(|name, value| {
                !value.is_null()
                    || property(schema, name)
                        .or_else(|| additional(schema))
                        .is_none_or(|p| flag(p, "nullable"))
            });
            if let Some(Value::Object(props)) = schema.get("properties") {
                for (name, prop) in props {
                    if map.contains_key(name) {
                        continue;
                    }
                    if let Some(default) = prop.get("default") {
                        map.insert(name.clone(), default.clone());
                    }
                }
            }
            for (name, value) in map.iter_mut() {
                if let Some(prop) = property(schema, name).or_else(|| additional(schema)) {
                    apply(prop, value);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = schema.get("items") {
                for value in items {
                    apply(item, value);
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

    #[test]
    fn absent_properties_get_defaults_and_their_insides() {
        let schema = json!({"type": "object", "properties": {
            "spec": {"type": "object", "default": {}, "properties": {
                "replicas": {"type": "integer", "default": 1},
                "ports": {"type": "array", "items": {"type": "object", "properties": {
                    "protocol": {"type": "string", "default": "TCP"}}}},
            }},
        }});
        let mut obj = json!({"metadata": {"name": "a"}});
        apply(&schema, &mut obj);
        assert_eq!(obj["spec"], json!({"replicas": 1}));
        let mut obj = json!({"spec": {"replicas": 3, "ports": [{}, {"protocol": "UDP"}]}});
        apply(&schema, &mut obj);
        assert_eq!(obj["spec"]["replicas"], 3);
        assert_eq!(
            obj["spec"]["ports"],
            json!([{"protocol": "TCP"}, {"protocol": "UDP"}])
        );
    }
}
