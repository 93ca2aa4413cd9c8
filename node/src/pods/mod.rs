//! The pods bound to this node: one watch (`spec.nodeName=<node>`) feeding one worker per pod,
//! and, once the first list is complete, the removal of what pods gone while the agent was
//! away left behind (containers, network namespaces, addresses, directories).

pub mod backoff;
pub mod directory;
pub mod env;
mod followed;
pub mod hooks;
pub mod host_volumes;
pub mod image_config;
pub mod images;
pub mod kept_file;
pub mod limits;
pub mod ownership;
pub mod probes;
pub mod registry_sources;
pub mod security;
pub mod status;
pub mod termination;
pub mod tokens;
pub mod trusted_cas;
pub mod volumes;
mod worker;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::watch;

use crate::events::Recorder;
use crate::network::ipam::Allocator;
use crate::runtime::{PodRef, Runtime};

/// What every pod worker of the node shares.
pub struct Context {
    pub client: kube::Client,
    pub runtime: Arc<dyn Runtime>,
    pub ipam: Arc<Allocator>,
    pub node: String,
    /// Pods' directories (volumes, logs) live under `<pods_dir>/<ns>_<name>_<uid>`.
    pub pods_dir: PathBuf,
    /// The node's copy of the cluster's image configuration (`image_config.rs`).
    pub image_config: image_config::Watched,
    pub recorder: Recorder,
    pub directory: Arc<directory::Directory>,
    pub backoff: Mutex<backoff::Backoff>,
    /// How often a worker looks at its containers without being told of a change.
    pub poll: Duration,
    /// Whether containers' probes run (not on simulated nodes, whose pods have no network).
    pub probes: bool,
    /// Whether projected service-account tokens are requested and written (not on simulated
    /// nodes, whose pods run nothing that reads them).
    pub issue_tokens: bool,
}

impl Context {
    pub fn pod_dir(&self, pod: &PodRef) -> PathBuf {
        self.pods_dir
            .join(format!("{}_{}_{}", pod.namespace, pod.name, pod.uid))
    }
}

/// Runs the pods of the node until the process ends.
pub async fn run(ctx: Arc<Context>) {
    let api: Api<Pod> = Api::all(ctx.client.clone());
    let config = watcher::Config::default().fields(&format!("spec.nodeName={}", ctx.node));
    let mut events = watcher(api, config).default_backoff().boxed();
    let mut workers: HashMap<String, watch::Sender<Option<Pod>>> = HashMap::new();
    let mut listed: HashSet<String> = HashSet::new();
    let mut cleaned = false;
    while let Some(event) = events.next().await {
        match event {
            Ok(watcher::Event::Apply(pod)) => dispatch(&ctx, &mut workers, pod),
            Ok(watcher::Event::InitApply(pod)) => {
                listed.insert(pod.metadata.uid.clone().unwrap_or_default());
                dispatch(&ctx, &mut workers, pod);
            }
            Ok(watcher::Event::Delete(pod)) => {
                // Dropping the sender tells the worker the pod is gone.
                workers.remove(&pod.metadata.uid.clone().unwrap_or_default());
            }
            Ok(watcher::Event::Init) => listed.clear(),
            Ok(watcher::Event::InitDone) => {
                workers.retain(|uid, _| listed.contains(uid));
                if !cleaned {
                    cleaned = true;
                    tokio::spawn(remove_leftovers(ctx.clone(), listed.clone()));
                }
            }
            Err(e) => tracing::warn!(
                node = %ctx.node,
                error = %controllers::logs::describe_watch(&e),
                "pod watch failed"
            ),
        }
    }
}

fn dispatch(
    ctx: &Arc<Context>,
    workers: &mut HashMap<String, watch::Sender<Option<Pod>>>,
    pod: Pod,
) {
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    if let Some(tx) = workers.get(&uid) {
        if tx.send(Some(pod.clone())).is_ok() {
            return;
        }
        // The worker ended: it tore the pod down. A pod still being deleted (a finalizer
        // holds it) stays so; any other starts over.
        if pod.metadata.deletion_timestamp.is_some() {
            return;
        }
        workers.remove(&uid);
    }
    let (tx, rx) = watch::channel(Some(pod.clone()));
    let worker = worker::Worker::new(ctx.clone(), &pod);
    tokio::spawn(worker.run(rx));
    workers.insert(uid, tx);
}

/// Containers, namespaces, addresses and directories of pods that are not on this node any
/// more.
async fn remove_leftovers(ctx: Arc<Context>, known: HashSet<String>) {
    match ctx.runtime.list().await {
        Ok(containers) => {
            for c in containers {
                if !known.contains(&c.pod_uid) {
                    let _ = ctx.runtime.stop(&c.id, Duration::ZERO).await;
                    let _ = ctx.runtime.remove(&c.id).await;
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "containers not listed"),
    }
    for uid in ctx.ipam.holders() {
        if known.contains(&uid) {
            continue;
        }
        let pod = PodRef {
            namespace: String::new(),
            name: String::new(),
            uid: uid.clone(),
        };
        if ctx.runtime.remove_sandbox(&pod).await.is_ok() {
            let _ = ctx.ipam.release(&uid);
        }
    }
    if let Ok(entries) = std::fs::read_dir(&ctx.pods_dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let uid = name.rsplit('_').next().unwrap_or_default();
            if !known.contains(uid) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}
