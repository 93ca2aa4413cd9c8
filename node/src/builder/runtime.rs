//! The builder behind the runtime seam: a `Runtime` that runs the containers the pod worker
//! marked as build steps (`ContainerSpec::build_step`) as tasks of the agent, and hands every
//! other container to the runtime it wraps. A step looks like a container to the rest of the
//! node: an ID, a running then exited state with its exit code, a CRI log at the container's
//! log path (so `kubectl logs -f` follows it), a stop that ends it.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use super::Step;
use super::build_spec::Build;
use super::buildah::Buildah;
use super::context::StepContext;
use super::details::Details;
use super::log::StepLog;
use crate::pods::image_config::Watched;
use crate::runtime::{
    ContainerInfo, ContainerSpec, ContainerState, ImageRef, Listed, PodRef, PullOptions, Runtime,
    RuntimeError, Sandbox,
};

/// The IDs of build steps start with this (no runtime's ID does).
const PREFIX: &str = "build-";

/// The exit code of a step that was stopped, as of a container killed by SIGKILL.
const STOPPED: i32 = 137;

struct Native {
    listed: Listed,
    state: Arc<Mutex<ContainerState>>,
    task: tokio::task::AbortHandle,
}

pub struct BuilderRuntime {
    inner: Arc<dyn Runtime>,
    client: kube::Client,
    buildah: Arc<Buildah>,
    image_config: Watched,
    steps: Mutex<HashMap<String, Native>>,
}

/// 16 hex digits no other run shares.
fn run_id() -> String {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    format!("{:016x}", h.finish())
}

/// Runs one step to its end; its exit code.
async fn run_step(step: Step, ctx: StepContext) -> i32 {
    let result = match step {
        Step::GitClone => super::git_clone::run(&ctx).await,
        Step::ManageDockerfile => super::manage_dockerfile::run(&ctx).await,
        Step::DockerBuild => super::docker_build::run(&ctx).await,
        Step::StiBuild => super::sti_build::run(&ctx).await,
    };
    ctx.report_stages().await;
    match result {
        Ok(()) => 0,
        Err(failure) => {
            ctx.fail(&failure).await;
            1
        }
    }
}

impl BuilderRuntime {
    /// Wraps `inner`; buildah keeps its storage under `dir` and pulls through
    /// `image_config`.
    pub fn new(
        inner: Arc<dyn Runtime>,
        client: kube::Client,
        dir: &std::path::Path,
        image_config: Watched,
    ) -> Self {
        BuilderRuntime {
            inner,
            client,
            buildah: Arc::new(Buildah::new(dir)),
            image_config,
            steps: Mutex::new(HashMap::new()),
        }
    }

    fn steps(&self) -> std::sync::MutexGuard<'_, HashMap<String, Native>> {
        self.steps.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn start_step(
        &self,
        pod: &PodRef,
        spec: &ContainerSpec,
        step: Step,
    ) -> Result<String, RuntimeError> {
        let id = format!("{PREFIX}{}-{}-{}", pod.uid, spec.container, spec.attempt);
        let log = StepLog::create(&spec.log_path)
            .map(Arc::new)
            .map_err(|e| RuntimeError(format!("creating the log: {e}")))?;
        let env: HashMap<String, String> = spec.env.iter().cloned().collect();
        let started_at = jiff::Timestamp::now();
        let state = Arc::new(Mutex::new(ContainerState::Running { started_at }));
        let parsed = Build::parse(env.get("BUILD").map_or("", String::as_str));
        let ctx = parsed.map(|(build, raw)| StepContext {
            build,
            details: Details::new(self.client.clone(), raw),
            log: log.clone(),
            mounts: spec.mounts.clone(),
            env,
            buildah: self.buildah.clone(),
            image_config: self.image_config.clone(),
            run_id: run_id(),
            timing: Default::default(),
        });
        let finished = state.clone();
        let task = tokio::spawn(async move {
            let exit_code = match ctx {
                Ok(ctx) => run_step(step, ctx).await,
                Err(e) => {
                    log.error(&format!("error: {e}"));
                    1
                }
            };
            *finished.lock().unwrap_or_else(|e| e.into_inner()) = ContainerState::Exited {
                exit_code,
                started_at,
                finished_at: jiff::Timestamp::now(),
                oom_killed: false,
            };
        });
        let native = Native {
            listed: Listed {
                id: id.clone(),
                pod_uid: pod.uid.clone(),
                container: spec.container.clone(),
                attempt: spec.attempt,
            },
            state,
            task: task.abort_handle(),
        };
        if let Some(old) = self.steps().insert(id.clone(), native) {
            old.task.abort();
        }
        Ok(id)
    }
}

