//! How well a pod suits each node that fits it, with upstream's default plugins and weights:
//! TaintToleration (3, PreferNoSchedule taints), NodeAffinity (2, preferred terms),
//! NodeResourcesFit (1, least allocated), BalancedAllocation (1) and spreading a
//! controller's replicas across nodes (2). Each plugin gives 0–100 per node.

use k8s_openapi::api::core::v1::{Pod, PreferredSchedulingTerm};

use super::cache::NodeInfo;
use super::filter::{Candidate, effective_taints, tolerates};
use crate::selector;

const MAX: i64 = 100;

/// The preferred node affinity terms of a pod.
pub fn preferred(pod: &Pod) -> Vec<PreferredSchedulingTerm> {
    pod.spec
        .as_ref()
        .and_then(|s| s.affinity.as_ref())
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|a| {
            a.preferred_during_scheduling_ignored_during_execution
                .clone()
        })
        .unwrap_or_default()
}

/// (requested including the pod, allocatable) of cpu and memory, with non-zero defaults.
fn usage(c: &Candidate, info: &NodeInfo) -> [(i64, i64); 2] {
    let (cpu, memory) = c.placed.nonzero();
    let alloc = |name: &str| info.allocatable.get(name).copied().unwrap_or(0);
    [
        (info.nonzero_requested.0 + cpu, alloc("cpu")),
        (info.nonzero_requested.1 + memory, alloc("memory")),
    ]
}

fn least_allocated(use_: &[(i64, i64); 2]) -> i64 {
    let per = |(req, cap): (i64, i64)| {
        if cap == 0 || req > cap {
            0
        } else {
            ((cap - req) as i128 * MAX as i128 / cap as i128) as i64
        }
    };
    (per(use_[0]) + per(use_[1])) / 2
}

fn balanced(use_: &[(i64, i64); 2]) -> i64 {
    let frac = |(req, cap): (i64, i64)| {
        if cap == 0 {
            1.0
        } else {
            (req as f64 / cap as f64).min(1.0)
        }
    };
    let std = (frac(use_[0]) - frac(use_[1])).abs() / 2.0;
    ((1.0 - std) * MAX as f64) as i64
}

/// Raw plugin scores of one node, before normalisation across nodes.
struct Raw {
    taints: i64,
    affinity: i64,
    resources: i64,
    balance: i64,
    siblings: i64,
}

/// Normalises `values` to 0–100 (upstream's DefaultNormalizeScore); `reverse` makes the
/// lowest best.
fn normalize(values: &mut [i64], reverse: bool) {
    let max = values.iter().copied().max().unwrap_or(0);
    for v in values.iter_mut() {
        *v = match (max, reverse) {
            (0, true) => MAX,
            (0, false) => 0,
            (m, false) => *v * MAX / m,
            (m, true) => MAX - *v * MAX / m,
        };
    }
}

/// The total weighted score of each node, in the order given.
pub fn scores(
    c: &Candidate,
    preferred: &[PreferredSchedulingTerm],
    nodes: &[&NodeInfo],
) -> Vec<i64> {
    let raw: Vec<Raw> = nodes
        .iter()
        .map(|info| {
            let use_ = usage(c, info);
            Raw {
                taints: effective_taints(&info.node)
                    .iter()
                    .filter(|t| t.effect == "PreferNoSchedule")
                    .filter(|t| !c.tolerations.iter().any(|tol| tolerates(tol, t)))
                    .count() as i64,
                affinity: preferred
                    .iter()
                    .filter(|p| {
                        selector::node_term_matches(&p.preference, info.name(), info.labels())
                    })
                    .map(|p| i64::from(p.weight))
                    .sum(),
                resources: least_allocated(&use_),
                balance: balanced(&use_),
                siblings: c
                    .placed
                    .controller
                    .as_ref()
                    .and_then(|uid| info.by_controller.get(uid))
                    .copied()
                    .unwrap_or(0) as i64,
            }
        })
        .collect();
    let mut taints: Vec<i64> = raw.iter().map(|r| r.taints).collect();
    let mut affinity: Vec<i64> = raw.iter().map(|r| r.affinity).collect();
    let mut siblings: Vec<i64> = raw.iter().map(|r| r.siblings).collect();
    normalize(&mut taints, true);
    normalize(&mut affinity, false);
    normalize(&mut siblings, true);
    raw.iter()
        .enumerate()
        .map(|(i, r)| 3 * taints[i] + 2 * affinity[i] + r.resources + r.balance + 2 * siblings[i])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::cache::{Cache, PlacedPod};
    use serde_json::json;

    fn node(name: &str, labels: serde_json::Value) -> k8s_openapi::api::core::v1::Node {
        serde_json::from_value(json!({"metadata": {"name": name, "labels": labels},
            "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}}}))
        .unwrap()
    }

    fn replica(i: usize) -> Pod {
        serde_json::from_value(
            json!({"metadata": {"name": format!("r{i}"), "namespace": "ns",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs",
                "uid": "rs-uid", "controller": true}]},
            "spec": {"containers": [{"name": "c"}]}}),
        )
        .unwrap()
    }

    #[test]
    fn replicas_spread_and_preferences_count() {
        let mut cache = Cache::default();
        cache.set_node(node("a", json!({})));
        cache.set_node(node("b", json!({"zone": "x"})));
        cache.place("r0", "a", PlacedPod::of(&replica(0)));
        let c = Candidate::of(&replica(1));
        let nodes: Vec<&NodeInfo> = cache.live_nodes().collect();
        let s = scores(&c, &[], &nodes);
        assert!(s[1] > s[0], "the node without a sibling wins: {s:?}");
        let pref: Vec<PreferredSchedulingTerm> = serde_json::from_value(json!([{"weight": 10,
            "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["x"]}]}}]))
        .unwrap();
        let s = scores(&Candidate::of(&replica(2)), &pref, &nodes);
        assert!(s[1] > s[0]);
    }

    #[test]
    fn emptier_nodes_score_higher() {
        assert!(
            least_allocated(&[(1000, 4000), (0, 100)])
                > least_allocated(&[(3000, 4000), (50, 100)])
        );
        assert_eq!(balanced(&[(2, 4), (50, 100)]), 100);
        let mut v = vec![0, 5, 10];
        normalize(&mut v, true);
        assert_eq!(v, [100, 50, 0]);
    }
}
