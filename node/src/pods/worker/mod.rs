//! One pod's worker, as the kubelet's pod worker: it makes the sandbox and volumes, runs the
//! init containers in order and then the containers, restarts them by the restart policy
//! with back-off, writes `pods/status` when it changes, and on deletion stops the containers
//! within the grace period, removes what the pod had and deletes the pod for good.
//!
//! This module holds the worker's state and its sync; starting containers
//! (`containers`), their hooks (`lifecycle`), probing them (`probing`), evicting a pod whose
//! emptyDir outgrew its limit (`eviction`), reporting the status (`report`) and tearing the
//! pod down (`teardown`) are modules of their own, as are the pure parts (status, back-off,
//! environment, volumes, images, hooks) one level up.

mod containers;
mod eviction;
mod lifecycle;
mod probing;
mod report;
mod teardown;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{
    Container, ContainerState as ApiState, ContainerStateRunning, ContainerStateTerminated,
    ContainerStateWaiting, ContainerStatus, Pod,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, Preconditions};
use serde_json::json;
use tokio::sync::watch;

use super::backoff::go_duration;
use super::directory::{ContainerEntry, PodEntry};
use super::env::{Lookup, environment, expand};
use super::images::{ImageError, auth_file, pull_policy};
use super::probes::{self, ProbeState, Target};
use super::{Context, status, termination, volumes};
use crate::events::{Kind, container_path};
use crate::runtime::{ContainerSpec, ContainerState, PodRef, PullOptions, Sandbox};

/// One container of the pod, as the worker tracks it.
struct Slot {
    init: bool,
    /// An init container that runs along the containers (`restartPolicy: Always`).
    sidecar: bool,
    spec: Container,
    status: ContainerStatus,
    id: Option<String>,
    previous_id: Option<String>,
    attempt: u32,
    /// When the last pull failed (image back-off).
    pull_failed: Option<Instant>,
    /// The back-off period last reported in an event (one event per period).
    reported_backoff: Option<Duration>,
    /// The probes of the running instance (`probes_for`), and since when it runs.
    probes: Vec<ProbeState>,
    probes_for: Option<String>,
    running_since: Instant,
}

pub struct Worker {
    ctx: Arc<Context>,
    pod: PodRef,
    dir: PathBuf,
    sandbox: Option<Sandbox>,
    volumes_ready: bool,
    /// When the volumes' service-account tokens are to be renewed.
    tokens_due: Option<jiff::Timestamp>,
    slots: Vec<Slot>,
    start_time: Option<Time>,
    last_written: Option<serde_json::Value>,
    seen: Instant,
    running_logged: bool,
    /// The last sandbox or volume failure reported (reported again only when it changes).
    reported_failure: Option<String>,
    /// Containers of an earlier run of the agent were looked for.
    adopted: bool,
    /// Whether a Build controls the pod (asked once, when a container names a build step).
    build_pod: Option<bool>,
    /// When the emptyDir volumes' usage was last measured (`eviction`).
    storage_checked: Option<Instant>,
    /// Why the pod was evicted, once it was.
    evicted: Option<String>,
}

fn waiting(reason: Option<&str>, message: Option<String>) -> ApiState {
    ApiState {
        waiting: Some(ContainerStateWaiting {
            reason: reason.map(str::to_string),
            message,
        }),
        ..Default::default()
    }
}

fn is_running(s: &ContainerStatus) -> bool {
    s.state.as_ref().is_some_and(|st| st.running.is_some())
}

fn terminated_of(state: Option<&ApiState>) -> Option<&ContainerStateTerminated> {
    state.and_then(|st| st.terminated.as_ref())
}

/// The instant a wall-clock time was, for the monotonic back-off.
fn instant_of(t: jiff::Timestamp) -> Instant {
    let ago = jiff::Timestamp::now().duration_since(t);
    let ago = Duration::try_from(ago).unwrap_or_default();
    Instant::now().checked_sub(ago).unwrap_or_else(Instant::now)
}

