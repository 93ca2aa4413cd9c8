//! What the scheduler knows of the cluster, from its watches: every node, and per node what
//! its bound pods (and those it assumed bound, before the API confirms) take of it.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::core::v1::{Node, Pod, PodAffinityTerm};

use crate::owners;
use crate::resources::{Amounts, pod_requests};
use crate::selector::Labels;

/// What the scheduler keeps of a pod placed on a node.
#[derive(Clone, Debug)]
pub struct PlacedPod {
    pub namespace: String,
    pub labels: Labels,
    pub requests: Amounts,
    /// (protocol, hostIP, hostPort) of its containers' host ports.
    pub host_ports: Vec<(String, String, i32)>,
    /// The uid of its controller (its ReplicaSet...), for spreading replicas.
    pub controller: Option<String>,
    /// Its required anti-affinity terms, which other pods must respect.
    pub anti_affinity: Vec<PodAffinityTerm>,
}

/// Requests counted for pods that ask for nothing, in scoring (upstream's non-zero defaults).
pub const DEFAULT_CPU: i64 = 100;
pub const DEFAULT_MEMORY: i64 = 200 * 1024 * 1024 * 1000;

impl PlacedPod {
    /// CPU and memory requested, with the non-zero defaults for what is not asked.
    pub fn nonzero(&self) -> (i64, i64) {
        let or = |v: Option<&i64>, d: i64| v.copied().filter(|v| *v > 0).unwrap_or(d);
        (
            or(self.requests.get("cpu"), DEFAULT_CPU),
            or(self.requests.get("memory"), DEFAULT_MEMORY),
        )
    }

    pub fn of(pod: &Pod) -> PlacedPod {
        let spec = pod.spec.clone().unwrap_or_default();
        let host_ports = spec
            .containers
            .iter()
            .flat_map(|c| c.ports.iter().flatten())
            .filter_map(|p| {
                let port = p.host_port.filter(|p| *p > 0)?;
                Some((
                    p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                    p.host_ip.clone().unwrap_or_else(|| "0.0.0.0".into()),
                    port,
                ))
            })
            .collect();
        let anti_affinity = spec
            .affinity
            .as_ref()
            .and_then(|a| a.pod_anti_affinity.as_ref())
            .and_then(|a| {
                a.required_during_scheduling_ignored_during_execution
                    .clone()
            })
            .unwrap_or_default();
        PlacedPod {
            namespace: pod.metadata.namespace.clone().unwrap_or_default(),
            labels: pod.metadata.labels.clone().unwrap_or_default(),
            requests: pod_requests(&spec),
            host_ports,
            controller: owners::controller_uid(&pod.metadata).map(str::to_string),
            anti_affinity,
        }
    }
}

/// One node and what is placed on it.
#[derive(Clone, Debug, Default)]
pub struct NodeInfo {
    pub node: Node,
    /// The node's allocatable resources, read once per node update.
    pub allocatable: Amounts,
    pub requested: Amounts,
    /// CPU and memory requested with upstream's non-zero defaults (for scoring).
    pub nonzero_requested: (i64, i64),
    pub pods: BTreeMap<String, PlacedPod>,
    /// Pods per controller uid.
    pub by_controller: HashMap<String, usize>,
}

impl NodeInfo {
    pub fn name(&self) -> &str {
        self.node.metadata.name.as_deref().unwrap_or_default()
    }

    pub fn labels(&self) -> &Labels {
        static EMPTY: Labels = Labels::new();
        self.node.metadata.labels.as_ref().unwrap_or(&EMPTY)
    }

    fn add(&mut self, uid: &str, pod: PlacedPod) {
        for (k, v) in &pod.requests {
            *self.requested.entry(k.clone()).or_default() += v;
        }
        let (cpu, memory) = pod.nonzero();
        self.nonzero_requested.0 += cpu;
        self.nonzero_requested.1 += memory;
        if let Some(c) = &pod.controller {
            *self.by_controller.entry(c.clone()).or_default() += 1;
        }
        self.pods.insert(uid.to_string(), pod);
    }

    fn remove(&mut self, uid: &str) -> Option<PlacedPod> {
        let pod = self.pods.remove(uid)?;
        for (k, v) in &pod.requests {
            if let Some(r) = self.requested.get_mut(k) {
                *r -= v;
            }
        }
        let (cpu, memory) = pod.nonzero();
        self.nonzero_requested.0 -= cpu;
        self.nonzero_requested.1 -= memory;
        if let Some(c) = &pod.controller
            && let Some(n) = self.by_controller.get_mut(c)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.by_controller.remove(c);
            }
        }
        Some(pod)
    }
}

/// Every node, and where each placed pod is (pods may be placed on nodes not seen yet).
#[derive(Default)]
pub struct Cache {
    pub nodes: BTreeMap<String, NodeInfo>,
    /// Pod uid → node name.
    placed: HashMap<String, String>,
    /// How many placed pods have required anti-affinity terms (that others must respect).
    pub with_anti_affinity: usize,
}

impl Cache {
    pub fn set_node(&mut self, node: Node) {
        let name = node.metadata.name.clone().unwrap_or_default();
        let info = self.nodes.entry(name).or_default();
        info.allocatable =
            crate::resources::amounts(node.status.as_ref().and_then(|s| s.allocatable.as_ref()));
        info.node = node;
    }

    pub fn remove_node(&mut self, name: &str) {
        // Its pods stay recorded until they go: a node deleted and made again keeps them.
        if let Some(info) = self.nodes.get_mut(name) {
            info.node = Node::default();
            info.allocatable = Amounts::new();
        }
    }

    /// Whether `name` is a node that exists.
    pub fn has_node(&self, name: &str) -> bool {
        self.nodes
            .get(name)
            .is_some_and(|n| n.node.metadata.name.is_some())
    }

    /// Records `pod` (by uid) on `node`, replacing where it was before.
    pub fn place(&mut self, uid: &str, node: &str, pod: PlacedPod) {
        self.unplace(uid);
        self.with_anti_affinity += usize::from(!pod.anti_affinity.is_empty());
        self.nodes
            .entry(node.to_string())
            .or_default()
            .add(uid, pod);
        self.placed.insert(uid.to_string(), node.to_string());
    }

    pub fn unplace(&mut self, uid: &str) {
        if let Some(node) = self.placed.remove(uid)
            && let Some(info) = self.nodes.get_mut(&node)
            && let Some(pod) = info.remove(uid)
        {
            self.with_anti_affinity -= usize::from(!pod.anti_affinity.is_empty());
        }
    }

    pub fn is_placed(&self, uid: &str) -> bool {
        self.placed.contains_key(uid)
    }

    /// The nodes that exist, in name order.
    pub fn live_nodes(&self) -> impl Iterator<Item = &NodeInfo> {
        self.nodes
            .values()
            .filter(|n| n.node.metadata.name.is_some())
    }
}
