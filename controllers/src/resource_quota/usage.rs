//! A quota's status recomputed from the namespace's objects (pure): `hard` copied from the
//! spec, `used` summed over the objects each tracked resource counts, the quota's scopes
//! applied, as upstream's `CalculateUsage`.

use std::collections::{BTreeMap, BTreeSet};

use api::quota::{Amount, Usage, resource_of, usage};
use serde_json::{Map, Value, json};

/// The resources (group, plural) whose objects the quota's `spec.hard` counts, with the names
/// each one answers for.
pub fn tracked(quota: &Value) -> BTreeMap<(String, String), BTreeSet<String>> {
    let mut by_resource: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for name in quota["spec"]["hard"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
    {
        if let Some(resource) = resource_of(name) {
            by_resource
                .entry(resource)
                .or_default()
                .insert(name.clone());
        }
    }
    by_resource
}

/// What the names of one resource add up to over `objects` (zero when nothing counts).
pub fn sum(
    quota: &Value,
    (group, plural): (&str, &str),
    names: &BTreeSet<String>,
    objects: &[Value],
    now: i64,
) -> Usage {
    let mut total: Usage = names
        .iter()
        .map(|n| (n.clone(), Amount::default()))
        .collect();
    for obj in objects {
        if !api::quota::scopes::selects(quota, group, plural, obj) {
            continue;
        }
        for (name, amount) in usage(group, plural, obj, now) {
            if let Some(t) = total.get_mut(&name) {
                *t = t.plus(amount);
            }
        }
    }
    total
}

/// The status the quota should have: `hard` as the spec says, `used` from `measured` (names
/// nothing measured keep what they had), only for names that are limited.
pub fn status(quota: &Value, measured: &Usage) -> Value {
    let hard = quota["spec"]["hard"].clone();
    let limited = hard.as_object().cloned().unwrap_or_default();
    let mut used: Map<String, Value> = quota["status"]["used"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for (name, amount) in measured {
        used.insert(name.clone(), json!(amount.to_string()));
    }
    used.retain(|k, _| limited.contains_key(k));
    json!({"hard": if hard.is_object() { hard } else { json!({}) }, "used": used})
}

/// Whether the stored status already says what `next` says (usage compared by value).
pub fn unchanged(quota: &Value, next: &Value) -> bool {
    let current = &quota["status"];
    if current["hard"] != next["hard"] {
        return false;
    }
    let list = |v: &Value| -> BTreeMap<String, Option<i128>> {
        v.as_object()
            .into_iter()
            .flatten()
            .map(|(k, q)| {
                (
                    k.clone(),
                    q.as_str().and_then(Amount::parse).map(|a| a.milli),
                )
            })
            .collect()
    };
    list(&current["used"]) == list(&next["used"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_recomputed_from_what_is_stored() {
        let quota = json!({"spec": {"hard": {"pods": "5", "requests.cpu": "2",
            "count/configmaps": "3", "example": "1"}},
            "status": {"used": {"pods": "4", "example": "1", "gone": "2"}}});
        let tracked = tracked(&quota);
        let pods = &tracked[&(String::new(), "pods".to_string())];
        assert_eq!(pods.len(), 2);
        let objects = [
            json!({"spec": {"containers": [{"name": "a", "resources": {"requests": {"cpu": "500m"}}}]}}),
            json!({"spec": {"containers": []}, "status": {"phase": "Failed"}}),
        ];
        let mut measured = sum(&quota, ("", "pods"), pods, &objects, 0);
        let maps = &tracked[&(String::new(), "configmaps".to_string())];
        measured.extend(sum(&quota, ("", "configmaps"), maps, &[], 0));
        let next = status(&quota, &measured);
        assert_eq!(
            next,
            json!({"hard": quota["spec"]["hard"], "used": {"pods": "1", "example": "1",
                "requests.cpu": "500m", "count/configmaps": "0"}})
        );
        assert!(!unchanged(&quota, &next));
        let stored = json!({"spec": quota["spec"], "status": next});
        assert!(unchanged(&stored, &status(&stored, &measured)));
    }

    #[test]
    fn scoped_quotas_count_only_the_pods_they_select() {
        let quota = json!({"spec": {"hard": {"pods": "5"}, "scopes": ["BestEffort"]}});
        let names = BTreeSet::from(["pods".to_string()]);
        let objects = [
            json!({"spec": {"containers": [{"name": "a"}]}}),
            json!({"spec": {"containers": [{"name": "a", "resources": {"requests": {"cpu": "1"}}}]}}),
        ];
        let used = sum(&quota, ("", "pods"), &names, &objects, 0);
        assert_eq!(used["pods"].to_string(), "1");
    }
}
