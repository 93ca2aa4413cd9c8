//! Whether a pod fits a node, plugin by plugin in upstream's filter order (NodeUnschedulable,
//! TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit, InterPodAffinity); the first
//! that fails gives the node's reasons, worded as upstream's.

use k8s_openapi::api::core::v1::{Node, Pod, PodAffinityTerm, Taint, Toleration};

use super::cache::{Cache, NodeInfo, PlacedPod};
use crate::selector::{self, Labels};

pub const UNSCHEDULABLE_TAINT: &str = "node.kubernetes.io/unschedulable";
pub const NOT_READY_TAINT: &str = "node.kubernetes.io/not-ready";
pub const UNREACHABLE_TAINT: &str = "node.kubernetes.io/unreachable";

/// Why a node does not fit, and whether evicting pods could change that (for the
/// preemption part of the message).
#[derive(Debug, PartialEq, Eq)]
pub struct Failure {
    pub reasons: Vec<String>,
    pub resolvable: bool,
}

fn fail(reason: impl Into<String>, resolvable: bool) -> Result<(), Failure> {
    Err(Failure {
        reasons: vec![reason.into()],
        resolvable,
    })
}

/// The pod being scheduled, read once.
pub struct Candidate {
    pub namespace: String,
    pub placed: PlacedPod,
    pub tolerations: Vec<Toleration>,
    pub node_selector: Labels,
    pub required: Option<k8s_openapi::api::core::v1::NodeSelector>,
    pub affinity: Vec<PodAffinityTerm>,
}

impl Candidate {
    pub fn of(pod: &Pod) -> Candidate {
        let spec = pod.spec.clone().unwrap_or_default();
        let affinity = spec.affinity.clone().unwrap_or_default();
        Candidate {
            namespace: pod.metadata.namespace.clone().unwrap_or_default(),
            placed: PlacedPod::of(pod),
            tolerations: spec.tolerations.unwrap_or_default(),
            node_selector: spec.node_selector.unwrap_or_default(),
            required: affinity
                .node_affinity
                .and_then(|a| a.required_during_scheduling_ignored_during_execution),
            affinity: affinity
                .pod_affinity
                .and_then(|a| a.required_during_scheduling_ignored_during_execution)
                .unwrap_or_default(),
        }
    }
}

pub fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    if t.effect
        .as_deref()
        .is_some_and(|e| !e.is_empty() && e != taint.effect)
    {
        return false;
    }
    let key = t.key.as_deref().unwrap_or_default();
    match t.operator.as_deref().unwrap_or("Equal") {
        "Exists" => key.is_empty() || key == taint.key,
        "Equal" | "" => {
            key == taint.key
                && t.value.as_deref().unwrap_or_default()
                    == taint.value.as_deref().unwrap_or_default()
        }
        _ => false,
    }
}

/// The node's taints, and the one its Ready condition implies when the node lifecycle
/// controller has not written it yet.
pub fn effective_taints(node: &Node) -> Vec<Taint> {
    let mut taints = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .map(|c| c.status.as_str());
    let implied = match ready {
        Some("True") => None,
        Some("Unknown") => Some(UNREACHABLE_TAINT),
        _ => Some(NOT_READY_TAINT),
    };
    if let Some(key) = implied
        && !taints
            .iter()
            .any(|t| t.key == key && t.effect == "NoSchedule")
    {
        taints.push(Taint {
            key: key.into(),
            effect: "NoSchedule".into(),
            ..Default::default()
        });
    }
    taints
}

fn unschedulable(c: &Candidate, node: &Node) -> Result<(), Failure> {
    let cordoned = node.spec.as_ref().and_then(|s| s.unschedulable) == Some(true);
    let taint = Taint {
        key: UNSCHEDULABLE_TAINT.into(),
        effect: "NoSchedule".into(),
        ..Default::default()
    };
    if cordoned && !c.tolerations.iter().any(|t| tolerates(t, &taint)) {
        return fail("node(s) were unschedulable", false);
    }
    Ok(())
}

fn taints(c: &Candidate, node: &Node) -> Result<(), Failure> {
    let untolerated = effective_taints(node).into_iter().find(|taint| {
        matches!(taint.effect.as_str(), "NoSchedule" | "NoExecute")
            && !c.tolerations.iter().any(|t| tolerates(t, taint))
    });
    match untolerated {
        Some(t) => fail(
            format!(
                "node(s) had untolerated taint {{{}: {}}}",
                t.key,
                t.value.unwrap_or_default()
            ),
            false,
        ),
        None => Ok(()),
    }
}

