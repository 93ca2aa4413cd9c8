//! Field ownership (`metadata.managedFields`) and server-side apply.
//!
//! A field set is a tree of path elements in upstream's FieldsV1 spelling: `f:<name>` for a
//! field, `k:{"name":"c"}` for an element of a list merged by key, `v:<json>` for an element
//! of a set, and `.` for an element itself. Lists the scheme does not merge (strategic merge
//! keys) are atomic: owned as one field. Every write records which manager set which fields:
//! an update owns what it changed, an apply owns what it applied. Applying a field that another
//! manager owns with another value is a conflict unless forced; fields a manager applied before
//! and no longer applies are removed unless another manager owns them.

use std::collections::BTreeMap;

use api::scheme::{ListMerge, ResourceDef};
use serde_json::{Map, Value, json};

/// A set of fields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fields {
    /// The element itself is a member (`.`; leaves are members by being there).
    itself: bool,
    children: BTreeMap<String, Fields>,
}

impl Fields {
    pub fn is_empty(&self) -> bool {
        !self.itself && self.children.is_empty()
    }

    /// FieldsV1 JSON.
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        if self.itself && !self.children.is_empty() {
            map.insert(".".into(), json!({}));
        }
        for (k, v) in &self.children {
            map.insert(k.clone(), v.to_json());
        }
        Value::Object(map)
    }

    pub fn from_json(value: &Value) -> Fields {
        let mut fields = Fields::default();
        match value.as_object() {
            Some(map) if !map.is_empty() => {
                for (k, v) in map {
                    match k.as_str() {
                        "." => fields.itself = true,
                        _ => drop(fields.children.insert(k.clone(), Fields::from_json(v))),
                    }
                }
            }
            _ => fields.itself = true,
        }
        fields
    }

    pub fn union(&mut self, other: &Fields) {
        self.itself |= other.itself;
        for (k, v) in &other.children {
            self.children.entry(k.clone()).or_default().union(v);
        }
    }

    /// What is in `self` and not in `other`.
    pub fn minus(&self, other: &Fields) -> Fields {
        let mut out = Fields {
            itself: self.itself && !other.itself,
            children: BTreeMap::new(),
        };
        for (k, v) in &self.children {
            let rest = match other.children.get(k) {
                Some(o) => v.minus(o),
                None => v.clone(),
            };
            if !rest.is_empty() {
                out.children.insert(k.clone(), rest);
            }
        }
        out
    }

    pub fn intersect(&self, other: &Fields) -> Fields {
        let mut out = Fields {
            itself: self.itself && other.itself,
            children: BTreeMap::new(),
        };
        for (k, v) in &self.children {
            if let Some(o) = other.children.get(k) {
                let both = v.intersect(o);
                if !both.is_empty() {
                    out.children.insert(k.clone(), both);
                }
            }
        }
        out
    }

    /// Each member as a path (list of elements).
    pub fn leaves(&self) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        self.collect(&mut Vec::new(), &mut out);
        out
    }

    fn collect(&self, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        if self.itself || self.children.is_empty() {
            out.push(path.clone());
        }
        for (k, v) in &self.children {
            path.push(k.clone());
            v.collect(path, out);
            path.pop();
        }
    }
}

/// How a list at a (dotted, index-free) path merges.
fn list_kind(def: &ResourceDef, path: &str) -> Option<ListMerge> {
    def.merge_lists()
        .into_iter()
        .find(|(p, _)| p == path)
        .map(|(_, m)| m)
}

fn join(path: &str, key: &str) -> String {
    match path {
        "" => key.to_string(),
        p => format!("{p}.{key}"),
    }
}

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
pub fn of(def: &ResourceDef, obj: &Value) -> Fields {
    let mut fields = Fields::default();
    if let Some(map) = obj.as_object() {
        for (k, v) in map {
            if !ignored(k)
                && let Some(child) = value_fields(def, k, v)
            {
                fields.children.insert(format!("f:{k}"), child);
            }
        }
    }
    fields
}

