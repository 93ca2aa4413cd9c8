//! The pure part of ControllerRevisions, as upstream keeps them for stateful and daemon
//! sets: each holds the patch that
//! restores a template (`{"spec":{"template":{..., "$patch":"replace"}}}`), is named
//! `<set>-<hash>` (FNV-1a of that data, with the collision count, in the safe alphabet) and
//! numbered; an old template coming back reuses its revision under a new number; revisions
//! past `revisionHistoryLimit` go, oldest first, unless a pod or the status still uses them.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::deployment::hash::{canonical_text, pod_template_hash};

/// The label of a revision's hash.
pub const HASH_LABEL: &str = "controller.kubernetes.io/hash";

/// The data of the revision of `template`.
pub fn data_of(template: &Value) -> Value {
    let mut template = template.clone();
    if let Some(t) = template.as_object_mut() {
        t.insert("$patch".into(), json!("replace"));
    }
    json!({"spec": {"template": template}})
}

/// The template a revision's data restores.
pub fn template_of(data: &Value) -> Option<Value> {
    let mut template = data.pointer("/spec/template")?.clone();
    template.as_object_mut()?.remove("$patch");
    Some(template)
}

/// `(name, hash)` of the revision of `data`.
pub fn name_of(set: &str, data: &Value, collision_count: Option<i32>) -> (String, String) {
    let hash = pod_template_hash(data, collision_count);
    let prefix: String = set.chars().take(223).collect();
    (format!("{prefix}-{hash}"), hash)
}

/// A stored revision, as the controller reads it.
#[derive(Clone, Debug)]
pub struct Known {
    pub name: String,
    /// Its `controller.kubernetes.io/hash` label.
    pub hash: String,
    pub revision: i64,
    pub data: Value,
}

pub fn same_data(a: &Value, b: &Value) -> bool {
    canonical_text(a) == canonical_text(b)
}

/// The number the next new revision gets.
pub fn next_number(known: &[Known]) -> i64 {
    known.iter().map(|k| k.revision).max().unwrap_or(0) + 1
}

/// The revisions to delete: all but the newest `limit` of those nothing uses.
pub fn pruned(known: &[Known], live: &BTreeSet<String>, limit: i32) -> Vec<String> {
    let mut old: Vec<&Known> = known.iter().filter(|k| !live.contains(&k.name)).collect();
    old.sort_by_key(|k| k.revision);
    let excess = old.len().saturating_sub(limit.max(0) as usize);
    old.into_iter()
        .take(excess)
        .map(|k| k.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_names_and_history() {
        let t = json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": []}});
        let data = data_of(&t);
        assert_eq!(data["spec"]["template"]["$patch"], "replace");
        assert_eq!(template_of(&data), Some(t.clone()));
        let (name, hash) = name_of("web", &data, None);
        assert_eq!(name, format!("web-{hash}"));
        assert_ne!(name_of("web", &data, Some(1)).0, name);
        let reordered = json!({"spec": {"template": {"spec": {"containers": []},
            "$patch": "replace", "metadata": {"labels": {"app": "web"}}}}});
        assert!(same_data(&data, &reordered));
        assert_eq!(name_of("web", &reordered, None).0, name);

        let known: Vec<Known> = (1..=5)
            .map(|n| Known {
                name: format!("r{n}"),
                hash: String::new(),
                revision: n,
                data: json!(n),
            })
            .collect();
        assert_eq!(next_number(&known), 6);
        let live: BTreeSet<String> = ["r5".to_string(), "r1".to_string()].into();
        assert_eq!(pruned(&known, &live, 1), ["r2", "r3"]);
        assert_eq!(pruned(&known, &live, 10), Vec::<String>::new());
    }
}
