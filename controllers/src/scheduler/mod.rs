//! The default scheduler: assigns each pod without a node (and whose `schedulerName` is
//! `default-scheduler`) to a node that fits it, through `pods/<name>/binding`, as
//! kube-scheduler does. It keeps nodes and placed pods from its watches (never re-lists per
//! pod), assumes a pod placed as soon as it decides (so that the next decision counts it), and
//! binds concurrently. A pod that fits nowhere gets `PodScheduled=False`/`Unschedulable` and a
//! `FailedScheduling` event, and is retried when nodes or pods change, with back-off.

pub mod cache;
pub mod filter;
pub mod fit_error;
pub mod queue;
pub mod score;
pub mod volumes;

use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use serde_json::json;
use tokio::sync::{Semaphore, mpsc};

use crate::events::{self, Involved};
use crate::lenient::Object;
use crate::skipped::Skipped;
use cache::{Cache, PlacedPod};
use filter::{Candidate, Failure};
use queue::Queue;

pub const NAME: &str = "default-scheduler";
/// The scheduler's leader Lease in `kube-system` (upstream's).
pub const LEASE: &str = "kube-scheduler";
/// Bindings (and their events) in flight at once.
const CONCURRENCY: usize = 32;

/// What a binding task reports back.
enum Bound {
    Done,
    /// The pod is gone or bound elsewhere: its watch will say so.
    Moot,
    Failed(String),
}

/// Whether the scheduler should place `pod`.
fn is_mine(pod: &Pod) -> bool {
    let spec = pod.spec.as_ref();
    spec.and_then(|s| s.node_name.as_deref())
        .unwrap_or_default()
        .is_empty()
        && spec
            .and_then(|s| s.scheduler_name.as_deref())
            .is_none_or(|n| n.is_empty() || n == NAME)
        && pod.metadata.deletion_timestamp.is_none()
        && !is_terminal(pod)
}

