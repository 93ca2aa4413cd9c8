//! One pod's worker, as the kubelet's pod worker: it makes the sandbox and volumes, runs the
//! init containers in order and then the containers, restarts them by the restart policy
//! with back-off, writes `pods/status` when it changes, and on deletion stops the containers
//! within the grace period, removes what the pod had and deletes the pod for good.
//!
//! Long because the kubelet's sync is one sequence (sandbox, volumes, init containers,
//! containers, status) that reads best in one place; the pure parts (status, back-off,
//! environment, volumes, images) are modules of their own.

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
use super::images::{ImageError, auth_file, insecure_registries, listed, pull_policy, registry_of};
use super::probes::{self, ProbeState, Target};
use super::{Context, status, volumes};
use crate::events::{Kind, container_path};
use crate::runtime::{ContainerSpec, ContainerState, PodRef, PullOptions, Sandbox};

/// One container of the pod, as the worker tracks it.
struct Slot {
    init: bool,
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
    slots: Vec<Slot>,
    start_time: Option<Time>,
    last_written: Option<serde_json::Value>,
    seen: Instant,
    running_logged: bool,
    /// The last sandbox or volume failure reported (reported again only when it changes).
    reported_failure: Option<String>,
    /// Containers of an earlier run of the agent were looked for.
    adopted: bool,
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
            slots,
            start_time,
            last_written: None,
            seen: Instant::now(),
            running_logged: false,
            reported_failure: None,
            adopted: false,
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

    fn key(&self, container: &str) -> String {
        format!("{}_{container}", self.pod.uid)
    }

    /// `name_namespace(uid)`, as the kubelet names pods in messages.
    fn pod_format(&self) -> String {
        format!("{}_{}({})", self.pod.name, self.pod.namespace, self.pod.uid)
    }

    async fn event(&self, pod: &Pod, slot: Option<usize>, kind: Kind, reason: &str, message: &str) {
        let path = slot.map(|i| container_path(self.slots[i].init, &self.slots[i].spec.name));
        self.ctx
            .recorder
            .pod(pod, path, kind, reason, message)
            .await;
    }

