//! Server-side apply: a manager owns what it applied; a field another manager owns with
//! another value is a conflict unless forced; fields it no longer applies go unless others
//! own them.

use std::collections::BTreeMap;

use api::scheme::ResourceDef;
use serde_json::Value;

use super::entries::{entries, slot, store};
use super::fields::Fields;
use super::paths::{display, lookup, of, remove};

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
        store(&mut obj, list);
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
            single.add(&path);
            if !e.fields.intersect(&single).is_empty() {
                conflicts.push(Conflict {
                    manager: e.manager.clone(),
                    api_version: e.api_version.clone(),
                    field: display(&path),
                });
            }
        }
        taken.add(&path);
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
        single.add(&path);
        if others.intersect(&single).is_empty() {
            remove(&mut merged, &path);
        }
    }
    for e in list.iter_mut().filter(|e| e.manager != manager) {
        e.fields = e.fields.minus(&taken);
    }
    slot(&mut list, def, manager, "Apply", "", now).fields = applied_fields;
    store(&mut merged, list);
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
    use serde_json::json;

    use super::*;
    use crate::managed_fields::entries::entries;

    fn cm() -> ResourceDef {
        *api::Scheme::builtin()
            .lookup("", "v1", "configmaps")
            .unwrap()
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
        assert_eq!(
            list[0].fields.clone().into_json(),
            json!({"f:data": {"f:b": {}}})
        );
        // alice stops applying b: it goes (nobody else owns it).
        let less = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
            "data": {}});
        let after = apply(&def, Some(&forced), &less, "alice", false, "T").unwrap();
        assert_eq!(after["data"], json!({"a": "9"}));
    }
}