fn is_terminal(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

/// One decision: the best node, or why none fits.
pub fn decide(
    cache: &Cache,
    pod: &Pod,
    pick: &mut impl FnMut(usize) -> usize,
) -> Result<String, String> {
    decide_with(cache, pod, &|_| Ok(()), pick)
}

/// One decision, with `more` filtering nodes after the built-in filters (the pod's volumes).
pub fn decide_with(
    cache: &Cache,
    pod: &Pod,
    more: &dyn Fn(&cache::NodeInfo) -> Result<(), Failure>,
    pick: &mut impl FnMut(usize) -> usize,
) -> Result<String, String> {
    let candidate = Candidate::of(pod);
    let nodes: Vec<_> = cache.live_nodes().collect();
    let mut feasible = Vec::new();
    let mut failures: Vec<Failure> = Vec::new();
    for info in &nodes {
        match filter::fits(&candidate, info, cache).and_then(|()| more(info)) {
            Ok(()) => feasible.push(*info),
            Err(f) => failures.push(f),
        }
    }
    if feasible.is_empty() {
        let never = pod
            .spec
            .as_ref()
            .and_then(|s| s.preemption_policy.as_deref())
            == Some("Never");
        return Err(fit_error::message(nodes.len(), &failures, never));
    }
    let scores = score::scores(&candidate, &score::preferred(pod), &feasible);
    let best = scores.iter().copied().max().unwrap_or(0);
    let top: Vec<usize> = (0..feasible.len()).filter(|i| scores[*i] == best).collect();
    // Ties are broken at random, as upstream's reservoir sampling does.
    let chosen = top[pick(top.len()) % top.len()];
    Ok(feasible[chosen].name().to_string())
}

struct Scheduler {
    client: Client,
    cache: Cache,
    queue: Queue,
    skipped: Skipped,
    permits: Arc<Semaphore>,
    results: mpsc::UnboundedSender<(String, Bound)>,
    rng: u64,
    /// Lists seen complete; nothing is decided before both are.
    nodes_listed: bool,
    pods_listed: bool,
    /// Objects of a list in progress (a watch restarted), to drop those no longer there.
    node_relist: Option<Vec<Node>>,
    pod_relist: Option<Vec<Pod>>,
    /// Claims, volumes and classes, for pods that use claims.
    volumes: volumes::Volumes,
    volume_feeds: volumes::Feeds,
    pub bound: u64,
}

impl Scheduler {
    fn random(&mut self, n: usize) -> usize {
        // xorshift: cheap, and good enough to spread ties.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng % n.max(1) as u64) as usize
    }

    fn pod_seen(&mut self, pod: Pod) {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let node = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .unwrap_or_default();
        if !node.is_empty() {
            self.queue.remove(&uid);
            if is_terminal(&pod) {
                if self.cache.is_placed(&uid) {
                    self.cache.unplace(&uid);
                    self.queue.cluster_changed(Instant::now());
                }
            } else {
                self.cache.place(&uid, &node, PlacedPod::of(&pod));
            }
            return;
        }
        if is_mine(&pod) {
            self.queue.upsert(&uid, Arc::new(pod));
        } else if self.queue.remove(&uid).is_some() {
            self.cache.unplace(&uid);
        }
    }

    fn pod_gone(&mut self, uid: &str) {
        self.queue.remove(uid);
        if self.cache.is_placed(uid) {
            self.cache.unplace(uid);
            self.queue.cluster_changed(Instant::now());
        }
    }

    fn pod_event(&mut self, event: Event<Object<Pod>>) {
        let decoded = |o: Object<Pod>, skipped: &Skipped| match o.object {
            Some(p) => Some(p),
            None => {
                skipped.skip("Pod", &o.metadata.meta, &o.metadata.broken);
                None
            }
        };
        match event {
            Event::Apply(o) => {
                if let Some(p) = decoded(o, &self.skipped) {
                    self.pod_seen(p)
                }
            }
            Event::Delete(o) => self.pod_gone(o.metadata.meta.uid.as_deref().unwrap_or_default()),
            Event::Init => self.pod_relist = Some(Vec::new()),
            Event::InitApply(o) => {
                if let (Some(list), Some(p)) = (self.pod_relist.as_mut(), decoded(o, &self.skipped))
                {
                    list.push(p);
                }
            }
            Event::InitDone => {
                let list = self.pod_relist.take().unwrap_or_default();
                let seen: std::collections::HashSet<String> =
                    list.iter().filter_map(|p| p.metadata.uid.clone()).collect();
                let stale: Vec<String> = self
                    .queue
                    .pods
                    .keys()
                    .filter(|u| !seen.contains(*u))
                    .cloned()
                    .collect();
                for uid in stale {
                    self.pod_gone(&uid);
                }
                for p in list {
                    self.pod_seen(p);
                }
                self.pods_listed = true;
            }
        }
    }

    fn node_event(&mut self, event: Event<Object<Node>>) {
        match event {
            Event::Apply(o) => {
                if let Some(n) = o.object {
                    self.cache.set_node(n);
                }
            }
            Event::Delete(o) => self
                .cache
                .remove_node(o.metadata.meta.name.as_deref().unwrap_or_default()),
            Event::Init => self.node_relist = Some(Vec::new()),
            Event::InitApply(o) => {
                if let (Some(list), Some(n)) = (self.node_relist.as_mut(), o.object) {
                    list.push(n);
                }
            }
            Event::InitDone => {
                let list = self.node_relist.take().unwrap_or_default();
                let names: Vec<String> = self
                    .cache
                    .live_nodes()
                    .map(|n| n.name().to_string())
                    .collect();
                for name in names {
                    if !list
                        .iter()
                        .any(|n| n.metadata.name.as_deref() == Some(&name))
                    {
                        self.cache.remove_node(&name);
                    }
                }
                for n in list {
                    self.cache.set_node(n);
                }
                self.nodes_listed = true;
            }
        }
        self.queue.cluster_changed(Instant::now());
    }

    /// Decides for every queued pod.
    fn schedule_queued(&mut self) {
        if !(self.nodes_listed && self.pods_listed) {
            return;
        }
        while let Some((uid, pod)) = self.queue.pop() {
            let needs = match volumes::uses_claims(&pod) {
                false => volumes::Needs::default(),
                true if !self.volume_feeds.listed() => {
                    self.queue.hold(&uid, Instant::now());
                    continue;
                }
                true => match self.volumes.needs(&pod) {
                    Ok(needs) if needs.waiting => {
                        self.queue.hold(&uid, Instant::now());
                        continue;
                    }
                    Ok(needs) => needs,
                    Err(why) => {
                        let nodes = self.cache.live_nodes().count();
                        let message = fit_error::prefilter_message(nodes, &why);
                        self.unschedulable(&uid, &pod, message);
                        continue;
                    }
                },
            };
            let mut rng = self.rng;
            let volumes = &self.volumes;
            let decision = decide_with(
                &self.cache,
                &pod,
                &|node| volumes.fits(&needs, node),
                &mut |n| {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    (rng % n.max(1) as u64) as usize
                },
            );
            self.rng = rng;
            match decision {
                Ok(node) if !needs.to_place.is_empty() => {
                    // The claims follow the node chosen; the pod is bound once they are.
                    self.queue.hold(&uid, Instant::now());
                    volumes::select_node(&self.client, needs.to_place, &node);
                }
                Ok(node) => {
                    self.cache.place(&uid, &node, PlacedPod::of(&pod));
                    self.spawn_binding(uid, pod, node);
                }
                Err(message) => self.unschedulable(&uid, &pod, message),
            }
        }
        let _ = self.random(1);
    }

    fn spawn_binding(&self, uid: String, pod: Arc<Pod>, node: String) {
        let client = self.client.clone();
        let permits = self.permits.clone();
        let results = self.results.clone();
        tokio::spawn(async move {
            let Ok(_permit) = permits.acquire_owned().await else {
                return;
            };
            let outcome = bind(&client, &pod, &uid, &node).await;
            if let Bound::Done = outcome {
                let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
                let name = pod.metadata.name.as_deref().unwrap_or_default();
                let message = format!("Successfully assigned {ns}/{name} to {node}");
                events::record(
                    &client,
                    NAME,
                    &involved(&pod),
                    "Normal",
                    "Scheduled",
                    &message,
                )
                .await;
            }
            let _ = results.send((uid, outcome));
        });
    }

    fn unschedulable(&mut self, uid: &str, pod: &Arc<Pod>, message: String) {
        self.queue.park(uid, Instant::now());
        let Some(pending) = self.queue.pods.get_mut(uid) else {
            return;
        };
        // Upstream records an event at every attempt; the condition only when it changes.
        let changed = pending.reported.as_deref() != Some(message.as_str());
        pending.reported = Some(message.clone());
        let client = self.client.clone();
        let permits = self.permits.clone();
        let pod = pod.clone();
        tokio::spawn(async move {
            let Ok(_permit) = permits.acquire_owned().await else {
                return;
            };
            if changed {
                report_unschedulable(&client, &pod, &message).await;
            }
            let note = fit_error::note(&message);
            events::record(
                &client,
                NAME,
                &involved(&pod),
                "Warning",
                "FailedScheduling",
                &note,
            )
            .await;
        });
    }

    fn binding_done(&mut self, uid: String, outcome: Bound) {
        match outcome {
            Bound::Done => self.bound += 1,
            Bound::Moot => {}
            Bound::Failed(error) => {
                tracing::warn!(%error, "scheduler: binding failed; retrying");
                self.cache.unplace(&uid);
                self.queue.retry_later(&uid, Instant::now());
            }
        }
    }
}

fn involved(pod: &Pod) -> Involved<'_> {
    Involved::of("v1", "Pod", &pod.metadata)
}

