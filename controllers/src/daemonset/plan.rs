//! What a DaemonSet does next, node by node (upstream's `manage` and `rollingUpdate`): a pod
//! where one should run and none does, failed pods and extra pods removed, pods off nodes
//! they no longer fit; then, with `RollingUpdate`, old pods replaced while no more than
//! `maxUnavailable` nodes lack an available pod (old pods that are not available go at
//! once) — or, with `maxSurge`, a new pod started beside the old one on up to `maxSurge`
//! nodes at a time, the old one deleted once the new one is available (at once where the
//! old one is not available). The status counts come from the same view.

use super::nodes::Fit;

/// A daemon pod as the plan sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaemonPod {
    pub name: String,
    /// Its `controller-revision-hash` label.
    pub hash: String,
    /// Its creation time in seconds (older pods are kept).
    pub created: i64,
    pub terminating: bool,
    pub failed: bool,
    pub ready: bool,
    /// Ready for `minReadySeconds`.
    pub available: bool,
}

impl DaemonPod {
    fn active(&self) -> bool {
        !self.terminating && !self.failed
    }
}

#[derive(Clone, Debug)]
pub struct NodeState {
    pub node: String,
    pub fit: Fit,
    pub pods: Vec<DaemonPod>,
}

impl NodeState {
    /// Its running pods, oldest first.
    fn active(&self) -> Vec<&DaemonPod> {
        let mut active: Vec<&DaemonPod> = self.pods.iter().filter(|p| p.active()).collect();
        active.sort_by(|a, b| a.created.cmp(&b.created).then(a.name.cmp(&b.name)));
        active
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// `max_surge` above zero rolls by surging (`max_unavailable` is not read then).
    RollingUpdate {
        max_unavailable: i32,
        max_surge: i32,
    },
    OnDelete,
}

impl Strategy {
    fn surges(self) -> bool {
        matches!(self, Strategy::RollingUpdate { max_surge, .. } if max_surge > 0)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Create { node: String },
    Delete { pod: String },
}

/// A number or a percentage of the desired nodes (rounded up) as a count; `default` when
/// unset or unreadable.
fn scaled(value: Option<&serde_json::Value>, desired: i32, default: i32) -> i32 {
    let n = match value {
        Some(serde_json::Value::Number(n)) => n.as_i64().map_or(default, |n| n as i32),
        Some(serde_json::Value::String(s)) => match s.strip_suffix('%') {
            Some(p) => {
                let p: i64 = p.trim().parse().unwrap_or(0);
                ((p * i64::from(desired) + 99) / 100) as i32
            }
            None => s.parse().unwrap_or(default),
        },
        _ => default,
    };
    n.max(0)
}

/// The rolling update of `maxUnavailable` (default 1) and `maxSurge` (default 0); when both
/// come to zero, one unavailable node is allowed so that the roll is never stuck.
pub fn rolling_update(
    max_unavailable: Option<&serde_json::Value>,
    max_surge: Option<&serde_json::Value>,
    desired: i32,
) -> Strategy {
    let max_surge = scaled(max_surge, desired, 0);
    let mut max_unavailable = scaled(max_unavailable, desired, 1);
    if max_surge == 0 && max_unavailable == 0 {
        max_unavailable = 1;
    }
    Strategy::RollingUpdate {
        max_unavailable,
        max_surge,
    }
}

/// The newest-hash pod and the other one of a node's running pods (oldest first); `None`
/// when there are more than one of either, which the manage pass cleans up first.
fn new_and_old<'a>(
    active: &[&'a DaemonPod],
    update_hash: &str,
) -> Option<(Option<&'a DaemonPod>, Option<&'a DaemonPod>)> {
    let (new, old): (Vec<&DaemonPod>, Vec<&DaemonPod>) =
        active.iter().partition(|p| p.hash == update_hash);
    (new.len() <= 1 && old.len() <= 1).then(|| (new.first().copied(), old.first().copied()))
}

/// Upstream's surging roll: nodes whose old pod is unavailable get their new pod at once,
/// up to `max_surge` others at a time (nodes already surging count), and an old pod goes
/// once the new one beside it is available.
fn surge(nodes: &[NodeState], update_hash: &str, max_surge: i32) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut surging = 0;
    let mut candidates = Vec::new();
    for n in nodes.iter().filter(|n| n.fit.should_run) {
        let Some((new, old)) = new_and_old(&n.active(), update_hash) else {
            surging += 1;
            continue;
        };
        let create = Step::Create {
            node: n.node.clone(),
        };
        match (new, old) {
            (_, None) => {}
            (None, Some(old)) if !old.available => steps.push(create),
            (None, Some(_)) => candidates.push(create),
            (Some(new), Some(_)) if !new.available => surging += 1,
            (Some(_), Some(old)) => steps.push(Step::Delete {
                pod: old.name.clone(),
            }),
        }
    }
    let room = (max_surge - surging).max(0) as usize;
    steps.extend(candidates.into_iter().take(room));
    steps
}

/// The running pods of a surging node beyond the oldest new and the oldest old one, and the
/// old one itself when it is not ready or the new one is available (upstream's manage).
fn surge_extras<'a>(active: &[&'a DaemonPod], update_hash: &str) -> Vec<&'a DaemonPod> {
    let mut extras = Vec::new();
    let (mut new, mut old) = (None, None);
    for p in active {
        let slot = if p.hash == update_hash {
            &mut new
        } else {
            &mut old
        };
        match slot {
            None => *slot = Some(*p),
            Some(_) => extras.push(*p),
        }
    }
    if let (Some(new), Some(old)) = (new, old)
        && (!old.ready || new.available)
    {
        extras.push(old);
    }
    extras
}