/// The fields a value sets (None: only fields nobody owns).
fn value_fields(def: &ResourceDef, path: &str, value: &Value) -> Option<Fields> {
    let mut fields = Fields::default();
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let child = join(path, k);
                if !ignored(&child)
                    && let Some(f) = value_fields(def, &child, v)
                {
                    fields.children.insert(format!("f:{k}"), f);
                }
            }
            if fields.children.is_empty() {
                return None;
            }
        }
        Value::Array(items) if !items.is_empty() => match list_kind(def, path) {
            Some(ListMerge::Key(key)) => {
                for item in items {
                    let id = json!({key: item.get(key).cloned().unwrap_or(Value::Null)});
                    let mut element = value_fields(def, path, item).unwrap_or_default();
                    element.itself = true;
                    fields.children.insert(format!("k:{id}"), element);
                }
            }
            Some(ListMerge::Set) => {
                for item in items {
                    fields
                        .children
                        .insert(format!("v:{item}"), Fields::default());
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

/// The value at a field path, if the object has it.
fn lookup<'a>(obj: &'a Value, path: &[String]) -> Option<&'a Value> {
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
fn remove(obj: &mut Value, path: &[String]) {
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
pub fn display(path: &[String]) -> String {
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

/// One `managedFields` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub manager: String,
    pub operation: String,
    pub api_version: String,
    pub time: String,
    pub subresource: String,
    pub fields: Fields,
}

impl Entry {
    fn to_json(&self) -> Value {
        let mut v = json!({
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": self.fields.to_json(),
        });
        if !self.subresource.is_empty() {
            v["subresource"] = json!(self.subresource);
        }
        v
    }

    fn same_slot(&self, manager: &str, operation: &str, subresource: &str) -> bool {
        self.manager == manager && self.operation == operation && self.subresource == subresource
    }
}

pub fn entries(obj: &Value) -> Vec<Entry> {
    obj["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| Entry {
            manager: e["manager"].as_str().unwrap_or_default().into(),
            operation: e["operation"].as_str().unwrap_or_default().into(),
            api_version: e["apiVersion"].as_str().unwrap_or_default().into(),
            time: e["time"].as_str().unwrap_or_default().into(),
            subresource: e["subresource"].as_str().unwrap_or_default().into(),
            fields: Fields::from_json(&e["fieldsV1"]),
        })
        .collect()
}

fn store(obj: &mut Value, entries: &[Entry]) {
    let list: Vec<Value> = entries
        .iter()
        .filter(|e| !e.fields.is_empty())
        .map(Entry::to_json)
        .collect();
    if let Some(meta) = obj["metadata"].as_object_mut() {
        match list.is_empty() {
            true => drop(meta.remove("managedFields")),
            false => drop(meta.insert("managedFields".into(), Value::Array(list))),
        }
    }
}

/// The fields whose values differ between `before` and `after` (added, changed or removed).
fn changed(def: &ResourceDef, before: &Value, after: &Value) -> (Fields, Fields) {
    let (old, new) = (of(def, before), of(def, after));
    let mut set = Fields::default();
    for path in new.leaves() {
        if lookup(before, &path) != lookup(after, &path) {
            add_path(&mut set, &path);
        }
    }
    (set, old.minus(&new))
}

fn add_path(set: &mut Fields, path: &[String]) {
    let mut here = set;
    for element in path {
        here = here.children.entry(element.clone()).or_default();
    }
    here.itself = true;
}

/// Records an update (or create) by `manager`: it owns what it changed; fields it changed or
/// removed are no longer anyone else's.
pub fn record_update(
    def: &ResourceDef,
    before: Option<&Value>,
    after: &mut Value,
    manager: &str,
    subresource: &str,
    now: &str,
) {
    let mut list = before.map(entries).unwrap_or_default();
    let (set, removed) = match before {
        Some(before) => changed(def, before, after),
        None => (of(def, after), Fields::default()),
    };
    if set.is_empty() && removed.is_empty() {
        store(after, &list);
        return;
    }
    for e in list.iter_mut() {
        e.fields = e.fields.minus(&set).minus(&removed);
    }
    slot(&mut list, def, manager, "Update", subresource, now)
        .fields
        .union(&set);
    store(after, &list);
}

/// The entry of `manager`'s `operation` (on `subresource`), added empty if missing, stamped
/// with this write's time and version.
fn slot<'a>(
    list: &'a mut Vec<Entry>,
    def: &ResourceDef,
    manager: &str,
    operation: &str,
    subresource: &str,
    now: &str,
) -> &'a mut Entry {
    let index = match list
        .iter()
        .position(|e| e.same_slot(manager, operation, subresource))
    {
        Some(i) => i,
        None => {
            list.push(Entry {
                manager: manager.to_string(),
                operation: operation.to_string(),
                api_version: String::new(),
                time: String::new(),
                subresource: subresource.to_string(),
                fields: Fields::default(),
            });
            list.len() - 1
        }
    };
    let entry = &mut list[index];
    entry.time = now.to_string();
    entry.api_version = def.api_version();
    entry
}

