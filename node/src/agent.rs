//! One node agent: binds the kubelet port, registers the Node, then keeps its status and Lease
//! current and runs its pods, until it is dropped.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::events::{Kind, Recorder};
use crate::kubelet_api::{self, KubeletApiState};
use crate::network::ipam::{Allocator, Cidr};
use crate::node_io::NodeIo;
use crate::node_status::{self, Machine, NodeSpec};
use crate::pods::{self, Context, directory::Directory};
use crate::runtime::{Runtime, podman::Podman, simulated::Simulated};
use crate::{lease, network};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeKind {
    Podman,
    Simulated,
}

/// How one agent runs.
pub struct AgentConfig {
    pub name: String,
    pub runtime: RuntimeKind,
    /// The agent's own directory (podman state, pods, addresses).
    pub data_dir: PathBuf,
    pub pod_cidr: Cidr,
    /// The kubelet port on 127.0.0.1 (0: any free one; the Node publishes the bound one).
    pub port: u16,
    /// The TLS configuration of the kubelet port (serving certificate, client CA); with it the
    /// agent serves the node's HTTPS API there.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Labels beyond the kubelet's own.
    pub extra_labels: Vec<(String, String)>,
    /// Where the local provisioner keeps its volumes (`None`: the node runs no provisioner).
    pub storage_dir: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("binding the kubelet port: {0}")]
    Bind(std::io::Error),
    #[error("{0}")]
    Setup(String),
}

/// The kubelet port, bound, with its TLS configuration, for a caller that serves it itself.
pub struct KubeletEndpoint {
    pub listener: TcpListener,
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

/// A running agent; dropping it stops its loops (containers keep running, as a kubelet's do).
pub struct Agent {
    pub name: String,
    pub port: u16,
    /// The kubelet port when the agent does not serve it itself (no TLS configuration).
    endpoint: Mutex<Option<KubeletEndpoint>>,
    pub io: Arc<NodeIo>,
    tasks: JoinSet<()>,
    /// The machine-wide claim of the pod CIDR (real networks only), held while the agent runs.
    _claim: Option<std::fs::File>,
}

impl Agent {
    /// The bound kubelet port and its TLS configuration, once.
    pub fn take_endpoint(&self) -> Option<KubeletEndpoint> {
        self.endpoint
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    /// Waits until one of the agent's loops ends (they do not, unless they panic).
    pub async fn wait(&mut self) {
        self.tasks.join_next().await;
    }
}

/// How long to wait between registration attempts while the API server is not answering.
const REGISTER_RETRY: Duration = Duration::from_secs(1);

/// Starts an agent: binds its port, registers its Node (retrying until the API answers) and
/// starts its loops.
pub async fn start(client: kube::Client, config: AgentConfig) -> Result<Agent, AgentError> {
    let setup = |what: &str| {
        let what = what.to_string();
        move |e: std::io::Error| AgentError::Setup(format!("{what}: {e}"))
    };
    std::fs::create_dir_all(&config.data_dir).map_err(setup("the data directory"))?;
    let listener = TcpListener::bind(("127.0.0.1", config.port))
        .await
        .map_err(AgentError::Bind)?;
    let port = listener.local_addr().map_err(AgentError::Bind)?.port();
    let mut claim = None;
    // One watch of the cluster's image configuration, shared by pulls and builds.
    let (image_config, follow_image_config) =
        pods::image_config::Watched::start(client.clone(), config.data_dir.join("image-config"));
    let (runtime, podman): (Arc<dyn Runtime>, Option<Arc<Podman>>) = match config.runtime {
        RuntimeKind::Podman => {
            claim = Some(
                network::claim_cidr(config.pod_cidr)
                    .map_err(|e| AgentError::Setup(e.to_string()))?,
            );
            network::ensure_bridge()
                .await
                .map_err(|e| AgentError::Setup(e.to_string()))?;
            let podman = Arc::new(Podman::new(
                &crate::runtime::podman::state_dir(&config.data_dir),
                &config.name,
            ));
            // Build pods' steps run natively beside the pods' containers.
            let runtime = crate::builder::BuilderRuntime::new(
                podman.clone(),
                client.clone(),
                &config.data_dir.join("buildah"),
                image_config.clone(),
            );
            (Arc::new(runtime), Some(podman))
        }
        RuntimeKind::Simulated => (Arc::new(Simulated::new()), None),
    };
    let ipam = Allocator::open(&config.data_dir.join("ipam"), config.pod_cidr)
        .map_err(|e| AgentError::Setup(e.to_string()))?;
    let spec = NodeSpec {
        name: config.name.clone(),
        pod_cidr: config.pod_cidr.to_string(),
        port,
        runtime_version: runtime.version().await,
        extra_labels: config.extra_labels.clone(),
    };
    let machine = Machine::read(&config.data_dir).await;
    let recorder = Recorder::new(
        client.clone(),
        &config.name,
        config.runtime == RuntimeKind::Podman,
    );
    let node_uid = loop {
        match node_status::register(&client, &spec).await {
            Ok(uid) => break uid,
            Err(e) => {
                tracing::warn!(node = %config.name, error = %controllers::logs::describe(&e), "node not registered yet");
                tokio::time::sleep(REGISTER_RETRY).await;
            }
        }
    };
    recorder
        .node(Kind::Normal, "Starting", "Starting kubelet.")
        .await;
    tracing::info!(node = %config.name, port, pod_cidr = %config.pod_cidr, "node registered");
    let directory = Arc::new(Directory::default());
    let ctx = Arc::new(Context {
        client: client.clone(),
        runtime: runtime.clone(),
        ipam: Arc::new(ipam),
        node: config.name.clone(),
        pods_dir: config.data_dir.join("pods"),
        image_config,
        recorder: recorder.clone(),
        directory: directory.clone(),
        backoff: Mutex::new(pods::backoff::Backoff::new()),
        poll: match config.runtime {
            RuntimeKind::Podman => Duration::from_secs(1),
            // Simulated containers change only when told to.
            RuntimeKind::Simulated => Duration::from_secs(60),
        },
        probes: config.runtime == RuntimeKind::Podman,
        issue_tokens: config.runtime == RuntimeKind::Podman,
    });
    let io = Arc::new(NodeIo {
        directory,
        runtime,
        podman,
    });
    let mut tasks = JoinSet::new();
    // The node's HTTPS API, when the agent has its TLS configuration; else the port stays
    // bound for `take_endpoint`.
    let endpoint = match config.tls {
        Some(tls) => {
            let state = KubeletApiState::new(io.clone(), config.name.clone(), client.clone());
            tasks.spawn(kubelet_api::serve(listener, tls, state));
            None
        }
        None => Some(KubeletEndpoint {
            listener,
            tls: None,
        }),
    };
    tasks.spawn(follow_image_config);
    tasks.spawn(lease::run(client.clone(), config.name.clone(), node_uid));
    if let Some(dir) = config.storage_dir.clone() {
        tasks.spawn(crate::provisioner::run(
            client.clone(),
            config.name.clone(),
            dir,
        ));
    }
    tasks.spawn(node_status::report(client, spec, machine, recorder));
    tasks.spawn(pods::run(ctx));
    Ok(Agent {
        name: config.name,
        port,
        endpoint: Mutex::new(endpoint),
        io,
        tasks,
        _claim: claim,
    })
}