pub fn plan(nodes: &[NodeState], update_hash: &str, strategy: Strategy) -> Vec<Step> {
    let mut steps = Vec::new();
    let delete = |p: &DaemonPod| Step::Delete {
        pod: p.name.clone(),
    };
    for n in nodes {
        let active = n.active();
        if n.fit.may_stay || n.fit.should_run {
            // Failed pods go (and are replaced); of several, the oldest stays.
            steps.extend(
                n.pods
                    .iter()
                    .filter(|p| p.failed && !p.terminating)
                    .map(delete),
            );
            if active.is_empty() && n.fit.should_run {
                steps.push(Step::Create {
                    node: n.node.clone(),
                });
            }
            if strategy.surges() {
                steps.extend(surge_extras(&active, update_hash).into_iter().map(delete));
            } else {
                steps.extend(active.iter().skip(1).map(|p| delete(p)));
            }
        } else {
            steps.extend(n.pods.iter().filter(|p| !p.terminating).map(delete));
        }
    }
    let Strategy::RollingUpdate {
        max_unavailable,
        max_surge,
    } = strategy
    else {
        return steps;
    };
    if max_surge > 0 {
        for step in surge(nodes, update_hash, max_surge) {
            if !steps.contains(&step) {
                steps.push(step);
            }
        }
        return steps;
    }
    let mut unavailable = 0;
    let mut replace = Vec::new();
    let mut candidates = Vec::new();
    for n in nodes.iter().filter(|n| n.fit.should_run) {
        let active = n.active();
        let new = active.iter().find(|p| p.hash == update_hash);
        let old = active.iter().find(|p| p.hash != update_hash);
        match (new, old) {
            (None, None) => unavailable += 1,
            (Some(p), _) if !p.available => unavailable += 1,
            (Some(_), _) => {}
            (None, Some(p)) if !p.available => replace.push(delete(p)),
            (None, Some(p)) => candidates.push(delete(p)),
        }
    }
    let budget = (max_unavailable - unavailable).max(0) as usize;
    for step in replace
        .into_iter()
        .chain(candidates.into_iter().take(budget))
    {
        if !steps.contains(&step) {
            steps.push(step);
        }
    }
    steps
}

/// The counts of a DaemonSet's status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub desired: i32,
    pub current: i32,
    pub misscheduled: i32,
    pub ready: i32,
    pub available: i32,
    pub updated: i32,
}