/// A field another manager owns with another value than the one applied.
#[derive(Debug, PartialEq)]
pub struct Conflict {
    pub manager: String,
    pub api_version: String,
    pub field: String,
}

/// Applies `applied` by `manager` to `live` (None: the object is new); the resulting object,
/// or the conflicts (when not forced).
pub fn apply(
    def: &ResourceDef,
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
    now: &str,
) -> Result<Value, Vec<Conflict>> {
    let applied_fields = of(def, applied);
    let Some(live) = live else {
        let mut obj = applied.clone();
        let mut list = Vec::new();
        slot(&mut list, def, manager, "Apply", "", now).fields = applied_fields;
        store(&mut obj, &list);
        return Ok(obj);
    };
    let mut list = entries(live);
    let previous = list
        .iter()
        .find(|e| e.same_slot(manager, "Apply", ""))
        .map(|e| e.fields.clone())
        .unwrap_or_default();
    // Conflicts: applied fields owned by others with a different live value.
    let mut conflicts = Vec::new();
    let mut taken = Fields::default();
    for path in applied_fields.leaves() {
        if lookup(live, &path) == lookup(applied, &path) {
            continue;
        }
        for e in list.iter().filter(|e| e.manager != manager) {
            let mut single = Fields::default();
            add_path(&mut single, &path);
            if !e.fields.intersect(&single).is_empty() {
                conflicts.push(Conflict {
                    manager: e.manager.clone(),
                    api_version: e.api_version.clone(),
                    field: display(&path),
                });
            }
        }
        add_path(&mut taken, &path);
    }
    if !conflicts.is_empty() && !force {
        return Err(conflicts);
    }
    let mut merged = live.clone();
    let patch = strip_system(applied);
    if crate::registry::generic::strategic::apply(def, &mut merged, &patch).is_err() {
        merged = live.clone();
    }
    // Fields this manager applied before and no longer applies go, unless others own them.
    let mut others = Fields::default();
    for e in list.iter().filter(|e| e.manager != manager) {
        others.union(&e.fields);
    }
    for path in previous.minus(&applied_fields).leaves() {
        let mut single = Fields::default();
        add_path(&mut single, &path);
        if others.intersect(&single).is_empty() {
            remove(&mut merged, &path);
        }
    }
    for e in list.iter_mut().filter(|e| e.manager != manager) {
        e.fields = e.fields.minus(&taken);
    }
    slot(&mut list, def, manager, "Apply", "", now).fields = applied_fields;
    store(&mut merged, &list);
    Ok(merged)
}

/// The applied configuration without the fields the server owns.
fn strip_system(applied: &Value) -> Value {
    let mut patch = applied.clone();
    if let Some(meta) = patch["metadata"].as_object_mut() {
        for k in [
            "managedFields",
            "resourceVersion",
            "uid",
            "creationTimestamp",
            "generation",
        ] {
            meta.remove(k);
        }
    }
    patch
}