async fn bind(client: &Client, pod: &Pod, uid: &str, node: &str) -> Bound {
    let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let binding = json!({"kind": "Binding", "apiVersion": "v1",
        "metadata": {"name": name, "namespace": ns, "uid": uid},
        "target": {"kind": "Node", "name": node}});
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    match api
        .create_subresource::<_, serde_json::Value>(
            "binding",
            name,
            &PostParams::default(),
            &binding,
        )
        .await
    {
        Ok(_) => Bound::Done,
        Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => Bound::Moot,
        Err(e) => Bound::Failed(crate::logs::describe(&e)),
    }
}

async fn report_unschedulable(client: &Client, pod: &Pod, message: &str) {
    let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let now = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second())
        .map(|t| t.to_string())
        .unwrap_or_default();
    let previous = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "PodScheduled"));
    // The transition time stays while the condition stays False.
    let since = match previous {
        Some(c) if c.status == "False" => c
            .last_transition_time
            .as_ref()
            .map(|t| t.0.to_string())
            .unwrap_or(now),
        _ => now,
    };
    let patch = json!({"status": {"conditions": [{"type": "PodScheduled", "status": "False",
        "reason": "Unschedulable", "message": message, "lastProbeTime": null,
        "lastTransitionTime": since}]}});
    let api: Api<Object<Pod>> = Api::namespaced(client.clone(), ns);
    if let Err(error) = api
        .patch_status(name, &PatchParams::default(), &Patch::Strategic(patch))
        .await
    {
        tracing::debug!(error = %crate::logs::describe(&error), "scheduler: condition not written");
    }
}