pub fn counts(nodes: &[NodeState], update_hash: &str) -> Counts {
    let mut c = Counts::default();
    for n in nodes {
        let has_pods = !n.pods.is_empty();
        if !n.fit.should_run {
            if has_pods {
                c.misscheduled += 1;
            }
            continue;
        }
        c.desired += 1;
        if !has_pods {
            continue;
        }
        c.current += 1;
        if let Some(p) = n.active().first() {
            if p.ready {
                c.ready += 1;
            }
            if p.available {
                c.available += 1;
            }
            if p.hash == update_hash {
                c.updated += 1;
            }
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const RUN: Fit = Fit {
        should_run: true,
        may_stay: true,
    };
    const NO: Fit = Fit {
        should_run: false,
        may_stay: false,
    };

    fn pod(name: &str, hash: &str, created: i64, available: bool) -> DaemonPod {
        DaemonPod {
            name: name.into(),
            hash: hash.into(),
            created,
            terminating: false,
            failed: false,
            ready: available,
            available,
        }
    }

    fn node(name: &str, fit: Fit, pods: Vec<DaemonPod>) -> NodeState {
        NodeState {
            node: name.into(),
            fit,
            pods,
        }
    }

    const ONE: Strategy = Strategy::RollingUpdate {
        max_unavailable: 1,
        max_surge: 0,
    };
    const SURGE_ONE: Strategy = Strategy::RollingUpdate {
        max_unavailable: 0,
        max_surge: 1,
    };

    #[test]
    fn one_pod_per_fitting_node() {
        let nodes = [
            node("a", RUN, vec![]),
            node(
                "b",
                RUN,
                vec![pod("b1", "h", 1, true), pod("b2", "h", 2, true)],
            ),
            node("c", NO, vec![pod("c1", "h", 1, true)]),
        ];
        assert_eq!(
            plan(&nodes, "h", ONE),
            [
                Step::Create { node: "a".into() },
                Step::Delete { pod: "b2".into() },
                Step::Delete { pod: "c1".into() },
            ]
        );
        let c = counts(&nodes, "h");
        assert_eq!(
            (c.desired, c.current, c.misscheduled, c.ready, c.updated),
            (2, 1, 1, 1, 1)
        );
        let mut failed = pod("a1", "h", 1, false);
        failed.failed = true;
        let nodes = [node("a", RUN, vec![failed])];
        assert_eq!(
            plan(&nodes, "h", ONE),
            [
                Step::Delete { pod: "a1".into() },
                Step::Create { node: "a".into() }
            ]
        );
    }

    #[test]
    fn rolling_update_within_max_unavailable() {
        let nodes = [
            node("a", RUN, vec![pod("a1", "old", 1, true)]),
            node("b", RUN, vec![pod("b1", "old", 1, true)]),
            node("c", RUN, vec![pod("c1", "old", 1, false)]),
        ];
        // The unavailable old pod goes at once; one available one within the budget of 1.
        assert_eq!(
            plan(&nodes, "new", ONE),
            [
                Step::Delete { pod: "c1".into() },
                Step::Delete { pod: "a1".into() }
            ]
        );
        // A node already without an available new pod uses the budget up.
        let nodes = [
            node("a", RUN, vec![pod("a1", "old", 1, true)]),
            node("b", RUN, vec![pod("b2", "new", 2, false)]),
        ];
        assert_eq!(plan(&nodes, "new", ONE), []);
        assert_eq!(
            plan(&nodes, "new", rolling_update(Some(&json!(2)), None, 2)),
            [Step::Delete { pod: "a1".into() }]
        );
        assert_eq!(plan(&nodes, "new", Strategy::OnDelete), []);
        assert_eq!(rolling_update(Some(&json!("50%")), None, 3), unavailable(2));
        assert_eq!(rolling_update(Some(&json!(0)), None, 3), unavailable(1));
        assert_eq!(rolling_update(None, None, 3), unavailable(1));
        assert_eq!(
            rolling_update(Some(&json!(0)), Some(&json!("34%")), 3),
            Strategy::RollingUpdate {
                max_unavailable: 0,
                max_surge: 2
            }
        );
    }

    fn unavailable(n: i32) -> Strategy {
        Strategy::RollingUpdate {
            max_unavailable: n,
            max_surge: 0,
        }
    }

    #[test]
    fn surging_starts_the_new_pod_beside_the_old_one() {
        // Available old pods: one node surges at a time; an unavailable old pod is
        // replaced at once, beside it.
        let nodes = [
            node("a", RUN, vec![pod("a1", "old", 1, true)]),
            node("b", RUN, vec![pod("b1", "old", 1, true)]),
            node("c", RUN, vec![pod("c1", "old", 1, false)]),
        ];
        assert_eq!(
            plan(&nodes, "new", SURGE_ONE),
            [
                Step::Create { node: "c".into() },
                Step::Create { node: "a".into() }
            ]
        );
        // A node with its new pod not yet available holds both pods and the surge.
        let nodes = [
            node(
                "a",
                RUN,
                vec![pod("a1", "old", 1, true), pod("a2", "new", 2, false)],
            ),
            node("b", RUN, vec![pod("b1", "old", 1, true)]),
        ];
        assert_eq!(plan(&nodes, "new", SURGE_ONE), []);
        // Once the new pod is available the old one goes, and the next node may surge.
        let nodes = [
            node(
                "a",
                RUN,
                vec![pod("a1", "old", 1, true), pod("a2", "new", 2, true)],
            ),
            node("b", RUN, vec![pod("b1", "old", 1, true)]),
        ];
        assert_eq!(
            plan(&nodes, "new", SURGE_ONE),
            [
                Step::Delete { pod: "a1".into() },
                Step::Create { node: "b".into() }
            ]
        );
        // An old pod that stopped being ready goes at once, even beside an unready new one.
        let mut stale = pod("a1", "old", 1, false);
        stale.ready = false;
        let nodes = [node("a", RUN, vec![stale, pod("a2", "new", 2, false)])];
        assert_eq!(
            plan(&nodes, "new", SURGE_ONE),
            [Step::Delete { pod: "a1".into() }]
        );
        // More than one pod of a kind on a node: the newer goes.
        let nodes = [node(
            "a",
            RUN,
            vec![pod("a1", "new", 1, true), pod("a2", "new", 2, true)],
        )];
        assert_eq!(
            plan(&nodes, "new", SURGE_ONE),
            [Step::Delete { pod: "a2".into() }]
        );
    }
}
