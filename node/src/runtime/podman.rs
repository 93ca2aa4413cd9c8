//! The podman runtime: rootful podman 4 with runc and cgroupfs, its storage under the agent's
//! data directory (never the machine's default podman state), events to a file (no journald
//! assumed), logs in the CRI format to files the agent owns. Pods' containers join the
//! network namespace the agent made (`--network ns:`).

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::Deserialize;
use tokio::process::Command;

use super::podman_states::{Known, PsEntry, States};
use super::{
    ContainerInfo, ContainerSpec, ContainerState, ImageRef, Listed, PodRef, PullOptions, Runtime,
    RuntimeError, Sandbox,
};
use crate::network;

/// Labels on every container, naming its node and pod.
pub const NODE_LABEL: &str = "io.oxshift.node";
pub const POD_UID_LABEL: &str = "io.oxshift.pod-uid";
pub const CONTAINER_LABEL: &str = "io.oxshift.container";
pub const ATTEMPT_LABEL: &str = "io.oxshift.attempt";

pub struct Podman {
    /// `--root`, `--runroot`, ... for every command.
    global: Vec<String>,
    /// The working directory of every command: conmon writes files there (an `oom` mark on
    /// cgroup v1), which belong with the runtime's state, not wherever the agent started.
    work_dir: PathBuf,
    node: String,
    states: std::sync::Mutex<States>,
    /// One `podman ps` at a time; workers that wait for it use its result.
    refreshing: tokio::sync::Mutex<()>,
}

impl Podman {
    /// Podman with its state under `dir`, labelling containers as `node`'s.
    pub fn new(dir: &Path, node: &str) -> Podman {
        let sub = |name: &str| dir.join(name).display().to_string();
        let global = vec![
            "--root".into(),
            sub("root"),
            "--runroot".into(),
            sub("run"),
            "--tmpdir".into(),
            sub("tmp"),
            // crun fails on this kernel setup; runc works.
            "--runtime".into(),
            "runc".into(),
            "--cgroup-manager".into(),
            "cgroupfs".into(),
            "--events-backend".into(),
            "file".into(),
        ];
        let _ = std::fs::create_dir_all(dir);
        Podman {
            global,
            work_dir: dir.to_path_buf(),
            node: node.to_string(),
            states: std::sync::Mutex::default(),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    /// Whether podman can be used: installed, and we are root (rootful podman).
    pub fn available() -> bool {
        Path::new("/usr/bin/podman").exists() && is_root()
    }

    fn command(&self) -> Command {
        let mut command = Command::new("podman");
        command
            .args(&self.global)
            .current_dir(&self.work_dir)
            .kill_on_drop(true);
        command
    }

    /// Runs podman with `args`; its standard output, or its error text.
    async fn run(&self, args: &[&str]) -> Result<String, RuntimeError> {
        let output = self
            .command()
            .args(args)
            .output()
            .await
            .map_err(|e| RuntimeError(format!("podman: {e}")))?;
        if output.status.success() {
            return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
        }
        Err(RuntimeError(error_text(&output.stderr)))
    }

    /// The container as `podman container inspect` has it now.
    async fn inspect_now(&self, id: &str) -> Result<Option<ContainerInfo>, RuntimeError> {
        let output = self
            .command()
            .args(["container", "inspect", id])
            .output()
            .await
            .map_err(|e| RuntimeError(format!("podman: {e}")))?;
        if !output.status.success() {
            let text = error_text(&output.stderr);
            if text.contains("no such container") {
                return Ok(None);
            }
            return Err(RuntimeError(text));
        }
        let mut list: Vec<ContainerInspect> = serde_json::from_slice(&output.stdout)
            .map_err(|e| RuntimeError(format!("podman container inspect: {e}")))?;
        let Some(c) = list.pop() else {
            return Ok(None);
        };
        let s = c.state;
        let state = match s.status.as_str() {
            "running" | "paused" | "stopping" => ContainerState::Running {
                started_at: timestamp(&s.started_at),
            },
            "exited" | "stopped" => ContainerState::Exited {
                exit_code: s.exit_code,
                started_at: timestamp(&s.started_at),
                finished_at: timestamp(&s.finished_at),
                oom_killed: s.oom_killed
                    || (s.exit_code == KILLED && oom_killed_by_kernel(&c.id).await),
            },
            _ => ContainerState::Created,
        };
        Ok(Some(ContainerInfo { id: c.id, state }))
    }

    fn lock_states(&self) -> std::sync::MutexGuard<'_, States> {
        self.states.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn known(&self, id: &str) -> Option<Known> {
        self.lock_states().lookup(id, Instant::now())
    }

    /// Reads every container of the node in one `podman ps` (unless a worker that held the
    /// turn just did).
    async fn refresh_states(&self) -> Result<(), RuntimeError> {
        let _turn = self.refreshing.lock().await;
        if self.lock_states().fresh(Instant::now()) {
            return Ok(());
        }
        let at = Instant::now();
        let entries = self.ps().await?;
        self.lock_states().replace(&entries, at);
        Ok(())
    }

    async fn ps(&self) -> Result<Vec<PsEntry>, RuntimeError> {
        let filter = format!("label={NODE_LABEL}={}", self.node);
        let out = self
            .run(&["ps", "--all", "--format", "json", "--filter", &filter])
            .await?;
        serde_json::from_str(&out).map_err(|e| RuntimeError(format!("podman ps: {e}")))
    }

    /// The command podman runs a container with (exposed for `exec`/`attach`).
    pub fn stream_command(&self, args: &[&str]) -> Command {
        let mut command = self.command();
        command.args(args);
        command
    }
}

/// The exit code of a process killed by SIGKILL.
const KILLED: i32 = 128 + 9;

/// Whether the kernel's log says its OOM killer killed a process of the container for its
/// memory cgroup's limit (`oom-kill:... oom_memcg=/.../libpod-<id>`). Podman's own report
/// (conmon's) misses these kills with runc on cgroup v1 hierarchies.
async fn oom_killed_by_kernel(id: &str) -> bool {
    let Ok(out) = Command::new("dmesg").kill_on_drop(true).output().await else {
        return false;
    };
    oom_logged(&String::from_utf8_lossy(&out.stdout), id)
}

fn oom_logged(log: &str, id: &str) -> bool {
    let cgroup = format!("libpod-{id}");
    log.lines().any(|line| {
        line.contains("oom-kill:")
            && line
                .split([',', ' '])
                .filter_map(|f| f.strip_prefix("oom_memcg="))
                .any(|path| {
                    path.rsplit('/')
                        .next()
                        .is_some_and(|c| c.starts_with(&cgroup))
                })
    })
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find(|l| l.starts_with("Uid:"))
            .and_then(|l| l.split_whitespace().nth(1))
            == Some("0")
    })
}

