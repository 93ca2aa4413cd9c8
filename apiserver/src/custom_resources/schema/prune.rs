//! Pruning: fields an object's schema does not name are dropped, unless the schema keeps
//! unknown fields (`x-kubernetes-preserve-unknown-fields`); the root's and embedded
//! resources' `apiVersion`, `kind` and `metadata` are always kept.

use serde_json::Value;

use super::{RESOURCE_FIELDS, additional, embedded, preserves_unknown, property};

/// Drops from `obj` what `schema` does not describe; `root` for the object itself.
pub fn apply(schema: &Value, obj: &mut Value, root: bool) {
    walk(schema, obj, root, "", None);
}

/// Drops from the object `obj` what its root `schema` does not describe, and says what:
/// the fields' paths (`spec.items[0].bogus`), as strict field validation reports them.
pub fn reporting(schema: &Value, obj: &mut Value) -> Vec<String> {
    let mut pruned = Vec::new();
    walk(schema, obj, true, "", Some(&mut pruned));
    pruned
}

fn child(path: &str, name: &str) -> String {
    match path {
        "" => name.to_string(),
        p => format!("{p}.{name}"),
    }
}

fn walk(
    schema: &Value,
    obj: &mut Value,
    root: bool,
    path: &str,
    mut report: Option<&mut Vec<String>>,
) {
    match obj {
        Value::Object(map) => {
            let resource = root || embedded(schema);
            let keep_unknown = preserves_unknown(schema);
            map.retain(|name, _| {
                let keep = keep_unknown
                    || (resource && RESOURCE_FIELDS.contains(&name.as_str()))
                    || property(schema, name).is_some()
                    || additional(schema).is_some();
                if !keep && let Some(pruned) = report.as_deref_mut() {
                    pruned.push(child(path, name));
                }
                keep
            });
            for (name, value) in map.iter_mut() {
                if resource && RESOURCE_FIELDS.contains(&name.as_str()) {
                    continue;
                }
                if let Some(prop) = property(schema, name).or_else(|| additional(schema)) {
                    let path = match report {
                        Some(_) => child(path, name),
                        None => String::new(),
                    };
                    walk(prop, value, false, &path, report.as_deref_mut());
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = schema.get("items") {
                for (i, value) in items.iter_mut().enumerate() {
                    let path = match report {
                        Some(_) => format!("{path}[{i}]"),
                        None => String::new(),
                    };
                    walk(item, value, false, &path, report.as_deref_mut());
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
        let pruned = reporting(&schema, &mut obj);
        assert_eq!(
            pruned,
            [
                "junk",
                "spec.bogus",
                "spec.template.y",
                "spec.template.spec.x"
            ]
        );
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
