//! The pure decisions of the ReplicaSet controller: which pods count, which to delete first
//! (upstream's ActivePods ranking), the slow-start batches of creations, and the status.

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use crate::selector::{self, Labels};

/// Upstream's cap on creations or deletions in one sync (`burstReplicas`).
pub const BURST: usize = 500;

pub fn is_active(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none()
        && !matches!(
            pod.status.as_ref().and_then(|s| s.phase.as_deref()),
            Some("Succeeded" | "Failed")
        )
}

fn ready_since(pod: &Pod) -> Option<jiff::Timestamp> {
    let c = pod
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready" && c.status == "True")?;
    Some(
        c.last_transition_time
            .as_ref()
            .map(|t| t.0)
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH),
    )
}

pub fn is_ready(pod: &Pod) -> bool {
    ready_since(pod).is_some()
}

/// Whether a pod has been ready for `min_ready` seconds at `now`; if ready but not yet
/// long enough, how many seconds remain (so that the caller looks again then).
pub fn available(pod: &Pod, min_ready: i64, now: jiff::Timestamp) -> (bool, Option<i64>) {
    match ready_since(pod) {
        None => (false, None),
        Some(_) if min_ready <= 0 => (true, None),
        Some(since) => {
            let elapsed = now.as_second() - since.as_second();
            if elapsed >= min_ready {
                (true, None)
            } else {
                (false, Some(min_ready - elapsed))
            }
        }
    }
}

fn phase_rank(pod: &Pod) -> u8 {
    match pod.status.as_ref().and_then(|s| s.phase.as_deref()) {
        Some("Pending") => 0,
        Some("Running") => 2,
        _ => 1,
    }
}

fn restarts(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map(|c| c.iter().map(|c| c.restart_count).max().unwrap_or(0))
        .unwrap_or(0)
}

fn deletion_cost(pod: &Pod) -> i64 {
    pod.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("controller.kubernetes.io/pod-deletion-cost"))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// `pods` in the order they are deleted when scaling down (upstream's ActivePods ranking):
/// unscheduled before scheduled, pending before unknown before running, not ready before
/// ready, lower deletion cost first, ready for less time first, more restarts first, newer
/// first.
pub fn deletion_order(pods: &mut [&Pod]) {
    pods.sort_by(|a, b| {
        let assigned = |p: &Pod| {
            !p.spec
                .as_ref()
                .and_then(|s| s.node_name.as_deref())
                .unwrap_or_default()
                .is_empty()
        };
        let created = |p: &Pod| p.metadata.creation_timestamp.as_ref().map(|t| t.0);
        assigned(a)
            .cmp(&assigned(b))
            .then(phase_rank(a).cmp(&phase_rank(b)))
            .then(is_ready(a).cmp(&is_ready(b)))
            .then(deletion_cost(a).cmp(&deletion_cost(b)))
            // Ready more recently (a later time) goes first.
            .then(ready_since(b).cmp(&ready_since(a)))
            .then(restarts(b).cmp(&restarts(a)))
            .then(created(b).cmp(&created(a)))
    });
}

/// The sizes of successive creation batches for `n` pods: 1, 2, 4... (upstream's slowStartBatch).
pub fn batches(n: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let (mut left, mut size) = (n.min(BURST), 1);
    while left > 0 {
        let b = size.min(left);
        out.push(b);
        left -= b;
        size *= 2;
    }
    out
}

/// The replica counts of a ReplicaSet's status from its active pods.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub replicas: i32,
    pub fully_labeled: i32,
    pub ready: i32,
    pub available: i32,
    /// Seconds until a ready pod becomes available.
    pub recheck: Option<i64>,
}

pub fn counts(
    pods: &[&Pod],
    template_labels: &Labels,
    min_ready: i64,
    now: jiff::Timestamp,
) -> Counts {
    let mut c = Counts::default();
    let everything = LabelSelector {
        match_labels: Some(template_labels.clone()),
        match_expressions: None,
    };
    for pod in pods {
        c.replicas += 1;
        let labels = pod.metadata.labels.clone().unwrap_or_default();
        if selector::matches(&everything, &labels) {
            c.fully_labeled += 1;
        }
        if is_ready(pod) {
            c.ready += 1;
        }
        match available(pod, min_ready, now) {
            (true, _) => c.available += 1,
            (false, Some(wait)) => c.recheck = Some(c.recheck.map_or(wait, |w| w.min(wait))),
            _ => {}
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, node: &str, phase: &str, ready: Option<&str>) -> Pod {
        let mut p = json!({"metadata": {"name": name, "creationTimestamp": "2024-01-01T00:00:00Z"},
            "spec": {"containers": [], "nodeName": node}, "status": {"phase": phase}});
        if let Some(t) = ready {
            p["status"]["conditions"] =
                json!([{"type": "Ready", "status": "True", "lastTransitionTime": t}]);
        }
        serde_json::from_value(p).unwrap()
    }

    #[test]
    fn deletes_the_least_useful_first() {
        let running_old = pod("a", "n", "Running", Some("2024-01-01T00:00:00Z"));
        let running_new = pod("b", "n", "Running", Some("2024-01-01T00:05:00Z"));
        let pending = pod("c", "n", "Pending", None);
        let unscheduled = pod("d", "", "Pending", None);
        let mut pods = vec![&running_old, &pending, &running_new, &unscheduled];
        deletion_order(&mut pods);
        let names: Vec<_> = pods
            .iter()
            .map(|p| p.metadata.name.clone().unwrap())
            .collect();
        assert_eq!(names, ["d", "c", "b", "a"]);
    }

    #[test]
    fn batches_and_availability() {
        assert_eq!(batches(10), [1, 2, 4, 3]);
        assert_eq!(batches(0), Vec::<usize>::new());
        assert_eq!(batches(1000).iter().sum::<usize>(), BURST);
        let p = pod("a", "n", "Running", Some("2024-01-01T00:00:00Z"));
        let t0: jiff::Timestamp = "2024-01-01T00:00:05Z".parse().unwrap();
        assert_eq!(available(&p, 10, t0), (false, Some(5)));
        assert_eq!(available(&p, 0, t0), (true, None));
        let labels: Labels = [("app".to_string(), "web".to_string())].into();
        let c = counts(&[&p], &labels, 10, t0);
        assert_eq!(
            (c.replicas, c.fully_labeled, c.ready, c.available, c.recheck),
            (1, 0, 1, 0, Some(5))
        );
    }
}
