//! The node lifecycle's pure decisions: which taints a node's conditions call for, whether
//! its heartbeats stopped, and when a pod on a tainted node must go.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, Pod, Taint};

use crate::scheduler::filter::{
    NOT_READY_TAINT, UNREACHABLE_TAINT, UNSCHEDULABLE_TAINT, tolerates,
};

/// The NoSchedule taints of conditions other than Ready, when they hold (TaintNodesByCondition).
const CONDITION_TAINTS: [(&str, &str); 4] = [
    ("MemoryPressure", "node.kubernetes.io/memory-pressure"),
    ("DiskPressure", "node.kubernetes.io/disk-pressure"),
    ("PIDPressure", "node.kubernetes.io/pid-pressure"),
    (
        "NetworkUnavailable",
        "node.kubernetes.io/network-unavailable",
    ),
];

/// The taints the controller owns (it adds and removes only these).
fn managed(key: &str) -> bool {
    [NOT_READY_TAINT, UNREACHABLE_TAINT, UNSCHEDULABLE_TAINT].contains(&key)
        || CONDITION_TAINTS.iter().any(|(_, k)| *k == key)
}

fn condition_status<'a>(node: &'a Node, type_: &str) -> Option<&'a str> {
    node.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| c.status.as_str())
}

pub fn ready_status(node: &Node) -> Option<String> {
    condition_status(node, "Ready").map(str::to_string)
}

/// The node's taints as its conditions and `unschedulable` say (TaintNodesByCondition and
/// the NoExecute taints of the eviction manager), keeping those of others and the
/// `timeAdded` of those already there. A node that has not reported Ready yet keeps what it
/// registered with.
pub fn wanted_taints(node: &Node, now: &str) -> Vec<Taint> {
    let current = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    let ready = condition_status(node, "Ready");
    let mut wanted: Vec<(String, &str)> = Vec::new();
    let key = match ready {
        None | Some("True") => None,
        Some("Unknown") => Some(UNREACHABLE_TAINT),
        _ => Some(NOT_READY_TAINT),
    };
    if let Some(k) = key {
        wanted.push((k.into(), "NoSchedule"));
        wanted.push((k.into(), "NoExecute"));
    }
    for (condition, taint) in CONDITION_TAINTS {
        if condition_status(node, condition) == Some("True") {
            wanted.push((taint.into(), "NoSchedule"));
        }
    }
    if node.spec.as_ref().and_then(|s| s.unschedulable) == Some(true) {
        wanted.push((UNSCHEDULABLE_TAINT.into(), "NoSchedule"));
    }
    let keep = |t: &Taint| {
        !managed(&t.key)
            || wanted.iter().any(|(k, e)| *k == t.key && *e == t.effect)
            // Not yet Ready: the registration's not-ready taint stays.
            || (ready.is_none() && t.key == NOT_READY_TAINT)
    };
    let mut out: Vec<Taint> = current.iter().filter(|t| keep(t)).cloned().collect();
    for (k, e) in wanted {
        if !out.iter().any(|t| t.key == k && t.effect == e) {
            let time_added = (e == "NoExecute")
                .then(|| serde_json::from_value(serde_json::json!(now)).ok())
                .flatten();
            out.push(Taint {
                key: k,
                effect: e.into(),
                value: None,
                time_added,
            });
        }
    }
    out
}

/// When a pod on a node with `taints` must be deleted: now (a NoExecute taint it does not
/// tolerate), after the shortest toleration of those it tolerates for a while, or never.
pub fn eviction_due(pod: &Pod, taints: &[Taint], now: jiff::Timestamp) -> Option<jiff::Timestamp> {
    let tolerations = pod
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.clone())
        .unwrap_or_default();
    let mut due: Option<jiff::Timestamp> = None;
    for taint in taints.iter().filter(|t| t.effect == "NoExecute") {
        let matching: Vec<_> = tolerations.iter().filter(|t| tolerates(t, taint)).collect();
        if matching.is_empty() {
            return Some(now);
        }
        // Tolerated forever if any matching toleration has no limit.
        let Some(seconds) = matching
            .iter()
            .map(|t| t.toleration_seconds)
            .try_fold(i64::MAX, |m, s| s.map(|s| m.min(s)))
        else {
            continue;
        };
        let added = taint.time_added.as_ref().map(|t| t.0).unwrap_or(now);
        let at = added
            .checked_add(jiff::SignedDuration::from_secs(seconds.max(0)))
            .unwrap_or(now);
        due = Some(due.map_or(at, |d| d.min(at)));
    }
    due
}

