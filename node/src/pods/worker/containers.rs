//! Starting a pod's containers: init containers in order, then the others; restarts by the
//! restart policy with back-off; images pulled with theirs.

use super::*;
use crate::builder::{self, Step};

impl Worker {
    pub(super) fn restart_policy(pod: &Pod) -> String {
        pod.spec
            .as_ref()
            .and_then(|s| s.restart_policy.clone())
            .unwrap_or_else(|| "Always".into())
    }

    pub(super) async fn start_containers(&mut self, pod: &Pod) {
        let policy = Self::restart_policy(pod);
        let mut lookup = Lookup::new(self.ctx.client.clone(), &self.pod.namespace);
        // Init containers, one at a time, each to success.
        let (init, regular): (Vec<usize>, Vec<usize>) =
            (0..self.slots.len()).partition(|i| self.slots[*i].init);
        // Once a container ran, initialization is over: sidecars are kept running without
        // holding the containers back.
        let initialized = regular
            .iter()
            .any(|i| self.slots[*i].status.container_id.is_some());
        for i in init {
            let slot = &self.slots[i];
            if slot.sidecar {
                if is_running(&slot.status) {
                    if slot.status.started == Some(true) || initialized {
                        continue;
                    }
                    return;
                }
                let exited = terminated_of(slot.status.state.as_ref()).is_some()
                    || terminated_of(slot.status.last_state.as_ref()).is_some();
                if exited {
                    self.restart(pod, i, &mut lookup).await;
                } else {
                    self.start(pod, i, &mut lookup).await;
                }
                if initialized || self.slots[i].status.started == Some(true) {
                    continue;
                }
                return;
            }
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
    pub(super) async fn restart(&mut self, pod: &Pod, i: usize, lookup: &mut Lookup) {
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
    pub(super) async fn pull(&mut self, pod: &Pod, i: usize, lookup: &mut Lookup) -> bool {
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
        let config = self.ctx.image_config.current().await;
        // The trust policy applies at every start: an image it says something about is pulled
        // through it again even when present (its manifest and signatures are checked; its
        // layers are not fetched again), as under `Always`.
        let checked = config.must_check(&image);
        if policy != "Always"
            && !checked
            && let Ok(Some(found)) = runtime.image_status(&image).await
        {
            self.slots[i].status.image = found.name;
            self.slots[i].status.image_id = found.id;
            let message = format!("Container image \"{image}\" already present on machine");
            self.event(pod, Some(i), Kind::Normal, "Pulled", &message)
                .await;
            return true;
        }
        let error = if policy == "Never" && checked {
            ImageError::Pull(format!(
                "Source image rejected: the trust policy requires {image} to be verified against its registry, which pull policy Never does not allow"
            ))
        } else if policy == "Never" {
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
            let sources = self.ctx.image_config.sources().await;
            let options = PullOptions {
                auth_file: auth_file(pod, &self.dir, lookup).await,
                insecure: sources.insecure(&image),
                registries_conf: config.registries_conf.clone(),
                signature_policy: config.policy_json.clone(),
                home: self.ctx.image_config.home(&config).await,
            };
            let started = Instant::now();
            let pulled = match sources.refusal(&image) {
                Some(refused) => Err(crate::runtime::RuntimeError(refused)),
                None => runtime.pull_image(&image, &options).await,
            };
            match pulled {
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

    /// The build step the node runs itself for the container, if it names one and a Build
    /// controls the pod (asked once per pod).
    async fn build_step(&mut self, pod: &Pod, i: usize) -> Result<Option<Step>, String> {
        if Step::of(&self.slots[i].spec).is_none() {
            return Ok(None);
        }
        let build_pod = match self.build_pod {
            Some(known) => known,
            None => {
                let found = builder::is_build_pod(&self.ctx.client, pod)
                    .await
                    .map_err(|e| controllers::logs::describe(&e))?;
                self.build_pod = Some(found);
                found
            }
        };
        Ok(builder::native_step(build_pod, &self.slots[i].spec))
    }

    /// Pulls, configures, creates and starts the container.
    pub(super) async fn start(&mut self, pod: &Pod, i: usize, lookup: &mut Lookup) {
        let build_step = match self.build_step(pod, i).await {
            Ok(step) => step,
            Err(e) => {
                let message = format!("checking the pod's Build: {e}");
                self.slots[i].status.state =
                    Some(waiting(Some("CreateContainerError"), Some(message)));
                return;
            }
        };
        // A build step's image is the builder's, which the node is: nothing to pull.
        if build_step.is_none() && !self.pull(pod, i, lookup).await {
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
            Ok::<_, crate::pods::env::ConfigError>((env, mounts))
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
            security: crate::pods::security::of(pod, &spec),
            limits: crate::pods::limits::of(&spec),
            build_step,
        };
        match self
            .ctx
            .runtime
            .start_container(&self.pod, &sandbox, &container)
            .await
        {
            Ok(id) => {
                self.slots[i].id = Some(id.clone());
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
                // A failed hook has killed the container: the refresh sees it ended.
                self.post_start(pod, i, &id).await;
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
}
