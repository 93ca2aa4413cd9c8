//! Pruning: fields an object's schema does not name are dropped, unless the schema keeps
//! unknown fields (`x-kubernetes-preserve-unknown-fields`); the root's and embedded
//! resources' `apiVersion`, `kind` and `metadata` are always kept.

use serde_json::Value;

use super::{RESOURCE_FIELDS, additional, embedded, preserves_unknown, property};

/// Drops from `obj` what `schema` does not describe; `root` for the object itself.
pub fn apply(schema: &Value, obj: &mut Value, root: bool) {
    match obj {
        Value::Object(map) => {
            let resource = root || embedded(schema);
            let keep_unknown = preserves_unknown(schema);
            map.retain(|name, _| {
                keep_unknown
                    || (resource && RESOURCE_FIELDS.contains(&name.as_str()))
                    || property(schema, name).is_some()
                    || additional(schema).is_some()
            });
            for (name, value) in map.iter_mut() {
                if resource && RESOURCE_FIELDS.contains(&name.as_str()) {
                    continue;
                }
                if let Some(prop) = property(schema, name).or_else(|| additional(schema)) {
                    apply(prop, value, false);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = schema.get("items") {
                for value in items {
                    apply(item, value, false);
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
    fn unknown_fields_go_unless_preserved() {
        let schema = json!({"type": "object", "properties": {
            "spec": {"type": "object", "properties": {
                "size": {"type": "integer"},
                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                             "properties": {"spec": {"type": "object"}}},
            }},
        }});
        let mut obj = json!({
            "apiVersion": "x/v1", "kind": "W", "metadata": {"name": "a"}, "junk": 1,
            "spec": {"size": 1, "bogus": true, "extra": {"any": {"thing": 1}},
                     "labels": {"a": "b"},
                     "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {}, "spec": {"x": 1}, "y": 2}},
        });
        apply(&schema, &mut obj, true);
        assert_eq!(
            obj,
            json!({
                "apiVersion": "x/v1", "kind": "W", "metadata": {"name": "a"},
                "spec": {"size": 1, "extra": {"any": {"thing": 1}}, "labels": {"a": "b"},
                         "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {}, "spec": {}}},
            })
        );
    }
}