    /// The container's state as the runtime has it now.
    async fn refresh(&mut self, i: usize) {
        let Some(id) = self.slots[i].id.clone() else {
            return;
        };
        let scheme = self.ctx.runtime.scheme();
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
                // Without probes a running container is ready (init containers never are).
                slot.status.ready = !slot.init;
            }
            Some(ContainerState::Exited {
                exit_code,
                started_at,
                finished_at,
                oom_killed,
            }) => {
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
    async fn adopt(&mut self) {
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

    async fn sync(&mut self, pod: &Pod) {
        if !self.adopted {
            self.adopted = true;
            // Only a pod whose status names containers can have any from an earlier run.
            let named = pod.status.iter().any(|s| {
                s.container_statuses
                    .iter()
                    .chain(s.init_container_statuses.iter())
                    .flatten()
                    .any(|c| c.container_id.is_some())
            });
            if named {
                self.adopt().await;
            }
        }
        for i in 0..self.slots.len() {
            self.refresh(i).await;
        }
        let api_phase = pod.status.as_ref().and_then(|s| s.phase.clone());
        let terminal = matches!(api_phase.as_deref(), Some("Succeeded" | "Failed"));
        if !terminal && self.prepare(pod).await {
            self.start_containers(pod).await;
            self.probe(pod).await;
        }
        self.write_status(pod, api_phase.as_deref()).await;
        self.publish();
    }

    /// Runs the due probes of the running containers: readiness sets `ready`, a failed
    /// startup or liveness probe has the container stopped (and so restarted).
    async fn probe(&mut self, pod: &Pod) {
        if !self.ctx.probes {
            return;
        }
        let Some(ip) = self.sandbox.as_ref().map(|s| std::net::IpAddr::V4(s.ip)) else {
            return;
        };
        let grace = pod
            .spec
            .as_ref()
            .and_then(|s| s.termination_grace_period_seconds)
            .unwrap_or(30)
            .max(0);
        for i in 0..self.slots.len() {
            let slot = &mut self.slots[i];
            let (Some(id), false) = (slot.id.clone(), slot.init) else {
                continue;
            };
            if !is_running(&slot.status) {
                continue;
            }
            if slot.probes_for.as_deref() != Some(id.as_str()) {
                slot.probes = probes::for_container(&slot.spec);
                slot.probes_for = Some(id.clone());
                slot.running_since = slot
                    .status
                    .state
                    .as_ref()
                    .and_then(|s| s.running.as_ref())
                    .and_then(|r| r.started_at.as_ref())
                    .map_or_else(Instant::now, |t| instant_of(t.0));
            }
            if slot.probes.is_empty() {
                continue;
            }
            let spec = slot.spec.clone();
            let started = slot.running_since;
            let mut states = std::mem::take(&mut slot.probes);
            let runtime = self.ctx.runtime.clone();
            let target = Target {
                ip,
                container_id: &id,
                container: &spec,
                runtime: runtime.as_ref(),
            };
            let mut kill = None;
            for p in 0..states.len() {
                let startup_done = states
                    .iter()
                    .all(|s| s.kind != probes::Kind::Startup || s.ok);
                let state = &states[p];
                let skip = match state.kind {
                    probes::Kind::Startup => state.ok,
                    _ => !startup_done,
                };
                let now = Instant::now();
                if skip || !state.due(started, now) {
                    continue;
                }
                let result = state.run(&target).await;
                let state = &mut states[p];
                state.record(result.is_ok(), Instant::now());
                if let Err(text) = result {
                    let message = format!("{} probe failed: {text}", state.kind.name());
                    let kind = state.kind;
                    let failed = state.failed();
                    let grace = state.termination_grace();
                    self.event(pod, Some(i), Kind::Warning, "Unhealthy", &message)
                        .await;
                    if kind != probes::Kind::Readiness && failed {
                        kill = Some((kind, grace));
                    }
                }
            }
            let startup_done = states
                .iter()
                .all(|s| s.kind != probes::Kind::Startup || s.ok);
            let readiness = states
                .iter()
                .all(|s| s.kind != probes::Kind::Readiness || s.ok);
            let slot = &mut self.slots[i];
            slot.probes = states;
            slot.status.started = Some(startup_done);
            slot.status.ready = startup_done && readiness;
            if let Some((kind, probe_grace)) = kill {
                let message = format!(
                    "Container {} failed {} probe, will be restarted",
                    spec.name,
                    kind.name().to_lowercase()
                );
                self.event(pod, Some(i), Kind::Normal, "Killing", &message)
                    .await;
                let grace = probe_grace.unwrap_or(Duration::from_secs(grace as u64));
                if let Err(e) = self.ctx.runtime.stop(&id, grace).await {
                    tracing::warn!(pod = %self.pod.name, error = %e, "container not stopped");
                }
                self.refresh(i).await;
            }
        }
    }

    /// The sandbox and volumes; whether containers may start.
    async fn prepare(&mut self, pod: &Pod) -> bool {
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
                volumes::prepare_all(pod, &self.dir, &ip, &mut lookup).await
            }
            .await;
            if let Err(e) = made {
                let message = format!("MountVolume.SetUp failed: {e}");
                self.event(pod, None, Kind::Warning, "FailedMount", &message)
                    .await;
                return false;
            }
            self.volumes_ready = true;
        }
        true
    }

    async fn report_failure(&mut self, pod: &Pod, reason: &str, message: String) {
        if self.reported_failure.as_ref() != Some(&message) {
            self.event(pod, None, Kind::Warning, reason, &message).await;
            self.reported_failure = Some(message);
        }
    }

    fn ip_text(&self) -> String {
        self.sandbox
            .as_ref()
            .map(|s| s.ip.to_string())
            .unwrap_or_default()
    }

    fn restart_policy(pod: &Pod) -> String {
        pod.spec
            .as_ref()
            .and_then(|s| s.restart_policy.clone())
            .unwrap_or_else(|| "Always".into())
    }