impl Worker {
    pub fn new(ctx: Arc<Context>, pod: &Pod) -> Worker {
        let r = PodRef {
            namespace: pod.metadata.namespace.clone().unwrap_or_default(),
            name: pod.metadata.name.clone().unwrap_or_default(),
            uid: pod.metadata.uid.clone().unwrap_or_default(),
        };
        let dir = ctx.pod_dir(&r);
        let spec = pod.spec.clone().unwrap_or_default();
        let has_init = spec.init_containers.as_ref().is_some_and(|i| !i.is_empty());
        let first = if has_init {
            "PodInitializing"
        } else {
            "ContainerCreating"
        };
        let slot = |c: &Container, init: bool, reason: &str| Slot {
            init,
            sidecar: init && status::is_sidecar(c),
            status: ContainerStatus {
                name: c.name.clone(),
                image: c.image.clone().unwrap_or_default(),
                state: Some(waiting(Some(reason), None)),
                ..Default::default()
            },
            spec: c.clone(),
            id: None,
            previous_id: None,
            attempt: 0,
            pull_failed: None,
            reported_backoff: None,
            probes: Vec::new(),
            probes_for: None,
            running_since: Instant::now(),
        };
        let mut slots: Vec<Slot> = spec
            .init_containers
            .iter()
            .flatten()
            .map(|c| slot(c, true, "PodInitializing"))
            .collect();
        slots.extend(spec.containers.iter().map(|c| slot(c, false, first)));
        let start_time = pod
            .status
            .as_ref()
            .and_then(|s| s.start_time.clone())
            .or_else(|| Some(Time(jiff::Timestamp::now())));
        Worker {
            ctx,
            pod: r,
            dir,
            sandbox: None,
            volumes_ready: false,
            tokens_due: None,
            slots,
            start_time,
            last_written: None,
            seen: Instant::now(),
            running_logged: false,
            reported_failure: None,
            adopted: false,
            build_pod: None,
            storage_checked: None,
            evicted: None,
        }
    }

    /// Works on the pod until it is gone.
    pub async fn run(mut self, mut updates: watch::Receiver<Option<Pod>>) {
        loop {
            let current = updates.borrow_and_update().clone();
            match current {
                None => return self.cleanup().await,
                Some(pod) if pod.metadata.deletion_timestamp.is_some() => {
                    return self.terminate(&pod).await;
                }
                Some(pod) => self.sync(&pod).await,
            }
            tokio::select! {
                changed = updates.changed() => {
                    if changed.is_err() {
                        return self.cleanup().await;
                    }
                }
                _ = tokio::time::sleep(self.ctx.poll) => {}
            }
        }
    }

    pub(super) fn key(&self, container: &str) -> String {
        format!("{}_{container}", self.pod.uid)
    }

    /// `name_namespace(uid)`, as the kubelet names pods in messages.
    pub(super) fn pod_format(&self) -> String {
        format!("{}_{}({})", self.pod.name, self.pod.namespace, self.pod.uid)
    }

    pub(super) async fn event(
        &self,
        pod: &Pod,
        slot: Option<usize>,
        kind: Kind,
        reason: &str,
        message: &str,
    ) {
        let path = slot.map(|i| container_path(self.slots[i].init, &self.slots[i].spec.name));
        self.ctx
            .recorder
            .pod(pod, path, kind, reason, message)
            .await;
    }

