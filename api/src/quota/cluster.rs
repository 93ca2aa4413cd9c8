//! ClusterResourceQuotas (quota.openshift.io) without I/O: which projects one selects, the
//! ResourceQuota it stands for when a write is judged (so `check` decides for both kinds, in
//! the same words), and its status: the total across the projects and each project's share.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::amount::Amount;
use super::check::status_list;
use super::usage::Usage;

/// Whether the quota's `spec.selector` picks the namespace: its labels match `labels` (when
/// given) and it carries every annotation of `annotations` with that value.
pub fn selects(quota: &Value, namespace: &Value) -> bool {
    let selector = &quota["spec"]["selector"];
    let meta = &namespace["metadata"];
    let labels = &selector["labels"];
    if labels.is_object()
        && !crate::selector::label_selector_matches(labels, meta["labels"].as_object())
    {
        return false;
    }
    selector["annotations"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(k, v)| meta["annotations"][k] == *v)
}

/// The ResourceQuota a cluster quota is judged as in one namespace (upstream's
/// `clusterQuotaAccessor`): its name and revision, `spec.quota` as spec, the total as status.
pub fn as_resource_quota(quota: &Value) -> Value {
    json!({
        "metadata": {
            "name": quota["metadata"]["name"],
            "resourceVersion": quota["metadata"]["resourceVersion"],
        },
        "spec": quota["spec"]["quota"],
        "status": quota["status"]["total"],
    })
}

/// The quota once a write in `namespace` is charged: the total's usage becomes `used` and the
/// namespace's share grows by what the total grew by (upstream's `UpdateQuotaStatus`).
pub fn charge(quota: &Value, namespace: &str, used: &Usage) -> Value {
    let before = status_list(&json!({"status": quota["status"]["total"]}), "used");
    let mut share = namespace_used(quota, namespace);
    for (k, v) in used {
        let diff = v.minus(before.get(k).copied().unwrap_or_default());
        let next = share.get(k).copied().unwrap_or_default().plus(diff);
        share.insert(k.clone(), next);
    }
    let mut next = quota.clone();
    next["status"]["total"]["used"] = to_json(used);
    let hard = quota["spec"]["quota"]["hard"].clone();
    let mut shares = shares(quota);
    shares.insert(namespace.to_string(), (hard, share));
    next["status"]["namespaces"] = namespaces_json(&shares);
    next
}

/// The status a quota should have given each selected namespace's measured usage: each
/// namespace's share, and their sum as the total, of the names the quota limits.
pub fn status(quota: &Value, measured: &BTreeMap<String, Usage>) -> Value {
    let hard = quota["spec"]["quota"]["hard"].clone();
    let limited: Vec<String> = hard
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let mut total: Usage = limited
        .iter()
        .map(|n| (n.clone(), Amount::default()))
        .collect();
    let mut shares = BTreeMap::new();
    for (namespace, usage) in measured {
        let mut share = Usage::new();
        for name in &limited {
            if let Some(v) = usage.get(name) {
                share.insert(name.clone(), *v);
                let sum = total.get(name).copied().unwrap_or_default().plus(*v);
                total.insert(name.clone(), sum);
            }
        }
        shares.insert(namespace.clone(), (hard.clone(), share));
    }
    let hard = if hard.is_object() { hard } else { json!({}) };
    json!({
        "total": {"hard": hard, "used": to_json(&total)},
        "namespaces": namespaces_json(&shares),
    })
}

/// Whether two statuses say the same (quantities compared by value, not by spelling).
pub fn same_status(a: &Value, b: &Value) -> bool {
    let lists = |s: &Value| -> Vec<(String, BTreeMap<String, Option<i128>>)> {
        let mut out = vec![
            ("hard".to_string(), values(&s["total"]["hard"])),
            ("used".to_string(), values(&s["total"]["used"])),
        ];
        for n in s["namespaces"].as_array().into_iter().flatten() {
            let name = n["namespace"].as_str().unwrap_or_default();
            out.push((format!("{name}/hard"), values(&n["status"]["hard"])));
            out.push((format!("{name}/used"), values(&n["status"]["used"])));
        }
        out
    };
    lists(a) == lists(b)
}

fn values(list: &Value) -> BTreeMap<String, Option<i128>> {
    list.as_object()
        .into_iter()
        .flatten()
        .map(|(k, q)| {
            (
                k.clone(),
                q.as_str().and_then(Amount::parse).map(|a| a.milli),
            )
        })
        .collect()
}