#[async_trait]
impl Runtime for BuilderRuntime {
    fn scheme(&self) -> &'static str {
        self.inner.scheme()
    }

    async fn version(&self) -> String {
        self.inner.version().await
    }

    async fn create_sandbox(&self, pod: &PodRef, ip: Ipv4Addr) -> Result<Sandbox, RuntimeError> {
        self.inner.create_sandbox(pod, ip).await
    }

    async fn remove_sandbox(&self, pod: &PodRef) -> Result<(), RuntimeError> {
        self.inner.remove_sandbox(pod).await
    }

    async fn image_status(&self, image: &str) -> Result<Option<ImageRef>, RuntimeError> {
        self.inner.image_status(image).await
    }

    async fn pull_image(
        &self,
        image: &str,
        options: &PullOptions,
    ) -> Result<ImageRef, RuntimeError> {
        self.inner.pull_image(image, options).await
    }

    async fn start_container(
        &self,
        pod: &PodRef,
        sandbox: &Sandbox,
        spec: &ContainerSpec,
    ) -> Result<String, RuntimeError> {
        match spec.build_step {
            Some(step) => self.start_step(pod, spec, step),
            None => self.inner.start_container(pod, sandbox, spec).await,
        }
    }

    async fn inspect(&self, id: &str) -> Result<Option<ContainerInfo>, RuntimeError> {
        if !id.starts_with(PREFIX) {
            return self.inner.inspect(id).await;
        }
        Ok(self.steps().get(id).map(|n| ContainerInfo {
            id: id.to_string(),
            state: n.state.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        }))
    }

    async fn stop(&self, id: &str, grace: Duration) -> Result<(), RuntimeError> {
        if !id.starts_with(PREFIX) {
            return self.inner.stop(id, grace).await;
        }
        if let Some(n) = self.steps().get(id) {
            // Aborting drops the step's processes, which are killed with it.
            n.task.abort();
            let mut state = n.state.lock().unwrap_or_else(|e| e.into_inner());
            if let ContainerState::Running { started_at } = *state {
                *state = ContainerState::Exited {
                    exit_code: STOPPED,
                    started_at,
                    finished_at: jiff::Timestamp::now(),
                    oom_killed: false,
                };
            }
        }
        Ok(())
    }

    async fn remove(&self, id: &str) -> Result<(), RuntimeError> {
        if !id.starts_with(PREFIX) {
            return self.inner.remove(id).await;
        }
        if let Some(n) = self.steps().remove(id) {
            n.task.abort();
        }
        Ok(())
    }

    async fn exec_sync(
        &self,
        id: &str,
        command: &[String],
        timeout: Duration,
    ) -> Result<(i32, String), RuntimeError> {
        if id.starts_with(PREFIX) {
            return Err(RuntimeError("build steps do not run commands".into()));
        }
        self.inner.exec_sync(id, command, timeout).await
    }

    async fn list(&self) -> Result<Vec<Listed>, RuntimeError> {
        let mut listed = self.inner.list().await?;
        listed.extend(self.steps().values().map(|n| n.listed.clone()));
        Ok(listed)
    }
}