fn node_affinity(c: &Candidate, info: &NodeInfo) -> Result<(), Failure> {
    let labels = info.labels();
    let selected = c
        .node_selector
        .iter()
        .all(|(k, v)| labels.get(k) == Some(v));
    let required = c.required.as_ref().is_none_or(|r| {
        r.node_selector_terms
            .iter()
            .any(|t| selector::node_term_matches(t, info.name(), labels))
    });
    if selected && required {
        Ok(())
    } else {
        fail("node(s) didn't match Pod's node affinity/selector", false)
    }
}

fn ports_conflict(a: &(String, String, i32), b: &(String, String, i32)) -> bool {
    let wild = |ip: &str| ip == "0.0.0.0" || ip.is_empty();
    a.0 == b.0 && a.2 == b.2 && (a.1 == b.1 || wild(&a.1) || wild(&b.1))
}

fn ports(c: &Candidate, info: &NodeInfo) -> Result<(), Failure> {
    if c.placed.host_ports.is_empty() {
        return Ok(());
    }
    let taken = info.pods.values().flat_map(|p| &p.host_ports);
    for used in taken {
        if c.placed.host_ports.iter().any(|p| ports_conflict(p, used)) {
            return fail(
                "node(s) didn't have free ports for the requested pod ports",
                true,
            );
        }
    }
    Ok(())
}

fn fit(c: &Candidate, info: &NodeInfo) -> Result<(), Failure> {
    let allocatable = &info.allocatable;
    let mut reasons = Vec::new();
    let max_pods = allocatable.get("pods").copied().unwrap_or(0) / 1000;
    if info.pods.len() as i64 + 1 > max_pods {
        reasons.push("Too many pods".to_string());
    }
    for (name, want) in &c.placed.requests {
        if *want == 0 {
            continue;
        }
        let have = allocatable.get(name).copied().unwrap_or(0);
        let used = info.requested.get(name).copied().unwrap_or(0);
        if want.saturating_add(used) > have {
            reasons.push(format!("Insufficient {name}"));
        }
    }
    match reasons.is_empty() {
        true => Ok(()),
        false => Err(Failure {
            reasons,
            resolvable: true,
        }),
    }
}

/// Whether `term` (of a pod in `owner_ns`) selects `labels` of a pod in `ns`.
fn term_selects(term: &PodAffinityTerm, owner_ns: &str, ns: &str, labels: &Labels) -> bool {
    let in_namespace = match (&term.namespaces, &term.namespace_selector) {
        (Some(list), _) if !list.is_empty() => list.iter().any(|n| n == ns),
        // A namespace selector (even empty: all namespaces) without namespace labels at hand
        // is read as all namespaces.
        (_, Some(_)) => true,
        _ => owner_ns == ns,
    };
    in_namespace
        && term
            .label_selector
            .as_ref()
            .is_some_and(|s| selector::matches(s, labels))
}

/// The nodes in the same topology domain as `info` for `key`.
fn domain<'a>(cache: &'a Cache, info: &'a NodeInfo, key: &'a str) -> Vec<&'a NodeInfo> {
    let Some(value) = info.labels().get(key) else {
        return Vec::new();
    };
    if key == "kubernetes.io/hostname" {
        return vec![info];
    }
    cache
        .live_nodes()
        .filter(|n| n.labels().get(key) == Some(value))
        .collect()
}

fn inter_pod_affinity(c: &Candidate, info: &NodeInfo, cache: &Cache) -> Result<(), Failure> {
    let me = &c.placed;
    for term in &me.anti_affinity {
        let clash = domain(cache, info, &term.topology_key).iter().any(|n| {
            n.pods
                .values()
                .any(|p| term_selects(term, &c.namespace, &p.namespace, &p.labels))
        });
        if clash {
            return fail("node(s) didn't match pod anti-affinity rules", true);
        }
    }
    // Existing pods' anti-affinity against this one.
    for n in cache.live_nodes() {
        for p in n.pods.values().filter(|p| !p.anti_affinity.is_empty()) {
            for term in &p.anti_affinity {
                let same_domain = match (
                    n.labels().get(&term.topology_key),
                    info.labels().get(&term.topology_key),
                ) {
                    (Some(a), Some(b)) => a == b,
                    _ => false,
                };
                if same_domain && term_selects(term, &p.namespace, &c.namespace, &me.labels) {
                    return fail(
                        "node(s) didn't satisfy existing pods anti-affinity rules",
                        true,
                    );
                }
            }
        }
    }
    for term in &c.affinity {
        let found = domain(cache, info, &term.topology_key).iter().any(|n| {
            n.pods
                .values()
                .any(|p| term_selects(term, &c.namespace, &p.namespace, &p.labels))
        });
        // The first pod of a group that selects itself may go anywhere (upstream's rule).
        let first = !cache.live_nodes().any(|n| {
            n.pods
                .values()
                .any(|p| term_selects(term, &c.namespace, &p.namespace, &p.labels))
        }) && term_selects(term, &c.namespace, &c.namespace, &me.labels);
        let allowed = found || (first && info.labels().contains_key(&term.topology_key));
        if !allowed {
            return fail("node(s) didn't match pod affinity rules", false);
        }
    }
    Ok(())
}