    async fn start_containers(&mut self, pod: &Pod) {
        let policy = Self::restart_policy(pod);
        let mut lookup = Lookup::new(self.ctx.client.clone(), &self.pod.namespace);
        // Init containers, one at a time, each to success.
        let (init, regular): (Vec<usize>, Vec<usize>) =
            (0..self.slots.len()).partition(|i| self.slots[*i].init);
        for i in init {
            let slot = &self.slots[i];
            if is_running(&slot.status) {
                return;
            }
            match terminated_of(slot.status.state.as_ref()).map(|t| t.exit_code) {
                Some(0) => continue,
                Some(_) if policy == "Never" => return,
                Some(_) => return self.restart(pod, i, &mut lookup).await,
                None if terminated_of(slot.status.last_state.as_ref()).is_some() => {
                    return self.restart(pod, i, &mut lookup).await;
                }
                None => return self.start(pod, i, &mut lookup).await,
            }
        }
        for i in regular {
            let slot = &self.slots[i];
            if is_running(&slot.status) {
                continue;
            }
            if let Some(t) = terminated_of(slot.status.state.as_ref()) {
                let again = policy == "Always" || (policy == "OnFailure" && t.exit_code != 0);
                if again {
                    self.restart(pod, i, &mut lookup).await;
                }
            } else if terminated_of(slot.status.last_state.as_ref()).is_some() && slot.id.is_some()
            {
                self.restart(pod, i, &mut lookup).await;
            } else {
                self.start(pod, i, &mut lookup).await;
            }
        }
    }

    /// A terminated container started again, unless its back-off holds it.
    async fn restart(&mut self, pod: &Pod, i: usize, lookup: &mut Lookup) {
        let key = self.key(&self.slots[i].spec.name);
        let slot = &mut self.slots[i];
        if let Some(t) = terminated_of(slot.status.state.as_ref()).cloned() {
            slot.status.last_state = Some(ApiState {
                terminated: Some(t),
                ..Default::default()
            });
        }
        let finished = terminated_of(slot.status.last_state.as_ref())
            .and_then(|t| t.finished_at.clone())
            .map_or_else(Instant::now, |t| instant_of(t.0));
        let now = Instant::now();
        let waiting_for = {
            let backoff = self.ctx.backoff.lock().unwrap_or_else(|e| e.into_inner());
            backoff.waiting(&key, finished, now)
        };
        if let Some(period) = waiting_for {
            let name = slot.spec.name.clone();
            let message = format!(
                "back-off {} restarting failed container={name} pod={}",
                go_duration(period),
                self.pod_format()
            );
            let slot = &mut self.slots[i];
            slot.status.state = Some(waiting(Some("CrashLoopBackOff"), Some(message)));
            slot.status.ready = false;
            if slot.reported_backoff != Some(period) {
                slot.reported_backoff = Some(period);
                let text = format!(
                    "Back-off restarting failed container {name} in pod {}",
                    self.pod_format()
                );
                self.event(pod, Some(i), Kind::Warning, "BackOff", &text)
                    .await;
            }
            return;
        }
        {
            let mut backoff = self.ctx.backoff.lock().unwrap_or_else(|e| e.into_inner());
            backoff.next(&key, now);
        }
        // The container before the previous one goes; the previous one stays for its logs.
        let slot = &mut self.slots[i];
        if let Some(old) = slot.previous_id.take() {
            let _ = self.ctx.runtime.remove(&old).await;
        }
        let slot = &mut self.slots[i];
        slot.previous_id = slot.id.take();
        slot.attempt += 1;
        slot.status.restart_count = i32::try_from(slot.attempt).unwrap_or(i32::MAX);
        self.start(pod, i, lookup).await;
    }