/// The conditions of a node whose agent went silent: each of the agent's set to Unknown.
pub fn unknown_conditions(node: &Node, now: &str, never: bool) -> Vec<serde_json::Value> {
    let (reason, message) = match never {
        true => (
            "NodeStatusNeverUpdated",
            "Kubelet never posted node status.",
        ),
        false => ("NodeStatusUnknown", "Kubelet stopped posting node status."),
    };
    let existing: BTreeMap<String, serde_json::Value> = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|c| Some((c.type_.clone(), serde_json::to_value(c).ok()?)))
        .collect();
    ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"]
        .iter()
        .map(|t| {
            let mut c = existing
                .get(*t)
                .cloned()
                .unwrap_or_else(|| serde_json::json!({"type": t}));
            if c["status"] != "Unknown" {
                c["lastTransitionTime"] = serde_json::json!(now);
            }
            c["status"] = serde_json::json!("Unknown");
            c["reason"] = serde_json::json!(reason);
            c["message"] = serde_json::json!(message);
            if c.get("lastHeartbeatTime").is_none_or(|h| h.is_null()) {
                c["lastHeartbeatTime"] = serde_json::json!(now);
            }
            c
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(ready: &str, taints: serde_json::Value) -> Node {
        serde_json::from_value(
            json!({"metadata": {"name": "n"}, "spec": {"taints": taints},
            "status": {"conditions": [{"type": "Ready", "status": ready}]}}),
        )
        .unwrap()
    }

    #[test]
    fn taints_follow_the_ready_condition() {
        let t = wanted_taints(
            &node("Unknown", json!([{"key": "other", "effect": "NoSchedule"}])),
            "2024-01-01T00:00:00Z",
        );
        let keys: Vec<_> = t
            .iter()
            .map(|t| (t.key.as_str(), t.effect.as_str()))
            .collect();
        assert_eq!(
            keys,
            [
                ("other", "NoSchedule"),
                (UNREACHABLE_TAINT, "NoSchedule"),
                (UNREACHABLE_TAINT, "NoExecute")
            ]
        );
        assert!(t[2].time_added.is_some());
        let back = node("True", serde_json::to_value(&t).unwrap());
        let t = wanted_taints(&back, "x");
        assert_eq!(t.len(), 1);
        let pressed: Node = serde_json::from_value(json!({"metadata": {"name": "n"},
            "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "DiskPressure", "status": "True"}]}}))
        .unwrap();
        let t = wanted_taints(&pressed, "x");
        assert_eq!(
            (t[0].key.as_str(), t[0].effect.as_str()),
            ("node.kubernetes.io/disk-pressure", "NoSchedule")
        );
        let new: Node = serde_json::from_value(json!({"metadata": {"name": "n"},
            "spec": {"taints": [{"key": NOT_READY_TAINT, "effect": "NoSchedule"}]}}))
        .unwrap();
        assert_eq!(wanted_taints(&new, "x").len(), 1);
    }

    #[test]
    fn pods_go_after_their_toleration() {
        let now: jiff::Timestamp = "2024-01-01T00:10:00Z".parse().unwrap();
        let taints: Vec<Taint> =
            serde_json::from_value(json!([{"key": UNREACHABLE_TAINT, "effect": "NoExecute",
            "timeAdded": "2024-01-01T00:00:00Z"}]))
            .unwrap();
        let pod = |tol: serde_json::Value| -> Pod {
            serde_json::from_value(
                json!({"metadata": {"name": "p"}, "spec": {"containers": [], "tolerations": tol}}),
            )
            .unwrap()
        };
        let defaulted = pod(
            json!([{"key": UNREACHABLE_TAINT, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}]),
        );
        assert_eq!(
            eviction_due(&defaulted, &taints, now),
            Some("2024-01-01T00:05:00Z".parse().unwrap())
        );
        assert_eq!(eviction_due(&pod(json!([])), &taints, now), Some(now));
        assert_eq!(
            eviction_due(&pod(json!([{"operator": "Exists"}])), &taints, now),
            None
        );
    }

    #[test]
    fn silent_nodes_become_unknown() {
        let c = unknown_conditions(&node("True", json!([])), "T", false);
        assert_eq!(c[0]["status"], "Unknown");
        assert_eq!(c[0]["reason"], "NodeStatusUnknown");
        assert_eq!(c[0]["message"], "Kubelet stopped posting node status.");
        assert_eq!(c.len(), 4);
    }
}