/// Whether the pod fits the node.
pub fn fits(c: &Candidate, info: &NodeInfo, cache: &Cache) -> Result<(), Failure> {
    unschedulable(c, &info.node)?;
    taints(c, &info.node)?;
    node_affinity(c, info)?;
    ports(c, info)?;
    fit(c, info)?;
    if !c.placed.anti_affinity.is_empty() || !c.affinity.is_empty() || cache.with_anti_affinity > 0
    {
        inter_pod_affinity(c, info, cache)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn node(name: &str, extra: serde_json::Value) -> Node {
        let mut n = json!({"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
            "status": {"allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110"},
                "conditions": [{"type": "Ready", "status": "True"}]}});
        merge(&mut n, extra);
        serde_json::from_value(n).unwrap()
    }

    fn merge(a: &mut serde_json::Value, b: serde_json::Value) {
        match (a, b) {
            (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
                for (k, v) in b {
                    merge(a.entry(k).or_insert(serde_json::Value::Null), v);
                }
            }
            (a, b) => *a = b,
        }
    }

    pub(crate) fn pod(spec: serde_json::Value) -> Pod {
        serde_json::from_value(
            json!({"metadata": {"name": "p", "namespace": "ns", "uid": "u",
            "labels": {"app": "web"}}, "spec": spec}),
        )
        .unwrap()
    }

    fn check(pod: &Pod, node: Node) -> Result<(), Failure> {
        let mut cache = Cache::default();
        cache.set_node(node);
        let info = cache.live_nodes().next().unwrap();
        fits(&Candidate::of(pod), info, &cache)
    }

    fn reasons(r: Result<(), Failure>) -> Vec<String> {
        r.err().map(|f| f.reasons).unwrap_or_default()
    }

    #[test]
    fn taints_and_tolerations() {
        let tainted = node(
            "a",
            json!({"spec": {"taints": [{"key": "k", "value": "v", "effect": "NoSchedule"}]}}),
        );
        let plain = pod(json!({"containers": []}));
        assert_eq!(
            reasons(check(&plain, tainted.clone())),
            ["node(s) had untolerated taint {k: v}"]
        );
        let tolerant =
            pod(json!({"containers": [], "tolerations": [{"key": "k", "operator": "Exists"}]}));
        assert!(check(&tolerant, tainted).is_ok());
        let not_ready = node(
            "b",
            json!({"status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}}),
        );
        assert_eq!(
            reasons(check(&plain, not_ready)),
            ["node(s) had untolerated taint {node.kubernetes.io/unreachable: }"]
        );
        let cordoned = node("c", json!({"spec": {"unschedulable": true}}));
        assert_eq!(
            reasons(check(&plain, cordoned)),
            ["node(s) were unschedulable"]
        );
    }

    #[test]
    fn selectors_and_resources() {
        let picky = pod(json!({"containers": [], "nodeSelector": {"disk": "ssd"}}));
        assert_eq!(
            reasons(check(&picky, node("a", json!({})))),
            ["node(s) didn't match Pod's node affinity/selector"]
        );
        assert!(
            check(
                &picky,
                node("a", json!({"metadata": {"labels": {"disk": "ssd"}}}))
            )
            .is_ok()
        );
        let big = pod(json!({"containers": [{"name": "c",
            "resources": {"requests": {"cpu": "3", "memory": "8Gi"}}}]}));
        assert_eq!(
            check(&big, node("a", json!({}))),
            Err(Failure {
                reasons: vec!["Insufficient cpu".into(), "Insufficient memory".into()],
                resolvable: true
            })
        );
        let full = node("a", json!({"status": {"allocatable": {"pods": "0"}}}));
        assert_eq!(
            reasons(check(&pod(json!({"containers": []})), full)),
            ["Too many pods"]
        );
    }

    #[test]
    fn host_ports_and_anti_affinity() {
        let mut cache = Cache::default();
        cache.set_node(node("a", json!({})));
        let web = pod(
            json!({"containers": [{"name": "c", "ports": [{"containerPort": 80, "hostPort": 8080}]}],
            "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}]}}}),
        );
        cache.place("other", "a", PlacedPod::of(&web));
        let info = cache.live_nodes().next().unwrap();
        assert_eq!(
            reasons(fits(&Candidate::of(&web), info, &cache)),
            ["node(s) didn't have free ports for the requested pod ports"]
        );
        let no_ports =
            pod(json!({"containers": [], "affinity": web.spec.as_ref().unwrap().affinity}));
        assert_eq!(
            reasons(fits(&Candidate::of(&no_ports), info, &cache)),
            ["node(s) didn't match pod anti-affinity rules"]
        );
    }
}