/// Podman's error text without its `Error: ` prefix and log-level noise.
fn error_text(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty() && !l.contains("level=warning"))
        .unwrap_or("podman failed");
    last.trim()
        .strip_prefix("Error: ")
        .unwrap_or(last.trim())
        .to_string()
}

/// `busybox` → `docker.io/library/busybox:latest`, as the kubelet's runtimes name images.
pub fn normalize_image(image: &str) -> String {
    let (first, rest) = image.split_once('/').unwrap_or(("", image));
    let qualified = if !first.is_empty()
        && (first.contains('.') || first.contains(':') || first == "localhost")
    {
        image.to_string()
    } else if first.is_empty() {
        format!("docker.io/library/{rest}")
    } else {
        format!("docker.io/{image}")
    };
    let last = qualified.rsplit('/').next().unwrap_or("");
    if last.contains(':') || last.contains('@') {
        qualified
    } else {
        format!("{qualified}:latest")
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ImageInspect {
    id: String,
    #[serde(default)]
    repo_digests: Vec<String>,
    #[serde(default)]
    size: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ContainerInspect {
    id: String,
    state: StateInspect,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StateInspect {
    status: String,
    #[serde(default)]
    exit_code: i32,
    #[serde(default, rename = "OOMKilled")]
    oom_killed: bool,
    started_at: String,
    finished_at: String,
}

fn timestamp(text: &str) -> jiff::Timestamp {
    text.parse().unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

impl ImageInspect {
    fn reference(self, name: &str) -> ImageRef {
        let repo =
            name.rsplit_once('@')
                .map(|(r, _)| r)
                .unwrap_or_else(|| match name.rsplit_once(':') {
                    Some((r, tag)) if !tag.contains('/') => r,
                    _ => name,
                });
        let id = self
            .repo_digests
            .iter()
            .find(|d| d.split('@').next() == Some(repo))
            .or(self.repo_digests.first())
            .cloned()
            .unwrap_or_else(|| format!("sha256:{}", self.id));
        ImageRef {
            name: name.to_string(),
            id,
            size: self.size,
        }
    }
}

/// The container's cgroup limits as podman takes them; swap is never allowed beyond memory.
fn limit_args(limits: &super::Limits) -> Vec<String> {
    let mut args = Vec::new();
    if let Some(bytes) = limits.memory_bytes {
        args.push(format!("--memory={bytes}b"));
        args.push(format!("--memory-swap={bytes}b"));
    }
    if let Some(quota) = limits.cpu_quota {
        args.push(format!("--cpu-period={}", crate::pods::limits::CPU_PERIOD));
        args.push(format!("--cpu-quota={quota}"));
    }
    if let Some(shares) = limits.cpu_shares {
        args.push(format!("--cpu-shares={shares}"));
    }
    args
}

/// `-t` seconds for a grace period, at least the period (rounded up).
fn grace_seconds(grace: Duration) -> String {
    let secs = grace.as_secs() + u64::from(grace.subsec_nanos() > 0);
    secs.to_string()
}

#[async_trait]
impl Runtime for Podman {
    fn scheme(&self) -> &'static str {
        "podman"
    }

    async fn version(&self) -> String {
        let version = self
            .run(&["version", "--format", "{{.Client.Version}}"])
            .await
            .unwrap_or_default();
        format!("podman://{}", version.trim())
    }

    async fn create_sandbox(&self, pod: &PodRef, ip: Ipv4Addr) -> Result<Sandbox, RuntimeError> {
        network::ensure_bridge()
            .await
            .map_err(|e| RuntimeError(e.to_string()))?;
        network::create_pod_namespace(&pod.uid, ip)
            .await
            .map_err(|e| RuntimeError(e.to_string()))?;
        Ok(Sandbox {
            ip,
            netns: Some(network::namespace_path(&pod.uid)),
            host_network: false,
        })
    }

    async fn remove_sandbox(&self, pod: &PodRef) -> Result<(), RuntimeError> {
        network::delete_pod_namespace(&pod.uid)
            .await
            .map_err(|e| RuntimeError(e.to_string()))
    }

    async fn image_status(&self, image: &str) -> Result<Option<ImageRef>, RuntimeError> {
        let name = normalize_image(image);
        let output = self
            .command()
            .args(["image", "inspect", &name])
            .output()
            .await
            .map_err(|e| RuntimeError(format!("podman: {e}")))?;
        if !output.status.success() {
            return Ok(None);
        }
        let mut images: Vec<ImageInspect> = serde_json::from_slice(&output.stdout)
            .map_err(|e| RuntimeError(format!("podman image inspect: {e}")))?;
        Ok(images.pop().map(|i| i.reference(&name)))
    }

    async fn pull_image(
        &self,
        image: &str,
        options: &PullOptions,
    ) -> Result<ImageRef, RuntimeError> {
        let name = normalize_image(image);
        let mut args = vec!["pull".to_string(), "--quiet".to_string()];
        if options.insecure {
            args.push("--tls-verify=false".into());
        }
        if let Some(file) = &options.auth_file {
            args.push("--authfile".into());
            args.push(file.display().to_string());
        }
        if let Some(policy) = &options.signature_policy {
            args.push("--signature-policy".into());
            args.push(policy.display().to_string());
        }
        args.push(name.clone());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut command = self.command();
        if let Some(conf) = &options.registries_conf {
            command.env("CONTAINERS_REGISTRIES_CONF", conf);
        }
        // containers/image reads registries.d and certs.d from the user's home before /etc;
        // podman has no flag for registries.d, and `--cert-dir` would give every registry of
        // the pull (mirrors too) one directory.
        if let Some(home) = &options.home {
            command.env("HOME", home);
        }
        let output = command
            .args(&args)
            .output()
            .await
            .map_err(|e| RuntimeError(format!("podman: {e}")))?;
        if !output.status.success() {
            return Err(RuntimeError(error_text(&output.stderr)));
        }
        self.image_status(&name)
            .await?
            .ok_or_else(|| RuntimeError(format!("image {name} not present after its pull")))
    }

    async fn start_container(
        &self,
        pod: &PodRef,
        sandbox: &Sandbox,
        spec: &ContainerSpec,
    ) -> Result<String, RuntimeError> {
        let mut args: Vec<String> = vec![
            "run".into(),
            "--detach".into(),
            "--pull=never".into(),
            format!("--name={}", spec.runtime_name),
            format!("--label={NODE_LABEL}={}", self.node),
            format!("--label={POD_UID_LABEL}={}", pod.uid),
            format!("--label={CONTAINER_LABEL}={}", spec.container),
            format!("--label={ATTEMPT_LABEL}={}", spec.attempt),
            "--log-driver=k8s-file".into(),
            format!("--log-opt=path={}", spec.log_path.display()),
            // runc here cannot raise these limits above the agent's.
            "--ulimit=nofile=1024:1024".into(),
            "--ulimit=nproc=1024:1024".into(),
        ];
        match (&sandbox.netns, sandbox.host_network) {
            // The node's network and host name, as the kubelet gives hostNetwork pods.
            (_, true) => args.extend(["--network=host".into(), "--uts=host".into()]),
            (Some(ns), false) => args.push(format!("--network=ns:{ns}")),
            (None, false) => args.push("--network=none".into()),
        }
        if !sandbox.host_network {
            args.push(format!("--hostname={}", pod.name));
        }
        if !spec.command.is_empty() {
            let entrypoint =
                serde_json::to_string(&spec.command).map_err(|e| RuntimeError(e.to_string()))?;
            args.push(format!("--entrypoint={entrypoint}"));
        }
        for (name, value) in &spec.env {
            args.push("--env".into());
            args.push(format!("{name}={value}"));
        }
        for mount in &spec.mounts {
            let mode = if mount.read_only { ":ro" } else { "" };
            args.push("--volume".into());
            args.push(format!(
                "{}:{}{mode}",
                mount.host_path.display(),
                mount.container_path
            ));
        }
        if let Some(dir) = &spec.working_dir {
            args.push(format!("--workdir={dir}"));
        }
        args.extend(super::podman_security::args(&spec.security));
        args.extend(limit_args(&spec.limits));
        if spec.stdin {
            args.push("--interactive".into());
        }
        if spec.tty {
            args.push("--tty".into());
        }
        args.push(normalize_image(&spec.image));
        args.extend(spec.args.iter().cloned());
        if let Some(parent) = spec.log_path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| RuntimeError(e.to_string()))?;
        }
        // A container of this name left by an earlier attempt (e.g. one that failed to start)
        // would make the name taken.
        let _ = self.run(&["rm", "--force", &spec.runtime_name]).await;
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let id = self.run(&refs).await?;
        Ok(id.trim().to_string())
    }

    async fn inspect(&self, id: &str) -> Result<Option<ContainerInfo>, RuntimeError> {
        let known = match self.known(id) {
            Some(k) => k,
            None => {
                self.refresh_states().await?;
                self.known(id).unwrap_or(Known::Inspect)
            }
        };
        match known {
            Known::Running { started_at } => Ok(Some(ContainerInfo {
                id: id.to_string(),
                state: ContainerState::Running { started_at },
            })),
            Known::Inspect => {
                if let Some(info) = self.lock_states().exited(id) {
                    return Ok(Some(info));
                }
                let info = self.inspect_now(id).await?;
                if let Some(i) = &info
                    && matches!(i.state, ContainerState::Exited { .. })
                {
                    self.lock_states().keep_exited(i.clone());
                }
                Ok(info)
            }
        }
    }

    async fn stop(&self, id: &str, grace: Duration) -> Result<(), RuntimeError> {
        let started = Instant::now();
        let stopped = self
            .run(&["stop", "--time", &grace_seconds(grace), id])
            .await;
        // Whatever a snapshot taken meanwhile says, the container is inspected next time.
        self.lock_states().forget(id);
        match stopped {
            Ok(_) => Ok(()),
            Err(e) if e.0.contains("no such container") => Ok(()),
            Err(e) => {
                tracing::debug!(error = %e, elapsed = ?started.elapsed(), "podman stop failed");
                Err(e)
            }
        }
    }

    async fn remove(&self, id: &str) -> Result<(), RuntimeError> {
        self.lock_states().forget(id);
        match self.run(&["rm", "--force", id]).await {
            Ok(_) => Ok(()),
            Err(e) if e.0.contains("no such container") => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn exec_sync(
        &self,
        id: &str,
        command: &[String],
        timeout: Duration,
    ) -> Result<(i32, String), RuntimeError> {
        let mut command_line = self.command();
        command_line.arg("exec").arg(id).args(command);
        let run = command_line.output();
        let output = tokio::time::timeout(timeout, run)
            .await
            .map_err(|_| RuntimeError(format!("command timed out after {}s", timeout.as_secs())))?
            .map_err(|e| RuntimeError(format!("podman: {e}")))?;
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        Ok((output.status.code().unwrap_or(-1), text))
    }

    async fn list(&self) -> Result<Vec<Listed>, RuntimeError> {
        Ok(self
            .ps()
            .await?
            .into_iter()
            .map(|e| {
                let labels = e.labels.unwrap_or_default();
                let label = |k: &str| labels.get(k).cloned().unwrap_or_default();
                Listed {
                    pod_uid: label(POD_UID_LABEL),
                    container: label(CONTAINER_LABEL),
                    attempt: label(ATTEMPT_LABEL).parse().unwrap_or(0),
                    id: e.id,
                }
            })
            .collect())
    }
}

/// The directory podman keeps its state in, under the agent's.
pub fn state_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("podman")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_named_as_the_runtimes_name_them() {
        assert_eq!(
            normalize_image("busybox"),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(
            normalize_image("nginx:1.27"),
            "docker.io/library/nginx:1.27"
        );
        assert_eq!(normalize_image("me/app"), "docker.io/me/app:latest");
        assert_eq!(
            normalize_image("127.0.0.1:5000/web:1"),
            "127.0.0.1:5000/web:1"
        );
        assert_eq!(normalize_image("localhost/web"), "localhost/web:latest");
        assert_eq!(
            normalize_image("quay.io/a/b@sha256:abc"),
            "quay.io/a/b@sha256:abc"
        );
    }

    #[test]
    fn image_ids_prefer_the_repository_digest() {
        let inspect = ImageInspect {
            id: "b5da".into(),
            repo_digests: vec!["127.0.0.1:5000/web@sha256:4d81".into()],
            size: 7,
        };
        let r = inspect.reference("127.0.0.1:5000/web:1");
        assert_eq!(r.id, "127.0.0.1:5000/web@sha256:4d81");
        let bare = ImageInspect {
            id: "b5da".into(),
            repo_digests: vec![],
            size: 7,
        };
        assert_eq!(bare.reference("localhost/x:1").id, "sha256:b5da");
    }

    #[test]
    fn podman_errors_lose_their_prefix() {
        let text = b"time=\"x\" level=warning msg=\"y\"\nError: initializing source docker://127.0.0.1:1/x:1: pinging container registry\n";
        assert_eq!(
            error_text(text),
            "initializing source docker://127.0.0.1:1/x:1: pinging container registry"
        );
        assert_eq!(grace_seconds(Duration::from_millis(1500)), "2");
        assert_eq!(grace_seconds(Duration::ZERO), "0");
    }

    #[test]
    fn kernel_oom_kills_are_found_by_the_containers_cgroup() {
        let log = "[1.0] Memory cgroup stats for /a\n[2.0] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=libpod-ab12,mems_allowed=0,oom_memcg=/x/libpod-ab12,task_memcg=/x/libpod-ab12,task=sh,pid=3,uid=0\n";
        assert!(oom_logged(log, "ab12"));
        assert!(!oom_logged(log, "cd34"));
        // Another container's cgroup, or a line of another kind, says nothing.
        assert!(!oom_logged("oom_memcg=/x/libpod-ab12", "ab12"));
        let v2 = "oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/machine.slice/libpod-ab12.scope,task=sh";
        assert!(oom_logged(v2, "ab12"));
    }

    #[test]
    fn limits_become_podman_flags() {
        let limits = super::super::Limits {
            memory_bytes: Some(1024),
            cpu_quota: Some(50_000),
            cpu_shares: Some(512),
        };
        assert_eq!(
            limit_args(&limits),
            [
                "--memory=1024b",
                "--memory-swap=1024b",
                "--cpu-period=100000",
                "--cpu-quota=50000",
                "--cpu-shares=512"
            ]
        );
        assert!(limit_args(&Default::default()).is_empty());
    }
}