    /// Makes the image present; `false` (with the waiting state set) if it is not.
    async fn pull(&mut self, pod: &Pod, i: usize, lookup: &mut Lookup) -> bool {
        let image = self.slots[i].spec.image.clone().unwrap_or_default();
        let key = format!("{}_{image}", self.pod.uid);
        let now = Instant::now();
        if let Some(failed) = self.slots[i].pull_failed {
            let held = {
                let backoff = self.ctx.backoff.lock().unwrap_or_else(|e| e.into_inner());
                backoff.waiting(&key, failed, now)
            };
            if let Some(period) = held {
                let message = format!("Back-off pulling image \"{image}\"");
                self.slots[i].status.state =
                    Some(waiting(Some("ImagePullBackOff"), Some(message.clone())));
                if self.slots[i].reported_backoff != Some(period) {
                    self.slots[i].reported_backoff = Some(period);
                    self.event(pod, Some(i), Kind::Normal, "BackOff", &message)
                        .await;
                    self.event(
                        pod,
                        Some(i),
                        Kind::Warning,
                        "Failed",
                        "Error: ImagePullBackOff",
                    )
                    .await;
                }
                return false;
            }
        }
        let policy = pull_policy(&self.slots[i].spec).to_string();
        let runtime = self.ctx.runtime.clone();
        if policy != "Always"
            && let Ok(Some(found)) = runtime.image_status(&image).await
        {
            self.slots[i].status.image = found.name;
            self.slots[i].status.image_id = found.id;
            let message = format!("Container image \"{image}\" already present on machine");
            self.event(pod, Some(i), Kind::Normal, "Pulled", &message)
                .await;
            return true;
        }
        let error = if policy == "Never" {
            ImageError::NeverPull
        } else {
            self.event(
                pod,
                Some(i),
                Kind::Normal,
                "Pulling",
                &format!("Pulling image \"{image}\""),
            )
            .await;
            let insecure = listed(
                &registry_of(&image),
                &insecure_registries(&self.ctx.client).await,
            );
            let options = PullOptions {
                auth_file: auth_file(pod, &self.dir, lookup).await,
                insecure,
            };
            let started = Instant::now();
            match runtime.pull_image(&image, &options).await {
                Ok(found) => {
                    let took = go_duration(started.elapsed());
                    let message = format!(
                        "Successfully pulled image \"{image}\" in {took} ({took} including waiting). Image size: {} bytes.",
                        found.size
                    );
                    self.slots[i].status.image = found.name;
                    self.slots[i].status.image_id = found.id;
                    self.slots[i].pull_failed = None;
                    self.event(pod, Some(i), Kind::Normal, "Pulled", &message)
                        .await;
                    return true;
                }
                Err(e) => ImageError::Pull(e.0),
            }
        };
        match error {
            ImageError::NeverPull => {
                let message =
                    format!("Container image \"{image}\" is not present with pull policy of Never");
                self.slots[i].status.state =
                    Some(waiting(Some("ErrImageNeverPull"), Some(message.clone())));
                self.event(pod, Some(i), Kind::Warning, "ErrImageNeverPull", &message)
                    .await;
            }
            ImageError::Pull(text) => {
                {
                    let mut backoff = self.ctx.backoff.lock().unwrap_or_else(|e| e.into_inner());
                    backoff.next(&key, now);
                }
                self.slots[i].pull_failed = Some(now);
                self.slots[i].reported_backoff = None;
                self.slots[i].status.state =
                    Some(waiting(Some("ErrImagePull"), Some(text.clone())));
                let message = format!("Failed to pull image \"{image}\": {text}");
                self.event(pod, Some(i), Kind::Warning, "Failed", &message)
                    .await;
                self.event(pod, Some(i), Kind::Warning, "Failed", "Error: ErrImagePull")
                    .await;
            }
        }
        false
    }

    /// Pulls, configures, creates and starts the container.
    async fn start(&mut self, pod: &Pod, i: usize, lookup: &mut Lookup) {
        if !self.pull(pod, i, lookup).await {
            return;
        }
        let Some(sandbox) = self.sandbox.clone() else {
            return;
        };
        let spec = self.slots[i].spec.clone();
        let ip = sandbox.ip.to_string();
        let config = async {
            let env = environment(pod, &spec, &ip, lookup).await?;
            let mounts = volumes::mounts(&self.dir, &spec)?;
            Ok::<_, super::env::ConfigError>((env, mounts))
        }
        .await;
        let (env, mounts) = match config {
            Ok(c) => c,
            Err(e) => {
                let slot = &mut self.slots[i];
                slot.status.state = Some(waiting(
                    Some("CreateContainerConfigError"),
                    Some(e.0.clone()),
                ));
                self.event(
                    pod,
                    Some(i),
                    Kind::Warning,
                    "Failed",
                    &format!("Error: {e}"),
                )
                .await;
                return;
            }
        };
        let vars: std::collections::HashMap<String, String> = env.iter().cloned().collect();
        let expand_all = |list: &Option<Vec<String>>| -> Vec<String> {
            list.iter().flatten().map(|a| expand(a, &vars)).collect()
        };
        let attempt = self.slots[i].attempt;
        let container = ContainerSpec {
            runtime_name: format!(
                "k8s_{}_{}_{}_{}_{attempt}",
                spec.name, self.pod.name, self.pod.namespace, self.pod.uid
            ),
            container: spec.name.clone(),
            attempt,
            image: spec.image.clone().unwrap_or_default(),
            command: expand_all(&spec.command),
            args: expand_all(&spec.args),
            env,
            mounts,
            working_dir: spec.working_dir.clone().filter(|w| !w.is_empty()),
            log_path: self.log_path(&spec.name, attempt),
            stdin: spec.stdin.unwrap_or(false),
            tty: spec.tty.unwrap_or(false),
        };
        match self
            .ctx
            .runtime
            .start_container(&self.pod, &sandbox, &container)
            .await
        {
            Ok(id) => {
                self.slots[i].id = Some(id);
                self.slots[i].reported_backoff = None;
                let name = &spec.name;
                self.event(
                    pod,
                    Some(i),
                    Kind::Normal,
                    "Created",
                    &format!("Created container {name}"),
                )
                .await;
                self.event(
                    pod,
                    Some(i),
                    Kind::Normal,
                    "Started",
                    &format!("Started container {name}"),
                )
                .await;
                self.refresh(i).await;
            }
            Err(e) => {
                self.slots[i].status.state =
                    Some(waiting(Some("RunContainerError"), Some(e.0.clone())));
                self.event(
                    pod,
                    Some(i),
                    Kind::Warning,
                    "Failed",
                    &format!("Error: {e}"),
                )
                .await;
            }
        }
    }

