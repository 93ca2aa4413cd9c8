//! The fields an object sets, and the value at (or the removal of) one field path.

use api::scheme::{ListMerge, ResourceDef};
use serde_json::{Map, Value, json};

use super::fields::Fields;

/// System fields nobody owns.
fn ignored(path: &str) -> bool {
    matches!(
        path,
        "apiVersion"
            | "kind"
            | "metadata.managedFields"
            | "metadata.resourceVersion"
            | "metadata.uid"
            | "metadata.creationTimestamp"
            | "metadata.generation"
            | "metadata.selfLink"
            | "metadata.deletionTimestamp"
            | "metadata.deletionGracePeriodSeconds"
            | "metadata.name"
            | "metadata.namespace"
            | "status"
    )
}

/// The fields an object sets.
pub(super) fn of(def: &ResourceDef, obj: &Value) -> Fields {
    let mut fields = Fields::default();
    if let Some(map) = obj.as_object() {
        member_fields(def, &mut String::new(), map, &mut fields);
    }
    fields
}

/// Adds the fields `map`'s members set to `fields`. `path` is the map's dotted path, grown
/// for each member and given back as it came: one buffer serves the whole walk.
fn member_fields(
    def: &ResourceDef,
    path: &mut String,
    map: &Map<String, Value>,
    fields: &mut Fields,
) {
    for (k, v) in map {
        let len = path.len();
        if len > 0 {
            path.push('.');
        }
        path.push_str(k);
        if !ignored(path)
            && let Some(f) = value_fields(def, path, v)
        {
            fields.children.insert(element("f:", k), f);
        }
        path.truncate(len);
    }
}

/// The fields a value sets (None: only fields nobody owns).
fn value_fields(def: &ResourceDef, path: &mut String, value: &Value) -> Option<Fields> {
    let mut fields = Fields::default();
    match value {
        Value::Object(map) if !map.is_empty() => {
            member_fields(def, path, map, &mut fields);
            if fields.children.is_empty() {
                return None;
            }
        }
        Value::Array(items) if !items.is_empty() => match def.list_merge(path) {
            Some(ListMerge::Key(key)) => {
                for item in items {
                    let id = json!({key: item.get(key).cloned().unwrap_or(Value::Null)});
                    let mut element_fields = value_fields(def, path, item).unwrap_or_default();
                    element_fields.itself = true;
                    fields
                        .children
                        .insert(element("k:", &id.to_string()), element_fields);
                }
            }
            Some(ListMerge::Set) => {
                for item in items {
                    fields
                        .children
                        .insert(element("v:", &item.to_string()), Fields::default());
                }
            }
            None => fields.itself = true,
        },
        _ => fields.itself = true,
    }
    if fields.children.is_empty() {
        fields.itself = true;
    }
    Some(fields)
}

/// A path element in FieldsV1 spelling: `kind` (`f:`, `k:` or `v:`) then `name`.
fn element(kind: &str, name: &str) -> String {
    let mut out = String::with_capacity(kind.len() + name.len());
    out.push_str(kind);
    out.push_str(name);
    out
}

/// The value at a field path, if the object has it.
pub(super) fn lookup<'a>(obj: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut here = obj;
    for element in path {
        here = match element.split_once(':')? {
            ("f", name) => here.get(name)?,
            ("k", id) => {
                let id: Map<String, Value> = serde_json::from_str(id).ok()?;
                here.as_array()?
                    .iter()
                    .find(|item| id.iter().all(|(k, v)| item.get(k) == Some(v)))?
            }
            ("v", v) => {
                let v: Value = serde_json::from_str(v).ok()?;
                here.as_array()?.iter().find(|item| **item == v)?
            }
            _ => return None,
        };
    }
    Some(here)
}

/// Removes the field at `path` from `obj`.
pub(super) fn remove(obj: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut here = obj;
    for element in parents {
        let next = match element.split_once(':') {
            Some(("f", name)) => here.get_mut(name),
            Some(("k", id)) => {
                let Ok(id) = serde_json::from_str::<Map<String, Value>>(id) else {
                    return;
                };
                here.as_array_mut().and_then(|items| {
                    items
                        .iter_mut()
                        .find(|item| id.iter().all(|(k, v)| item.get(k) == Some(v)))
                })
            }
            _ => None,
        };
        match next {
            Some(n) => here = n,
            None => return,
        }
    }
    match last.split_once(':') {
        Some(("f", name)) => {
            if let Some(map) = here.as_object_mut() {
                map.remove(name);
            }
        }
        Some(("k", id)) => {
            if let (Ok(id), Some(items)) = (
                serde_json::from_str::<Map<String, Value>>(id),
                here.as_array_mut(),
            ) {
                items.retain(|item| !id.iter().all(|(k, v)| item.get(k) == Some(v)));
            }
        }
        Some(("v", v)) => {
            if let (Ok(v), Some(items)) = (serde_json::from_str::<Value>(v), here.as_array_mut()) {
                items.retain(|item| *item != v);
            }
        }
        _ => {}
    }
}

/// Upstream's spelling of a field path in conflict messages: `.spec.containers[name="c"].image`.
pub(super) fn display(path: &[String]) -> String {
    let mut out = String::new();
    for element in path {
        match element.split_once(':') {
            Some(("f", name)) => {
                out.push('.');
                out.push_str(name);
            }
            Some(("k", id)) => {
                let id: Map<String, Value> = serde_json::from_str(id).unwrap_or_default();
                let keys: Vec<String> = id.iter().map(|(k, v)| format!("{k}={v}")).collect();
                out.push_str(&format!("[{}]", keys.join(",")));
            }
            Some(("v", v)) => out.push_str(&format!("[={v}]")),
            _ => out.push_str(element),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployments() -> ResourceDef {
        *api::Scheme::builtin()
            .lookup("apps", "v1", "deployments")
            .unwrap()
    }

    #[test]
    fn field_sets_in_upstream_spelling() {
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "labels": {"app": "x"}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [
                {"name": "c", "image": "i", "args": ["a", "b"]}]}}}});
        let fields = of(&deployments(), &d).into_json();
        assert_eq!(
            fields,
            json!({"f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
                    "k:{\"name\":\"c\"}": {".": {}, "f:args": {}, "f:image": {}, "f:name": {}}}}}}})
        );
        assert_eq!(Fields::from_json(&fields).into_json(), fields);
        assert_eq!(
            display(&[
                "f:spec".into(),
                "f:containers".into(),
                "k:{\"name\":\"c\"}".into(),
                "f:image".into()
            ]),
            ".spec.containers[name=\"c\"].image"
        );
    }
}