/// Upstream's conflict message: `Apply failed with 1 conflict: conflict with "m" using v1:
/// .data.a`, or one line per field when there are several.
pub fn conflict_message(conflicts: &[Conflict]) -> String {
    match conflicts {
        [one] => format!(
            "Apply failed with 1 conflict: conflict with {:?} using {}: {}",
            one.manager, one.api_version, one.field
        ),
        many => {
            let mut by_manager: BTreeMap<(String, String), Vec<&str>> = BTreeMap::new();
            for c in many {
                by_manager
                    .entry((c.manager.clone(), c.api_version.clone()))
                    .or_default()
                    .push(&c.field);
            }
            let parts: Vec<String> = by_manager
                .iter()
                .map(|((m, v), fields)| {
                    let lines: Vec<String> = fields.iter().map(|f| format!("- {f}")).collect();
                    format!("conflicts with {m:?} using {v}:\n{}", lines.join("\n"))
                })
                .collect();
            format!(
                "Apply failed with {} conflicts: {}",
                many.len(),
                parts.join("\n")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployments() -> ResourceDef {
        *api::Scheme::builtin()
            .lookup("apps", "v1", "deployments")
            .unwrap()
    }

    fn cm() -> ResourceDef {
        *api::Scheme::builtin()
            .lookup("", "v1", "configmaps")
            .unwrap()
    }

    #[test]
    fn field_sets_in_upstream_spelling() {
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "labels": {"app": "x"}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [
                {"name": "c", "image": "i", "args": ["a", "b"]}]}}}});
        let fields = of(&deployments(), &d).to_json();
        assert_eq!(
            fields,
            json!({"f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
                    "k:{\"name\":\"c\"}": {".": {}, "f:args": {}, "f:image": {}, "f:name": {}}}}}}})
        );
        assert_eq!(Fields::from_json(&fields).to_json(), fields);
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

    #[test]
    fn updates_own_what_they_change() {
        let before = json!({"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}});
        let mut created = before.clone();
        record_update(&cm(), None, &mut created, "kubectl-create", "", "T");
        let mut after = created.clone();
        after["data"]["b"] = json!("3");
        record_update(&cm(), Some(&created), &mut after, "kubectl-edit", "", "U");
        let list = entries(&after);
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].fields.to_json(), json!({"f:data": {"f:a": {}}}));
        assert_eq!(list[1].manager, "kubectl-edit");
        assert_eq!(list[1].fields.to_json(), json!({"f:data": {"f:b": {}}}));
    }

    #[test]
    fn apply_conflicts_force_and_removal() {
        let def = cm();
        let first = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
            "data": {"a": "1", "b": "2"}});
        let live = apply(&def, None, &first, "alice", false, "T").unwrap();
        // Same values: shared ownership, no conflict.
        let same = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
            "data": {"a": "1"}});
        let live = apply(&def, Some(&live), &same, "bob", false, "T").unwrap();
        // Another value: a conflict with alice.
        let other = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
            "data": {"a": "9"}});
        let conflicts = apply(&def, Some(&live), &other, "bob", false, "T").unwrap_err();
        assert_eq!(
            conflict_message(&conflicts),
            "Apply failed with 1 conflict: conflict with \"alice\" using v1: .data.a"
        );
        let forced = apply(&def, Some(&live), &other, "bob", true, "T").unwrap();
        assert_eq!(forced["data"], json!({"a": "9", "b": "2"}));
        let list = entries(&forced);
        assert_eq!(list[0].fields.to_json(), json!({"f:data": {"f:b": {}}}));
        // alice stops applying b: it goes (nobody else owns it).
        let less = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
            "data": {}});
        let after = apply(&def, Some(&forced), &less, "alice", false, "T").unwrap();
        assert_eq!(after["data"], json!({"a": "9"}));
    }
}