    fn log_path(&self, container: &str, attempt: u32) -> PathBuf {
        self.dir.join(container).join(format!("{attempt}.log"))
    }

    async fn write_status(&mut self, pod: &Pod, api_phase: Option<&str>) {
        let spec = pod.spec.clone().unwrap_or_default();
        let mut init: Vec<ContainerStatus> = Vec::new();
        let mut containers: Vec<ContainerStatus> = Vec::new();
        for slot in &self.slots {
            if slot.init {
                init.push(slot.status.clone());
            } else {
                containers.push(slot.status.clone());
            }
        }
        containers.sort_by(|a, b| a.name.cmp(&b.name));
        let computed = status::phase(&spec, &init, &containers, false);
        // Terminal phases stick.
        let phase = match api_phase {
            Some(p @ ("Succeeded" | "Failed")) => p,
            _ => computed,
        };
        let previous = pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.clone())
            .unwrap_or_default();
        let conditions = status::conditions(&status::Inputs {
            spec: &spec,
            init: &init,
            containers: &containers,
            phase,
            sandbox_ready: self.sandbox.is_some(),
            previous: &previous,
            now: jiff::Timestamp::now(),
        });
        let mut body = json!({
            "phase": phase,
            "conditions": conditions,
            "hostIP": "127.0.0.1",
            "hostIPs": [{"ip": "127.0.0.1"}],
            "startTime": self.start_time,
            "containerStatuses": containers,
        });
        if !init.is_empty() {
            body["initContainerStatuses"] = json!(init);
        }
        if let Some(s) = &self.sandbox {
            body["podIP"] = json!(s.ip.to_string());
            body["podIPs"] = json!([{"ip": s.ip.to_string()}]);
        }
        // Transition times change only with statuses: compare without them.
        let mut comparable = body.clone();
        if let Some(list) = comparable["conditions"].as_array_mut() {
            for c in list {
                c.as_object_mut().map(|o| o.remove("lastTransitionTime"));
            }
        }
        if self.last_written.as_ref() == Some(&comparable) {
            return;
        }
        let api: Api<Pod> = Api::namespaced(self.ctx.client.clone(), &self.pod.namespace);
        let patch = json!({"status": body});
        match api
            .patch_status(
                &self.pod.name,
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
        {
            Ok(_) => {
                self.last_written = Some(comparable);
                if phase == "Running" && !self.running_logged {
                    self.running_logged = true;
                    let bound = bound_at(pod);
                    let since_bound = bound.map(|b| jiff::Timestamp::now().duration_since(b));
                    tracing::info!(
                        pod = %format!("{}/{}", self.pod.namespace, self.pod.name),
                        since_bound = ?since_bound.and_then(|d| Duration::try_from(d).ok()),
                        since_seen = ?self.seen.elapsed(),
                        "pod running"
                    );
                }
            }
            Err(e) => {
                tracing::warn!(pod = %self.pod.name, error = %controllers::logs::describe(&e), "pod status not written");
            }
        }
    }

