//! Strategic merge patch, driven by the scheme's merge lists.
//!
//! Like a JSON merge patch (objects merge, `null` deletes, scalars replace), except that lists
//! the scheme declares mergeable are merged instead of replaced: lists of objects element by
//! element on their merge key, lists of scalars as sets. Directives: `$patch: replace` (an
//! object or, as a list element, the whole list), `$patch: delete` (a list element),
//! `$retainKeys`, `$setElementOrder/<field>` and `$deleteFromPrimitiveList/<field>`.

use api::scheme::{ListMerge, ResourceDef};
use serde_json::{Map, Value};

const SET_ELEMENT_ORDER: &str = "$setElementOrder/";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList/";

fn is_directive(key: &str) -> bool {
    key == "$patch"
        || key == "$retainKeys"
        || key.starts_with(SET_ELEMENT_ORDER)
        || key.starts_with(DELETE_FROM_PRIMITIVE_LIST)
}

/// `value` without any patch directive, at any depth (what a patch inserts verbatim).
fn without_directives(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !is_directive(k))
                .map(|(k, v)| (k.clone(), without_directives(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .filter(|v| v.get("$patch").is_none())
                .map(without_directives)
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `value` as a patch puts it where the object has no value of its kind: without
/// directives, and without the nulls it carries (they remove nothing there), as upstream.
fn inserted(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, v)| !is_directive(k) && !v.is_null())
                .map(|(k, v)| (k.clone(), inserted(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .filter(|v| v.get("$patch").is_none())
                .map(inserted)
                .collect(),
        ),
        other => other.clone(),
    }
}

fn child(path: &str, key: &str) -> String {
    match path {
        "" => key.to_string(),
        p => format!("{p}.{key}"),
    }
}

/// Applies `patch` to `target`, an object of `def`'s kind.
pub fn apply(def: &ResourceDef, target: &mut Value, patch: &Value) -> Result<(), String> {
    let Some(patch) = patch.as_object() else {
        return Err("a strategic merge patch must be a JSON object".into());
    };
    check_all_directives(patch)?;
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    match target.as_object_mut() {
        Some(map) => merge_map(def, map, patch, ""),
        None => Err("the object is not a JSON object".into()),
    }
}

/// Refuses directives whose values upstream cannot read, with its messages.
fn check_directives(patch: &Map<String, Value>) -> Result<(), String> {
    if let Some(directive) = patch.get("$patch")
        && !matches!(directive.as_str(), Some("replace" | "merge" | "delete"))
    {
        return Err(format!(
            "unknown patch type: {} in map: {}",
            crate::registry::go_fmt::value(directive),
            crate::registry::go_fmt::value(&Value::Object(patch.clone()))
        ));
    }
    for (key, value) in patch {
        let listed =
            key.starts_with(SET_ELEMENT_ORDER) || key.starts_with(DELETE_FROM_PRIMITIVE_LIST);
        if listed && !value.is_array() {
            return Err(format!(
                "expected a []interface {{}}, but received a {}",
                crate::registry::go_fmt::type_name(value)
            ));
        }
    }
    if let Some(retain) = patch.get("$retainKeys") {
        let keys = retain
            .as_array()
            .filter(|keys| keys.iter().all(Value::is_string));
        let Some(keys) = keys else {
            return Err(RETAIN_KEYS_FORMAT.into());
        };
        // Every field the patch sets must be one it retains (removing one is fine).
        let kept = |k: &String| keys.iter().any(|r| r.as_str() == Some(k.as_str()));
        if patch
            .iter()
            .any(|(k, v)| !is_directive(k) && !v.is_null() && !kept(k))
        {
            return Err(RETAIN_KEYS_FORMAT.into());
        }
    }
    Ok(())
}

/// The directives of every object in the patch, however deep.
fn check_all_directives(patch: &Map<String, Value>) -> Result<(), String> {
    check_directives(patch)?;
    for (key, value) in patch {
        if is_directive(key) {
            continue;
        }
        match value {
            Value::Object(map) => check_all_directives(map)?,
            Value::Array(items) => {
                for map in items.iter().filter_map(Value::as_object) {
                    check_all_directives(map)?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

const RETAIN_KEYS_FORMAT: &str = "invalid patch format of retainKeys";

fn merge_map(
    def: &ResourceDef,
    target: &mut Map<String, Value>,
    patch: &Map<String, Value>,
    path: &str,
) -> Result<(), String> {
    if patch.get("$patch").and_then(Value::as_str) == Some("replace") {
        *target = match without_directives(&Value::Object(patch.clone())) {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        return Ok(());
    }
    for (key, value) in patch {
        if is_directive(key) {
            continue;
        }
        let field_path = child(path, key);
        match value {
            Value::Null => {
                target.remove(key);
            }
            Value::Object(p) => match target.get_mut(key) {
                Some(Value::Object(t)) => merge_map(def, t, p, &field_path)?,
                _ => {
                    target.insert(key.clone(), inserted(value));
                }
            },
            Value::Array(p) => match (def.list_merge(&field_path), target.get_mut(key)) {
                (Some(strategy), Some(Value::Array(t))) => {
                    merge_list(def, t, p, strategy, &field_path)?
                }
                // A list that replaces a list keeps what it holds.
                (None, Some(Value::Array(_))) => {
                    target.insert(key.clone(), without_directives(value));
                }
                _ => {
                    target.insert(key.clone(), inserted(value));
                }
            },
            scalar => {
                target.insert(key.clone(), scalar.clone());
            }
        }
    }
    for (key, value) in patch {
        if let Some(field) = key.strip_prefix(DELETE_FROM_PRIMITIVE_LIST) {
            let gone = value.as_array().cloned().unwrap_or_default();
            if let Some(Value::Array(list)) = target.get_mut(field) {
                list.retain(|v| !gone.contains(v));
            }
        }
        if let Some(field) = key.strip_prefix(SET_ELEMENT_ORDER) {
            let key_field = match def.list_merge(&child(path, field)) {
                Some(ListMerge::Key(k)) => Some(k),
                _ => None,
            };
            if let (Some(Value::Array(list)), Some(order)) =
                (target.get_mut(field), value.as_array())
            {
                reorder(list, order, key_field);
            }
        }
    }
    if let Some(retain) = patch.get("$retainKeys").and_then(Value::as_array) {
        let keep: Vec<&str> = retain.iter().filter_map(Value::as_str).collect();
        target.retain(|k, _| keep.contains(&k.as_str()));
    }
    Ok(())
}

fn merge_list(
    def: &ResourceDef,
    target: &mut Vec<Value>,
    patch: &[Value],
    strategy: ListMerge,
    path: &str,
) -> Result<(), String> {
    // `{"$patch": "replace"}` among the elements: the patch's elements replace the list.
    if patch
        .iter()
        .any(|e| e.get("$patch").and_then(Value::as_str) == Some("replace"))
    {
        *target = patch
            .iter()
            .filter(|e| e.get("$patch").is_none())
            .map(without_directives)
            .collect();
        return Ok(());
    }
    match strategy {
        ListMerge::Set => {
            for element in patch {
                if !target.contains(element) {
                    target.push(element.clone());
                }
            }
        }
        ListMerge::Key(key) => {
            for element in patch {
                let Some(fields) = element.as_object() else {
                    return Err(format!(
                        "{path}: elements of a list merged on \"{key}\" must be objects"
                    ));
                };
                let id = fields
                    .get(key)
                    .ok_or_else(|| format!("{path}: an element has no merge key \"{key}\""))?;
                let found = target.iter().position(|t| t.get(key) == Some(id));
                match (fields.get("$patch").and_then(Value::as_str), found) {
                    (Some("delete"), Some(i)) => {
                        target.remove(i);
                    }
                    (Some("delete"), None) => {}
                    (_, Some(i)) => match target[i].as_object_mut() {
                        Some(t) => merge_map(def, t, fields, path)?,
                        None => target[i] = without_directives(element),
                    },
                    (_, None) => target.push(without_directives(element)),
                }
            }
        }
    }
    Ok(())
}

/// Orders `list` as `order` says (elements named by their merge key, or scalars); elements
/// it does not name keep their relative order after those it does.
fn reorder(list: &mut [Value], order: &[Value], key: Option<&str>) {
    let rank = |v: &Value| {
        let id = match key {
            Some(k) => v.get(k),
            None => Some(v),
        };
        order
            .iter()
            .position(|o| match key {
                Some(k) => o.get(k) == id,
                None => Some(o) == id,
            })
            .unwrap_or(usize::MAX)
    };
    list.sort_by_key(rank);
}

#[cfg(test)]
mod tests {
    use super::*;
    use api::Scheme;
    use serde_json::json;

    fn deployment() -> ResourceDef {
        *Scheme::builtin()
            .lookup("apps", "v1", "deployments")
            .unwrap()
    }

    fn patched(def: &ResourceDef, mut target: Value, patch: Value) -> Value {
        apply(def, &mut target, &patch).unwrap();
        target
    }

    #[test]
    fn containers_merge_by_name_and_env_by_name() {
        let original = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": "a:1", "env": [{"name": "X", "value": "1"}]},
            {"name": "sidecar", "image": "s:1"}
        ]}}}});
        let patch = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": "a:2", "env": [{"name": "Y", "value": "2"}]}
        ]}}}});
        let result = patched(&deployment(), original, patch);
        let containers = &result["spec"]["template"]["spec"]["containers"];
        assert_eq!(containers.as_array().unwrap().len(), 2, "the sidecar stays");
        assert_eq!(containers[0]["image"], "a:2");
        assert_eq!(
            containers[0]["env"],
            json!([{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}])
        );
    }

    #[test]
    fn directives() {
        let def = deployment();
        let original = json!({"metadata": {"finalizers": ["a"], "labels": {"x": "1", "y": "2"}},
            "spec": {"template": {"spec": {"containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}}}});
        let patch = json!({
            "metadata": {"finalizers": ["b"], "labels": {"x": null}},
            "spec": {"template": {"spec": {
                "containers": [{"name": "b", "$patch": "delete"}],
                "$setElementOrder/containers": [{"name": "c"}, {"name": "a"}]
            }}}
        });
        let result = patched(&def, original.clone(), patch);
        assert_eq!(
            result["metadata"]["finalizers"],
            json!(["a", "b"]),
            "scalar merge lists are sets"
        );
        assert_eq!(result["metadata"]["labels"], json!({"y": "2"}));
        assert_eq!(
            result["spec"]["template"]["spec"]["containers"],
            json!([{"name": "c"}, {"name": "a"}])
        );
        let replace = json!({"spec": {"template": {"spec": {"containers": [{"name": "z"}, {"$patch": "replace"}]}}}});
        let result = patched(&def, original.clone(), replace);
        assert_eq!(
            result["spec"]["template"]["spec"]["containers"],
            json!([{"name": "z"}])
        );
        let removal = json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}});
        assert_eq!(
            patched(&def, original.clone(), removal)["metadata"]["finalizers"],
            json!([])
        );
        let retain = json!({"metadata": {"labels": {"$retainKeys": ["y"], "y": "3", "x": null}}});
        assert_eq!(
            patched(&def, original, retain)["metadata"]["labels"],
            json!({"y": "3"})
        );
    }

    #[test]
    fn nulls_under_absent_fields_are_dropped() {
        let patch = json!({"metadata": {"annotations": {"a": "1", "b": null}},
            "spec": {"template": {"metadata": {"labels": {"x": null}}}}});
        let result = patched(&deployment(), json!({"metadata": {}}), patch);
        assert_eq!(
            result,
            json!({"metadata": {"annotations": {"a": "1"}},
                "spec": {"template": {"metadata": {"labels": {}}}}})
        );
    }

    #[test]
    fn directives_upstream_cannot_read_are_refused() {
        let def = deployment();
        let refused = |patch: Value| apply(&def, &mut json!({"spec": {}}), &patch).unwrap_err();
        assert_eq!(
            refused(json!({"$patch": "frobnicate"})),
            "unknown patch type: frobnicate in map: map[$patch:frobnicate]"
        );
        assert_eq!(
            refused(json!({"$setElementOrder/data": 5})),
            "expected a []interface {}, but received a int64"
        );
        assert_eq!(
            refused(json!({"metadata": {"$retainKeys": "x"}})),
            "invalid patch format of retainKeys"
        );
        assert_eq!(
            refused(json!({"metadata": {"$retainKeys": ["a"], "b": 1}})),
            "invalid patch format of retainKeys"
        );
    }

    #[test]
    fn unlisted_lists_are_replaced_and_errors_are_reported() {
        let cm = *Scheme::builtin().lookup("", "v1", "configmaps").unwrap();
        let result = patched(&cm, json!({"x": [1, 2]}), json!({"x": [3]}));
        assert_eq!(result["x"], json!([3]));
        let mut target = json!({"spec": {"template": {"spec": {"containers": [{"name": "a"}]}}}});
        let bad = json!({"spec": {"template": {"spec": {"containers": [{"image": "no-name"}]}}}});
        assert!(
            apply(&deployment(), &mut target, &bad)
                .unwrap_err()
                .contains("no merge key \"name\"")
        );
        assert!(apply(&deployment(), &mut target, &json!([1])).is_err());
    }
}
