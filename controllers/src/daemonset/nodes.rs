//! Which nodes a DaemonSet's pods belong on (upstream's NodeShouldRunDaemonPod) and how its
//! pods are made to land there: the template's node name, node selector and required node
//! affinity, the node's taints against the pod's tolerations (with the tolerations every
//! daemon pod gets), and each pod pinned to its node by a `metadata.name` field term that the
//! scheduler honours.

use k8s_openapi::api::core::v1::{Node, PodSpec, Toleration};
use serde_json::{Value, json};

use crate::scheduler::filter::tolerates;
use crate::selector::{self, Labels};

/// Upstream's tolerations of daemon pods: `(key, effect)`, operator `Exists`.
const DAEMON_TOLERATIONS: &[(&str, &str)] = &[
    ("node.kubernetes.io/not-ready", "NoExecute"),
    ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    ("node.kubernetes.io/unschedulable", "NoSchedule"),
];
const NETWORK_UNAVAILABLE: (&str, &str) = ("node.kubernetes.io/network-unavailable", "NoSchedule");

/// Adds the daemon tolerations a pod spec lacks (as JSON).
pub fn add_daemon_tolerations(spec: &mut Value) {
    let Some(spec) = spec.as_object_mut() else {
        return;
    };
    let host_network = spec.get("hostNetwork") == Some(&json!(true));
    let mut wanted: Vec<(&str, &str)> = DAEMON_TOLERATIONS.to_vec();
    if host_network {
        wanted.push(NETWORK_UNAVAILABLE);
    }
    let list = spec.entry("tolerations").or_insert_with(|| json!([]));
    if !list.is_array() {
        *list = json!([]);
    }
    let Some(list) = list.as_array_mut() else {
        return;
    };
    for (key, effect) in wanted {
        let present = list
            .iter()
            .any(|t| t["key"] == key && t["effect"] == effect && t["operator"] == "Exists");
        if !present {
            list.push(json!({"key": key, "operator": "Exists", "effect": effect}));
        }
    }
}

/// Pins a pod spec (as JSON) to `node`: its required node affinity becomes the one term
/// `metadata.name In [node]` (upstream's ReplaceDaemonSetPodNodeNameNodeAffinity).
pub fn pin_to_node(spec: &mut Value, node: &str) {
    if !spec.is_object() {
        return;
    }
    if !spec["affinity"].is_object() {
        spec["affinity"] = json!({});
    }
    if !spec["affinity"]["nodeAffinity"].is_object() {
        spec["affinity"]["nodeAffinity"] = json!({});
    }
    spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] = json!({
        "nodeSelectorTerms": [{"matchFields": [
            {"key": "metadata.name", "operator": "In", "values": [node]}]}]
    });
}

/// Whether a daemon pod should run on `node`, and whether one already there may stay (a
/// `NoSchedule` taint keeps new pods off but lets running ones be; `NoExecute` does not).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fit {
    pub should_run: bool,
    pub may_stay: bool,
}

/// `spec` is the template's pod spec with the daemon tolerations added.
pub fn fit(spec: &PodSpec, node: &Node) -> Fit {
    let name = node.metadata.name.as_deref().unwrap_or_default();
    let labels: Labels = node.metadata.labels.clone().unwrap_or_default();
    let never = Fit {
        should_run: false,
        may_stay: false,
    };
    if spec
        .node_name
        .as_deref()
        .is_some_and(|n| !n.is_empty() && n != name)
    {
        return never;
    }
    let selected = spec
        .node_selector
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let required = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|a| {
            a.required_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .is_none_or(|r| {
            r.node_selector_terms
                .iter()
                .any(|t| selector::node_term_matches(t, name, &labels))
        });
    if !selected || !required {
        return never;
    }
    let tolerations: &[Toleration] = spec.tolerations.as_deref().unwrap_or_default();
    let mut fit = Fit {
        should_run: true,
        may_stay: true,
    };
    for taint in node
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_deref())
        .unwrap_or_default()
    {
        if tolerations.iter().any(|t| tolerates(t, taint)) {
            continue;
        }
        match taint.effect.as_str() {
            "NoExecute" => return never,
            "NoSchedule" => fit.should_run = false,
            _ => {}
        }
    }
    fit
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, extra: Value) -> Node {
        let mut n = json!({"metadata": {"name": name}});
        if let (Some(n), Some(e)) = (n.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                n.insert(k.clone(), v.clone());
            }
        }
        serde_json::from_value(n).unwrap()
    }

    fn spec(v: Value) -> PodSpec {
        let mut v = v;
        v["containers"] = json!([]);
        add_daemon_tolerations(&mut v);
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn selectors_affinity_and_taints() {
        let plain = node("a", json!({}));
        let labelled = node(
            "b",
            json!({"metadata": {"name": "b", "labels": {"disk": "ssd"}}}),
        );
        let any = spec(json!({}));
        assert!(fit(&any, &plain).should_run);
        let ssd = spec(json!({"nodeSelector": {"disk": "ssd"}}));
        assert!(!fit(&ssd, &plain).should_run);
        assert!(fit(&ssd, &labelled).should_run);
        let affinity = spec(
            json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
            {"nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["a"]}]}]}}}}),
        );
        assert!(fit(&affinity, &plain).should_run);
        assert!(!fit(&affinity, &labelled).should_run);

        let tainted = |effect: &str, key: &str| {
            node(
                "t",
                json!({"spec": {"taints": [{"key": key, "effect": effect}]}}),
            )
        };
        assert_eq!(
            fit(&any, &tainted("NoSchedule", "dedicated")),
            Fit {
                should_run: false,
                may_stay: true
            }
        );
        assert_eq!(
            fit(&any, &tainted("NoExecute", "dedicated")),
            Fit {
                should_run: false,
                may_stay: false
            }
        );
        // The daemon tolerations: a cordoned or not-ready node still runs its daemons.
        assert!(
            fit(
                &any,
                &tainted("NoSchedule", "node.kubernetes.io/unschedulable")
            )
            .should_run
        );
        assert!(fit(&any, &tainted("NoExecute", "node.kubernetes.io/not-ready")).should_run);
        let tolerant = spec(json!({"tolerations": [{"key": "dedicated", "operator": "Exists"}]}));
        assert!(fit(&tolerant, &tainted("NoExecute", "dedicated")).should_run);
    }

    #[test]
    fn tolerations_added_once_and_pods_pinned() {
        let mut s = json!({"hostNetwork": true, "tolerations": [
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"}]});
        add_daemon_tolerations(&mut s);
        add_daemon_tolerations(&mut s);
        assert_eq!(s["tolerations"].as_array().unwrap().len(), 7);
        pin_to_node(&mut s, "n1");
        assert_eq!(
            s["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
                [0]["matchFields"][0]["values"][0],
            "n1"
        );
    }
}
