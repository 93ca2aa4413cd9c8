//! The container runtime behind one trait: podman (real containers) or simulated (pods that
//! run without containers, for scale). The pod workers speak only this trait.

pub mod cri_log;
pub mod podman;
mod podman_security;
mod podman_states;
pub mod simulated;

use std::net::Ipv4Addr;
use std::path::PathBuf;

use async_trait::async_trait;

/// The pod a sandbox or container belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodRef {
    pub namespace: String,
    pub name: String,
    pub uid: String,
}

/// Where a pod's containers run: its network namespace and address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sandbox {
    pub ip: Ipv4Addr,
    /// The network namespace to join (real runtimes).
    pub netns: Option<String>,
    /// The node's own network (`hostNetwork: true`): no namespace, the node's address.
    pub host_network: bool,
}

impl Sandbox {
    /// The sandbox of a `hostNetwork` pod: the node's network, whose address is loopback.
    pub fn host_network() -> Sandbox {
        Sandbox {
            ip: Ipv4Addr::LOCALHOST,
            netns: None,
            host_network: true,
        }
    }
}

/// An image made present, as the runtime reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// The image's name as the runtime knows it (`127.0.0.1:5000/web:1`).
    pub name: String,
    /// `name@sha256:…` when the registry gave a digest, else `sha256:<image id>`.
    pub id: String,
    pub size: u64,
}

/// How an image came to be present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pulled {
    AlreadyPresent(ImageRef),
    Pulled(ImageRef, std::time::Duration),
}

/// Credentials and transport settings for one pull.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullOptions {
    /// A `config.json`-style auth file (the pod's pull secrets, merged).
    pub auth_file: Option<PathBuf>,
    /// Plain HTTP or unverified TLS (a registry listed as insecure).
    pub insecure: bool,
    /// The cluster's registries.conf (mirrors), instead of the machine's.
    pub registries_conf: Option<PathBuf>,
    /// The cluster's policy.json (trust policy, allowed and blocked registries), instead of
    /// the machine's.
    pub signature_policy: Option<PathBuf>,
    /// A home whose `.config/containers` holds the cluster's registries.d (the lookaside
    /// signature stores) and certs.d (the registries' CAs).
    pub home: Option<PathBuf>,
}

/// A bind mount into a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub host_path: PathBuf,
    pub container_path: String,
    pub read_only: bool,
}

/// Everything needed to create and start one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSpec {
    /// The runtime's name for it (unique per pod, container and attempt).
    pub runtime_name: String,
    pub container: String,
    /// 0 for the first instance, then one more per restart.
    pub attempt: u32,
    pub image: String,
    /// Replaces the image's entrypoint.
    pub command: Vec<String>,
    /// Replaces the image's arguments.
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub mounts: Vec<Mount>,
    pub working_dir: Option<String>,
    /// Where the runtime writes the CRI-format log.
    pub log_path: PathBuf,
    pub stdin: bool,
    pub tty: bool,
    /// A build pod's step the node runs itself (`builder`), instead of the image.
    pub build_step: Option<crate::builder::Step>,
    pub security: Security,
    pub limits: Limits,
}

/// The container's cgroup limits (`pods/limits.rs`); none: the runtime's defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    pub memory_bytes: Option<i64>,
    /// Microseconds of CPU per 100 ms period.
    pub cpu_quota: Option<i64>,
    pub cpu_shares: Option<i64>,
}

/// What the container's security context asks of the runtime (`pods/security.rs`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Security {
    /// The UID to run as (none: the image's user).
    pub user: Option<i64>,
    /// The primary GID (none: the image's, or root's for a numeric user).
    pub group: Option<i64>,
    /// Extra groups: the pod's supplemental groups and its fsGroup.
    pub groups: Vec<i64>,
    pub privileged: bool,
    pub read_only_root: bool,
    pub no_new_privileges: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
}

/// A container's state as the runtime reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerState {
    Created,
    Running {
        started_at: jiff::Timestamp,
    },
    Exited {
        exit_code: i32,
        started_at: jiff::Timestamp,
        finished_at: jiff::Timestamp,
        oom_killed: bool,
    },
}

/// A container as the runtime reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerInfo {
    pub id: String,
    pub state: ContainerState,
}

/// A container the runtime holds, with what the agent labelled it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub id: String,
    pub pod_uid: String,
    pub container: String,
    pub attempt: u32,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct RuntimeError(pub String);

#[async_trait]
pub trait Runtime: Send + Sync + 'static {
    /// The scheme of container IDs (`podman://…`) and of `containerRuntimeVersion`.
    fn scheme(&self) -> &'static str;
    /// `<scheme>://<version>` for the Node's `nodeInfo`.
    async fn version(&self) -> String;
    /// Makes the pod's sandbox (network namespace) for `ip`; idempotent.
    async fn create_sandbox(&self, pod: &PodRef, ip: Ipv4Addr) -> Result<Sandbox, RuntimeError>;
    /// Removes the sandbox; idempotent.
    async fn remove_sandbox(&self, pod: &PodRef) -> Result<(), RuntimeError>;
    /// The image if present.
    async fn image_status(&self, image: &str) -> Result<Option<ImageRef>, RuntimeError>;
    /// Pulls the image; the error text is the runtime's.
    async fn pull_image(
        &self,
        image: &str,
        options: &PullOptions,
    ) -> Result<ImageRef, RuntimeError>;
    /// Creates and starts a container in the sandbox; its ID.
    async fn start_container(
        &self,
        pod: &PodRef,
        sandbox: &Sandbox,
        spec: &ContainerSpec,
    ) -> Result<String, RuntimeError>;
    /// The container, or `None` if the runtime does not know it.
    async fn inspect(&self, id: &str) -> Result<Option<ContainerInfo>, RuntimeError>;
    /// SIGTERM (or the image's stop signal), then SIGKILL after `grace`; returns once stopped.
    async fn stop(&self, id: &str, grace: std::time::Duration) -> Result<(), RuntimeError>;
    /// Removes a stopped container.
    async fn remove(&self, id: &str) -> Result<(), RuntimeError>;
    /// Runs `command` in the running container, for at most `timeout`: its exit code and
    /// output (probes).
    async fn exec_sync(
        &self,
        id: &str,
        command: &[String],
        timeout: std::time::Duration,
    ) -> Result<(i32, String), RuntimeError>;
    /// Every container of this node (to find a pod's containers again after a restart of the
    /// agent, and to clean up after pods gone while it was away).
    async fn list(&self) -> Result<Vec<Listed>, RuntimeError>;
}