/// What the quota records as `namespace`'s usage.
pub fn namespace_used(quota: &Value, namespace: &str) -> Usage {
    shares(quota)
        .remove(namespace)
        .map(|(_, used)| used)
        .unwrap_or_default()
}

/// The namespaces' shares as stored: (hard, used) by namespace.
fn shares(quota: &Value) -> BTreeMap<String, (Value, Usage)> {
    quota["status"]["namespaces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| {
            let name = n["namespace"].as_str()?.to_string();
            let used = status_list(n, "used");
            Some((name, (n["status"]["hard"].clone(), used)))
        })
        .collect()
}

fn namespaces_json(shares: &BTreeMap<String, (Value, Usage)>) -> Value {
    Value::Array(
        shares
            .iter()
            .map(|(name, (hard, used))| {
                let mut status = Map::new();
                if hard.is_object() {
                    status.insert("hard".into(), hard.clone());
                }
                status.insert("used".into(), to_json(used));
                json!({"namespace": name, "status": status})
            })
            .collect(),
    )
}

fn to_json(list: &Usage) -> Value {
    Value::Object(
        list.iter()
            .map(|(k, v)| (k.clone(), json!(v.to_string())))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quota::{Request, check, pretty};

    fn quota() -> Value {
        json!({"metadata": {"name": "for-alice", "resourceVersion": "9"},
            "spec": {"selector": {"labels": {"matchLabels": {"team": "a"}},
                "annotations": {"openshift.io/requester": "alice"}},
                "quota": {"hard": {"pods": "3"}}},
            "status": {"total": {"hard": {"pods": "3"}, "used": {"pods": "2"}},
                "namespaces": [
                    {"namespace": "one", "status": {"hard": {"pods": "3"}, "used": {"pods": "2"}}}]}})
    }

    #[test]
    fn projects_are_selected_by_labels_and_annotations() {
        let ns = |labels: Value, annotations: Value| json!({"metadata": {"labels": labels, "annotations": annotations}});
        let mine = json!({"openshift.io/requester": "alice"});
        assert!(selects(&quota(), &ns(json!({"team": "a"}), mine.clone())));
        assert!(!selects(&quota(), &ns(json!({"team": "b"}), mine)));
        assert!(!selects(&quota(), &ns(json!({"team": "a"}), json!({}))));
        let by_annotation = json!({"spec": {"selector": {"annotations": {"k": "v"}}}});
        assert!(selects(&by_annotation, &ns(json!({}), json!({"k": "v"}))));
    }

    #[test]
    fn a_charge_moves_the_total_and_the_namespaces_share() {
        let q = quota();
        let rq = as_resource_quota(&q);
        let pod = json!({"spec": {"containers": []}});
        let r = Request {
            group: "",
            plural: "pods",
            obj: &pod,
            old: None,
            now: 0,
        };
        let charges = check(std::slice::from_ref(&rq), &r).unwrap_or_default();
        assert_eq!(charges.len(), 1);
        let next = charge(&q, "two", &charges[0].used);
        assert_eq!(next["status"]["total"]["used"], json!({"pods": "3"}));
        assert_eq!(
            next["status"]["namespaces"],
            json!([
                {"namespace": "one", "status": {"hard": {"pods": "3"}, "used": {"pods": "2"}}},
                {"namespace": "two", "status": {"hard": {"pods": "3"}, "used": {"pods": "1"}}}])
        );
        let full = as_resource_quota(&next);
        assert_eq!(
            check(&[full], &r).err().as_deref(),
            Some("exceeded quota: for-alice, requested: pods=1, used: pods=3, limited: pods=3")
        );
    }

    #[test]
    fn the_status_sums_the_namespaces() {
        let q = quota();
        let measured = BTreeMap::from([
            (
                "one".to_string(),
                Usage::from([("pods".into(), Amount::count(1))]),
            ),
            (
                "two".to_string(),
                Usage::from([("pods".into(), Amount::count(2))]),
            ),
        ]);
        let s = status(&q, &measured);
        assert_eq!(
            s["total"],
            json!({"hard": {"pods": "3"}, "used": {"pods": "3"}})
        );
        assert_eq!(s["namespaces"][1]["status"]["used"], json!({"pods": "2"}));
        assert_eq!(
            pretty(&namespace_used(&json!({"status": s.clone()}), "one")),
            "pods=1"
        );
        assert!(same_status(&s, &s));
        assert!(!same_status(&s, &q["status"]));
    }
}