    /// The container's state as the runtime has it now.
    pub(super) async fn refresh(&mut self, i: usize) {
        let Some(id) = self.slots[i].id.clone() else {
            return;
        };
        let scheme = self.ctx.runtime.scheme();
        let log = self.log_path(&self.slots[i].spec.name, self.slots[i].attempt);
        let info = match self.ctx.runtime.inspect(&id).await {
            Ok(info) => info,
            Err(e) => {
                tracing::debug!(error = %e, "container inspect failed");
                return;
            }
        };
        let slot = &mut self.slots[i];
        let container_id = format!("{scheme}://{id}");
        slot.status.container_id = Some(container_id.clone());
        match info.map(|i| i.state) {
            Some(ContainerState::Running { started_at }) => {
                slot.status.state = Some(ApiState {
                    running: Some(ContainerStateRunning {
                        started_at: Some(Time(started_at)),
                    }),
                    ..Default::default()
                });
                slot.status.started = Some(true);
                // Without probes a running container is ready (init containers never are,
                // sidecars are).
                slot.status.ready = !slot.init || slot.sidecar;
            }
            Some(ContainerState::Exited {
                exit_code,
                started_at,
                finished_at,
                oom_killed,
            }) => {
                // The message is read from the log once, when the container is seen ended.
                let known = terminated_of(slot.status.state.as_ref())
                    .filter(|t| t.container_id.as_deref() == Some(container_id.as_str()));
                let message = match known {
                    Some(t) => t.message.clone(),
                    None => termination::message(&slot.spec, exit_code, &log),
                };
                let reason = if oom_killed {
                    "OOMKilled"
                } else if exit_code == 0 {
                    "Completed"
                } else {
                    "Error"
                };
                slot.status.state = Some(ApiState {
                    terminated: Some(ContainerStateTerminated {
                        exit_code,
                        reason: Some(reason.into()),
                        started_at: Some(Time(started_at)),
                        finished_at: Some(Time(finished_at)),
                        container_id: Some(container_id),
                        message,
                        ..Default::default()
                    }),
                    ..Default::default()
                });
                slot.status.started = Some(false);
                slot.status.ready = false;
            }
            Some(ContainerState::Created) => {
                slot.status.state = Some(waiting(None, None));
            }
            None if is_running(&slot.status) => {
                slot.status.state = Some(ApiState {
                    terminated: Some(ContainerStateTerminated {
                        exit_code: 137,
                        reason: Some("ContainerStatusUnknown".into()),
                        message: Some(
                            "The container could not be located when the pod was terminated".into(),
                        ),
                        ..Default::default()
                    }),
                    ..Default::default()
                });
                slot.status.started = Some(false);
                slot.status.ready = false;
                slot.id = None;
            }
            None => {}
        }
    }

    /// Takes over the containers an earlier run of the agent started for this pod (the latest
    /// instance of each, and the one before it for its logs), as a restarted kubelet does.
    pub(super) async fn adopt(&mut self) {
        let listed = match self.ctx.runtime.list().await {
            Ok(l) => l,
            Err(e) => {
                return tracing::warn!(pod = %self.pod.name, error = %e, "containers not listed");
            }
        };
        for slot in &mut self.slots {
            let mut mine: Vec<_> = listed
                .iter()
                .filter(|c| c.pod_uid == self.pod.uid && c.container == slot.spec.name)
                .collect();
            mine.sort_by_key(|c| c.attempt);
            let Some(latest) = mine.pop() else {
                continue;
            };
            slot.id = Some(latest.id.clone());
            slot.attempt = latest.attempt;
            slot.status.restart_count = i32::try_from(latest.attempt).unwrap_or(i32::MAX);
            slot.previous_id = mine.pop().map(|c| c.id.clone());
            // Older instances an interrupted restart left go, as the kubelet keeps one dead
            // instance per container.
            for old in mine {
                let _ = self.ctx.runtime.stop(&old.id, Duration::ZERO).await;
                if let Err(e) = self.ctx.runtime.remove(&old.id).await {
                    tracing::warn!(pod = %self.pod.name, error = %e, "container not removed");
                }
            }
            if let Ok(Some(image)) = self
                .ctx
                .runtime
                .image_status(slot.spec.image.as_deref().unwrap_or_default())
                .await
            {
                slot.status.image = image.name;
                slot.status.image_id = image.id;
            }
        }
    }

    /// Takes over what an earlier run of the agent left of the pod, once. Only a pod whose
    /// status names containers can have any, unless it is being deleted: an agent stopped
    /// while it stopped the pod may have left them whatever the status says.
    pub(super) async fn adopt_once(&mut self, pod: &Pod) {
        if self.adopted {
            return;
        }
        self.adopted = true;
        let named = pod.status.iter().any(|s| {
            s.container_statuses
                .iter()
                .chain(s.init_container_statuses.iter())
                .flatten()
                .any(|c| c.container_id.is_some())
        });
        if named || pod.metadata.deletion_timestamp.is_some() {
            self.adopt().await;
        }
    }

