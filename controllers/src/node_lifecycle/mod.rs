//! The node lifecycle controller and pod garbage collection (kube-controller-manager's
//! nodelifecycle and podgc): a node whose agent stops renewing its Lease and posting its
//! status for the monitor grace period gets its conditions set to Unknown and its pods marked
//! not ready; nodes are tainted as their Ready condition says (`not-ready`, `unreachable`,
//! NoSchedule and NoExecute) and as cordoned; pods on a NoExecute-tainted node are deleted
//! once their toleration runs out; pods bound to nodes that are gone are deleted, and
//! terminated pods beyond a threshold, oldest first.

pub mod decide;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::{Client, ResourceExt};
use serde_json::json;

use crate::Error;
use crate::events::{self, Involved};
use crate::lenient::{self, Object};

/// Upstream's defaults (1.32): 50 s without a heartbeat, a node is lost; a new node has 60 s.
pub const MONITOR_GRACE: Duration = Duration::from_secs(50);
const STARTUP_GRACE: Duration = Duration::from_secs(60);
const MONITOR_PERIOD: Duration = Duration::from_secs(5);
/// Upstream's terminated-pod-gc-threshold.
const TERMINATED_THRESHOLD: usize = 12_500;
/// How long a pod's node must stay gone before the pod is deleted (upstream's quarantine).
const ORPHAN_QUARANTINE: Duration = Duration::from_secs(40);
const LEASE_NAMESPACE: &str = "kube-node-lease";
const COMPONENT: &str = "node-controller";

struct Monitor {
    client: Client,
    grace: Duration,
    /// Per node: the last heartbeat seen (status time, lease renewal) and when it changed, on
    /// this controller's clock (the node's clock is not trusted).
    heartbeats: HashMap<String, ((String, String), Instant)>,
    /// Pods whose node was found missing, and since when.
    orphans: HashMap<String, Instant>,
    ticks: u64,
}

fn now_text() -> String {
    jiff::Timestamp::from_second(jiff::Timestamp::now().as_second())
        .map(|t| t.to_string())
        .unwrap_or_default()
}

impl Monitor {
    async fn tick(&mut self) -> Result<(), Error> {
        let nodes: Vec<Node> =
            lenient::list(&Api::all(self.client.clone()), &ListParams::default()).await?;
        let leases: Api<Object<Lease>> = Api::namespaced(self.client.clone(), LEASE_NAMESPACE);
        let renewals: HashMap<String, String> = lenient::list(&leases, &ListParams::default())
            .await?
            .into_iter()
            .map(|l| {
                let renewed = serde_json::to_value(&l.spec)
                    .ok()
                    .and_then(|s| s["renewTime"].as_str().map(str::to_string));
                (l.name_any(), renewed.unwrap_or_default())
            })
            .collect();
        for node in &nodes {
            if let Err(error) = self.check(node, &renewals).await {
                tracing::warn!(%error, node = %node.name_any(), "node lifecycle: retrying");
            }
        }
        self.heartbeats
            .retain(|name, _| nodes.iter().any(|n| n.name_any() == *name));
        self.ticks += 1;
        if self.ticks.is_multiple_of(4) {
            let names: HashSet<String> = nodes.iter().map(|n| n.name_any()).collect();
            self.collect_pods(&names).await?;
        }
        Ok(())
    }