    /// What the node's HTTPS API needs to know of the pod now.
    fn publish(&self) {
        let containers = self
            .slots
            .iter()
            .map(|s| {
                let entry = ContainerEntry {
                    id: s.id.clone(),
                    log: s
                        .id
                        .as_ref()
                        .map(|_| self.log_path(&s.spec.name, s.attempt)),
                    previous_log: s
                        .previous_id
                        .as_ref()
                        .map(|_| self.log_path(&s.spec.name, s.attempt.saturating_sub(1))),
                    running: is_running(&s.status),
                    terminated: terminated_of(s.status.state.as_ref()).is_some(),
                    waiting: s
                        .status
                        .state
                        .as_ref()
                        .and_then(|st| st.waiting.as_ref())
                        .map(|w| w.reason.clone().unwrap_or_default()),
                };
                (s.spec.name.clone(), entry)
            })
            .collect();
        self.ctx.directory.set(
            &self.pod.namespace,
            &self.pod.name,
            PodEntry {
                uid: self.pod.uid.clone(),
                ip: self.sandbox.as_ref().map(|s| s.ip),
                containers,
            },
        );
    }

    /// Graceful deletion: the containers get the grace period to stop, then the pod's
    /// resources go and the pod is deleted for good (UID-guarded).
    async fn terminate(mut self, pod: &Pod) {
        let grace = pod
            .metadata
            .deletion_grace_period_seconds
            .or_else(|| {
                pod.spec
                    .as_ref()
                    .and_then(|s| s.termination_grace_period_seconds)
            })
            .unwrap_or(30)
            .max(0);
        let grace = Duration::from_secs(grace as u64);
        for i in 0..self.slots.len() {
            self.refresh(i).await;
        }
        let mut stops = Vec::new();
        for i in 0..self.slots.len() {
            if let (Some(id), true) = (&self.slots[i].id, is_running(&self.slots[i].status)) {
                let name = self.slots[i].spec.name.clone();
                self.event(
                    pod,
                    Some(i),
                    Kind::Normal,
                    "Killing",
                    &format!("Stopping container {name}"),
                )
                .await;
                let runtime = self.ctx.runtime.clone();
                let id = id.clone();
                stops.push(async move { runtime.stop(&id, grace).await });
            }
        }
        for result in futures::future::join_all(stops).await {
            if let Err(e) = result {
                tracing::warn!(pod = %self.pod.name, error = %e, "container not stopped");
            }
        }
        self.cleanup_resources().await;
        let api: Api<Pod> = Api::namespaced(self.ctx.client.clone(), &self.pod.namespace);
        let params = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions {
                uid: Some(self.pod.uid.clone()),
                resource_version: None,
            }),
            ..Default::default()
        };
        if let Err(e) = api.delete(&self.pod.name, &params).await {
            let gone = matches!(&e, kube::Error::Api(s) if s.code == 404 || s.code == 409);
            if !gone {
                tracing::warn!(pod = %self.pod.name, error = %controllers::logs::describe(&e), "pod not deleted");
            }
        }
    }

    /// The pod is gone from the API (deleted elsewhere): its containers are killed at once.
    async fn cleanup(mut self) {
        for i in 0..self.slots.len() {
            if let Some(id) = self.slots[i].id.clone() {
                let _ = self.ctx.runtime.stop(&id, Duration::ZERO).await;
            }
        }
        self.cleanup_resources().await;
    }

    async fn cleanup_resources(&mut self) {
        for slot in &mut self.slots {
            for id in [slot.id.take(), slot.previous_id.take()]
                .into_iter()
                .flatten()
            {
                if let Err(e) = self.ctx.runtime.remove(&id).await {
                    tracing::warn!(pod = %self.pod.name, error = %e, "container not removed");
                }
            }
        }
        if let Err(e) = self.ctx.runtime.remove_sandbox(&self.pod).await {
            tracing::warn!(pod = %self.pod.name, error = %e, "sandbox not removed");
            return;
        }
        if let Err(e) = self.ctx.ipam.release(&self.pod.uid) {
            tracing::warn!(pod = %self.pod.name, error = %e, "address not released");
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        self.ctx
            .directory
            .remove(&self.pod.namespace, &self.pod.name, &self.pod.uid);
        let mut backoff = self.ctx.backoff.lock().unwrap_or_else(|e| e.into_inner());
        backoff.forget_prefix(&format!("{}_", self.pod.uid));
    }
}

/// When the pod was bound: its `PodScheduled` condition's transition, else its creation.
fn bound_at(pod: &Pod) -> Option<jiff::Timestamp> {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.type_ == "PodScheduled" && c.status == "True")
        })
        .and_then(|c| c.last_transition_time.as_ref())
        .map(|t| t.0)
        .or_else(|| pod.metadata.creation_timestamp.as_ref().map(|t| t.0))
}