/// Schedules until the process ends (or the caller stops it when it loses its lease).
/// `progress`, if given, is told the number of pods bound so far.
pub async fn run(client: Client) {
    run_counting(client, None).await
}

pub async fn run_counting(client: Client, progress: Option<tokio::sync::watch::Sender<u64>>) {
    let pods: Api<Object<Pod>> = Api::all(client.clone());
    let nodes: Api<Object<Node>> = Api::all(client.clone());
    let mut pod_events = watcher::watcher(pods, watcher::Config::default())
        .default_backoff()
        .boxed();
    let mut node_events = watcher::watcher(nodes, watcher::Config::default())
        .default_backoff()
        .boxed();
    let mut volume_events = volumes::events(&client);
    let (results, mut bound) = mpsc::unbounded_channel();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    let mut s = Scheduler {
        client,
        cache: Cache::default(),
        queue: Queue::default(),
        skipped: Skipped::new("scheduler"),
        permits: Arc::new(Semaphore::new(CONCURRENCY)),
        results,
        rng: seed | 1,
        nodes_listed: false,
        pods_listed: false,
        node_relist: None,
        pod_relist: None,
        volumes: volumes::Volumes::default(),
        volume_feeds: volumes::Feeds::default(),
        bound: 0,
    };
    loop {
        let timer = s.queue.next_timer();
        let sleep = async {
            match timer {
                Some(t) => tokio::time::sleep_until(t.into()).await,
                None => tokio::time::sleep(std::time::Duration::from_secs(30)).await,
            }
        };
        tokio::select! {
            Some(event) = pod_events.next() => match event {
                Ok(e) => s.pod_event(e),
                Err(error) => tracing::warn!(error = %crate::logs::describe_watch(&error), "scheduler: pod watch"),
            },
            Some(event) = node_events.next() => match event {
                Ok(e) => s.node_event(e),
                Err(error) => tracing::warn!(error = %crate::logs::describe_watch(&error), "scheduler: node watch"),
            },
            Some(event) = volume_events.next() => {
                if s.volume_feeds.apply(&mut s.volumes, event) {
                    s.queue.cluster_changed(Instant::now());
                }
            }
            Some((uid, outcome)) = bound.recv() => s.binding_done(uid, outcome),
            _ = sleep => {}
        }
        s.queue.tick(Instant::now());
        s.schedule_queued();
        if let Some(p) = &progress {
            p.send_replace(s.bound);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, cpu: &str) -> Node {
        serde_json::from_value(
            json!({"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
            "status": {"allocatable": {"cpu": cpu, "memory": "4Gi", "pods": "110"},
                "conditions": [{"type": "Ready", "status": "True"}]}}),
        )
        .unwrap()
    }

    fn pod(spec: serde_json::Value) -> Pod {
        serde_json::from_value(
            json!({"metadata": {"name": "p", "namespace": "ns", "uid": "u"}, "spec": spec}),
        )
        .unwrap()
    }

    #[test]
    fn decides_on_a_fitting_node_or_says_why_none() {
        let mut cache = Cache::default();
        cache.set_node(node("small", "1"));
        cache.set_node(node("big", "4"));
        let mut tainted = node("tainted", "8");
        tainted.spec = Some(
            serde_json::from_value(json!({"taints": [
            {"key": "node-role.kubernetes.io/master", "effect": "NoSchedule"}]}))
            .unwrap(),
        );
        cache.set_node(tainted);
        let wants_two =
            pod(json!({"containers": [{"name": "c", "resources": {"requests": {"cpu": "2"}}}]}));
        assert_eq!(decide(&cache, &wants_two, &mut |_| 0), Ok("big".into()));
        let wants_five =
            pod(json!({"containers": [{"name": "c", "resources": {"requests": {"cpu": "5"}}}]}));
        assert_eq!(
            decide(&cache, &wants_five, &mut |_| 0),
            Err("0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/master: }, 2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.".into())
        );
        assert_eq!(
            decide(&Cache::default(), &wants_two, &mut |_| 0),
            Err(fit_error::NO_NODES.into())
        );
    }

    #[test]
    fn only_unbound_default_pods_are_scheduled() {
        assert!(is_mine(&pod(json!({"containers": []}))));
        assert!(!is_mine(&pod(json!({"containers": [], "nodeName": "n"}))));
        assert!(!is_mine(&pod(
            json!({"containers": [], "schedulerName": "other"})
        )));
    }
}