    async fn check(
        &mut self,
        node: &Node,
        renewals: &HashMap<String, String>,
    ) -> Result<(), Error> {
        let name = node.name_any();
        let ready = node
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == "Ready"));
        let posted = ready
            .and_then(|c| c.last_heartbeat_time.as_ref())
            .map(|t| t.0.to_string())
            .unwrap_or_default();
        let beat = (posted, renewals.get(&name).cloned().unwrap_or_default());
        let now = Instant::now();
        let seen = self
            .heartbeats
            .entry(name.clone())
            .or_insert((beat.clone(), now));
        if seen.0 != beat {
            *seen = (beat, now);
        }
        let never = ready.is_none();
        let grace = if never {
            STARTUP_GRACE.max(self.grace)
        } else {
            self.grace
        };
        let mut node = node.clone();
        if now.duration_since(seen.1) > grace
            && decide::ready_status(&node).as_deref() != Some("Unknown")
        {
            let conditions = decide::unknown_conditions(&node, &now_text(), never);
            let api: Api<Object<Node>> = Api::all(self.client.clone());
            let patched = api
                .patch_status(
                    &name,
                    &PatchParams::default(),
                    &Patch::Strategic(json!({"status": {"conditions": conditions}})),
                )
                .await?;
            tracing::info!(node = %name, "node lifecycle: the node stopped posting its status");
            let uid = node.metadata.uid.clone().unwrap_or_default();
            let on = Involved {
                api_version: "v1",
                kind: "Node",
                namespace: "",
                name: &name,
                uid: &uid,
            };
            let message = format!("Node {name} status is now: NodeNotReady");
            events::record(
                &self.client,
                COMPONENT,
                &on,
                "Normal",
                "NodeNotReady",
                &message,
            )
            .await;
            if let Some(n) = patched.object {
                node = n;
            }
            self.mark_pods_not_ready(&name).await?;
        }
        let taints = decide::wanted_taints(&node, &now_text());
        let current = node
            .spec
            .as_ref()
            .and_then(|s| s.taints.clone())
            .unwrap_or_default();
        if serde_json::to_value(&taints).ok() != serde_json::to_value(&current).ok() {
            let api: Api<Object<Node>> = Api::all(self.client.clone());
            let patch = json!({"metadata": {"resourceVersion": node.resource_version()}, "spec": {"taints": taints}});
            match api
                .patch(&name, &PatchParams::default(), &Patch::Merge(patch))
                .await
            {
                Ok(_) => {}
                // Changed meanwhile: the next period sees the new one.
                Err(kube::Error::Api(e)) if e.code == 409 => return Ok(()),
                Err(e) => return Err(e.into()),
            }
        }
        if taints.iter().any(|t| t.effect == "NoExecute") {
            self.evict(&name, &taints).await?;
        }
        Ok(())
    }

    async fn pods_on(&self, node: &str) -> Result<Vec<Pod>, Error> {
        let api: Api<Object<Pod>> = Api::all(self.client.clone());
        let params = ListParams::default().fields(&format!("spec.nodeName={node}"));
        Ok(lenient::list(&api, &params).await?)
    }

    async fn mark_pods_not_ready(&self, node: &str) -> Result<(), Error> {
        for pod in self.pods_on(node).await? {
            let ready = pod
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .and_then(|c| c.iter().find(|c| c.type_ == "Ready"));
            if ready.is_none_or(|c| c.status == "False") {
                continue;
            }
            let api: Api<Object<Pod>> =
                Api::namespaced(self.client.clone(), &pod.namespace().unwrap_or_default());
            let patch = json!({"status": {"conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": now_text()}]}});
            match api
                .patch_status(
                    &pod.name_any(),
                    &PatchParams::default(),
                    &Patch::Strategic(patch),
                )
                .await
            {
                Ok(_) => {
                    let on = Involved {
                        api_version: "v1",
                        kind: "Pod",
                        namespace: &pod.namespace().unwrap_or_default(),
                        name: &pod.name_any(),
                        uid: pod.metadata.uid.as_deref().unwrap_or_default(),
                    };
                    events::record(
                        &self.client,
                        COMPONENT,
                        &on,
                        "Warning",
                        "NodeNotReady",
                        "Node is not ready",
                    )
                    .await;
                }
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    async fn evict(
        &self,
        node: &str,
        taints: &[k8s_openapi::api::core::v1::Taint],
    ) -> Result<(), Error> {
        let now = jiff::Timestamp::now();
        for pod in self.pods_on(node).await? {
            if pod.metadata.deletion_timestamp.is_some() {
                continue;
            }
            if decide::eviction_due(&pod, taints, now).is_none_or(|due| due > now) {
                continue;
            }
            let ns = pod.namespace().unwrap_or_default();
            let on = Involved {
                api_version: "v1",
                kind: "Pod",
                namespace: &ns,
                name: &pod.name_any(),
                uid: pod.metadata.uid.as_deref().unwrap_or_default(),
            };
            let message = format!("Marking for deletion Pod {ns}/{}", pod.name_any());
            events::record(
                &self.client,
                "taint-eviction-controller",
                &on,
                "Normal",
                "TaintManagerEviction",
                &message,
            )
            .await;
            let api: Api<Object<Pod>> = Api::namespaced(self.client.clone(), &ns);
            match api.delete(&pod.name_any(), &DeleteParams::default()).await {
                Ok(_) | Err(kube::Error::Api(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Pod GC: pods on nodes gone for the quarantine, terminated pods over the threshold.
    async fn collect_pods(&mut self, nodes: &HashSet<String>) -> Result<(), Error> {
        let pods: Vec<Pod> =
            lenient::list(&Api::all(self.client.clone()), &ListParams::default()).await?;
        let now = Instant::now();
        let mut missing = HashSet::new();
        let mut terminated: Vec<&Pod> = Vec::new();
        for pod in &pods {
            let node = pod
                .spec
                .as_ref()
                .and_then(|s| s.node_name.clone())
                .unwrap_or_default();
            let uid = pod.metadata.uid.clone().unwrap_or_default();
            if !node.is_empty() && !nodes.contains(&node) {
                missing.insert(uid.clone());
                let since = *self.orphans.entry(uid).or_insert(now);
                if now.duration_since(since) >= ORPHAN_QUARANTINE {
                    self.force_delete(pod).await?;
                }
            }
            if matches!(
                pod.status.as_ref().and_then(|s| s.phase.as_deref()),
                Some("Succeeded" | "Failed")
            ) {
                terminated.push(pod);
            }
        }
        self.orphans.retain(|uid, _| missing.contains(uid));
        if terminated.len() > TERMINATED_THRESHOLD {
            terminated.sort_by_key(|p| p.metadata.creation_timestamp.as_ref().map(|t| t.0));
            let excess = terminated.len() - TERMINATED_THRESHOLD;
            for pod in terminated.into_iter().take(excess) {
                self.force_delete(pod).await?;
            }
        }
        Ok(())
    }

    async fn force_delete(&self, pod: &Pod) -> Result<(), Error> {
        let api: Api<Object<Pod>> =
            Api::namespaced(self.client.clone(), &pod.namespace().unwrap_or_default());
        match api
            .delete(&pod.name_any(), &DeleteParams::default().grace_period(0))
            .await
        {
            Ok(_) | Err(kube::Error::Api(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// Watches over the nodes until the process ends; `grace` is how long a node may stay silent.
pub async fn run(client: Client, grace: Duration) {
    let mut monitor = Monitor {
        client,
        grace,
        heartbeats: HashMap::new(),
        orphans: HashMap::new(),
        ticks: 0,
    };
    let period = MONITOR_PERIOD
        .min(grace / 5)
        .max(Duration::from_millis(200));
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        if let Err(error) = monitor.tick().await {
            tracing::warn!(%error, "node lifecycle: retrying");
        }
    }
}