    pub(super) async fn sync(&mut self, pod: &Pod) {
        self.adopt_once(pod).await;
        tracing::trace!(pod = %self.pod.name, "sync: refresh");
        for i in 0..self.slots.len() {
            self.refresh(i).await;
        }
        let api_phase = pod.status.as_ref().and_then(|s| s.phase.clone());
        let terminal = matches!(api_phase.as_deref(), Some("Succeeded" | "Failed"));
        tracing::trace!(pod = %self.pod.name, "sync: prepare");
        if !terminal {
            self.check_local_storage(pod).await;
        }
        let terminal = terminal || self.evicted.is_some();
        if terminal {
            self.stop_running(pod).await;
        }
        if !terminal && self.prepare(pod).await {
            tracing::trace!(pod = %self.pod.name, "sync: start");
            self.start_containers(pod).await;
            tracing::trace!(pod = %self.pod.name, "sync: probe");
            self.probe(pod).await;
        }
        tracing::trace!(pod = %self.pod.name, "sync: status");
        self.write_status(pod, api_phase.as_deref()).await;
        self.publish();
        tracing::trace!(pod = %self.pod.name, "sync: done");
    }

    /// The sandbox and volumes; whether containers may start.
    pub(super) async fn prepare(&mut self, pod: &Pod) -> bool {
        let host_network = pod.spec.as_ref().and_then(|s| s.host_network) == Some(true);
        if self.sandbox.is_none() && host_network {
            // The node's own network namespace: the pod's address is the node's.
            self.sandbox = Some(Sandbox::host_network());
        }
        if self.sandbox.is_none() {
            let made = match self.ctx.ipam.allocate(&self.pod.uid) {
                Ok(ip) => self
                    .ctx
                    .runtime
                    .create_sandbox(&self.pod, ip)
                    .await
                    .map_err(|e| e.0),
                Err(e) => Err(e.to_string()),
            };
            match made {
                Ok(sandbox) => self.sandbox = Some(sandbox),
                Err(e) => {
                    let message = format!("Failed to create pod sandbox: {e}");
                    self.report_failure(pod, "FailedCreatePodSandBox", message)
                        .await;
                    return false;
                }
            }
        }
        if !self.volumes_ready {
            let ip = self.ip_text();
            let mut lookup = Lookup::new(self.ctx.client.clone(), &self.pod.namespace);
            let made = async {
                std::fs::create_dir_all(&self.dir)
                    .map_err(|e| super::env::ConfigError(e.to_string()))?;
                let issue_tokens = self.ctx.issue_tokens;
                volumes::prepare_all(pod, &self.dir, &ip, &mut lookup, issue_tokens).await
            }
            .await;
            match made {
                Ok(prepared) => self.tokens_due = prepared.tokens_due,
                Err(e) => {
                    let message = format!("MountVolume.SetUp failed: {e}");
                    self.event(pod, None, Kind::Warning, "FailedMount", &message)
                        .await;
                    return false;
                }
            }
            self.volumes_ready = true;
        }
        self.renew_tokens(pod).await;
        true
    }

    /// The volumes' tokens written again once they are due; a failure keeps the current ones
    /// and is retried shortly, as the kubelet's token manager does.
    async fn renew_tokens(&mut self, pod: &Pod) {
        const RETRY: jiff::SignedDuration = jiff::SignedDuration::from_secs(10);
        let now = jiff::Timestamp::now();
        if self.tokens_due.is_none_or(|due| due > now) {
            return;
        }
        let ip = self.ip_text();
        let mut lookup = Lookup::new(self.ctx.client.clone(), &self.pod.namespace);
        match volumes::renew_tokens(pod, &self.dir, &ip, &mut lookup).await {
            Ok(prepared) => self.tokens_due = prepared.tokens_due,
            Err(e) => {
                tracing::warn!(pod = %self.pod.name, error = %e, "service-account token not renewed");
                self.tokens_due = now.checked_add(RETRY).ok();
            }
        }
    }

    pub(super) async fn report_failure(&mut self, pod: &Pod, reason: &str, message: String) {
        if self.reported_failure.as_ref() != Some(&message) {
            self.event(pod, None, Kind::Warning, reason, &message).await;
            self.reported_failure = Some(message);
        }
    }

    pub(super) fn ip_text(&self) -> String {
        self.sandbox
            .as_ref()
            .map(|s| s.ip.to_string())
            .unwrap_or_default()
    }

    pub(super) fn log_path(&self, container: &str, attempt: u32) -> PathBuf {
        self.dir.join(container).join(format!("{attempt}.log"))
    }
}
