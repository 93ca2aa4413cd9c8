//! Node agents from the command line: `oxshift node` (one, or many simulated ones, against
//! the API server of a kubeconfig) and the all-in-one's own node in `oxshift start`.

use std::path::{Path, PathBuf};

use clap::ValueEnum;
use node::network::ipam::{CLUSTER_NETWORK, Cidr};

use crate::BoxError;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RuntimeChoice {
    /// Podman when it is installed and this process is root, else simulated.
    Auto,
    /// Real containers (rootful podman with runc).
    Podman,
    /// Pods that run without containers (as kwok's nodes).
    Simulated,
}

impl RuntimeChoice {
    pub fn resolve(self) -> node::RuntimeKind {
        match self {
            RuntimeChoice::Podman => node::RuntimeKind::Podman,
            RuntimeChoice::Simulated => node::RuntimeKind::Simulated,
            RuntimeChoice::Auto if node::runtime::podman::Podman::available() => {
                node::RuntimeKind::Podman
            }
            RuntimeChoice::Auto => node::RuntimeKind::Simulated,
        }
    }
}

/// The machine's host name, the default node name.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_lowercase())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

fn parse_cidr(text: &str) -> Result<Cidr, String> {
    text.parse()
}

#[derive(clap::Args)]
pub struct NodeArgs {
    /// Credentials (user `system:node:<name>`, group `system:nodes`) and server.
    #[arg(long)]
    kubeconfig: PathBuf,
    /// The Node's name (with `--count`, the names are `<name-prefix><i>`).
    #[arg(long)]
    name: Option<String>,
    #[arg(long, value_enum, default_value = "auto")]
    runtime: RuntimeChoice,
    /// Where the agent keeps its state (podman's storage, pods' volumes and logs, addresses).
    #[arg(long, default_value = "./oxshift-node.local")]
    data_dir: PathBuf,
    /// The kubelet port on 127.0.0.1 (0: any free port; the Node publishes the bound one).
    #[arg(long, default_value_t = 10250)]
    port: u16,
    /// The node's slice of the cluster network 10.128.0.0/14 (with `--count`, the first
    /// node's; the others take the next /23s).
    #[arg(long, value_parser = parse_cidr, default_value = "10.128.2.0/23")]
    pod_cidr: Cidr,
    /// Where the local provisioner (`oxshift.io/local-path`) keeps this node's volumes
    /// (none: the node provisions nothing; with `--count`, one directory per node under it).
    #[arg(long)]
    storage_dir: Option<PathBuf>,
    /// How many nodes to run in this process (simulated ones only, for scale tests).
    #[arg(long, default_value_t = 1)]
    count: u32,
    /// The names of `--count` nodes: this prefix and their index.
    #[arg(long, default_value = "sim-")]
    name_prefix: String,
    /// The kubelet port's serving certificate (PEM), with `--tls-private-key-file`.
    #[arg(long, requires_all = ["tls_private_key_file", "client_ca_file"])]
    tls_cert_file: Option<PathBuf>,
    #[arg(long, requires = "tls_cert_file")]
    tls_private_key_file: Option<PathBuf>,
    /// The CA whose client certificates the kubelet port accepts (the cluster CA).
    #[arg(long, requires = "tls_cert_file")]
    client_ca_file: Option<PathBuf>,
}

fn read(path: &Path) -> Result<String, BoxError> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()).into())
}

/// The /23 `i` slices after `first`.
fn nth_slice(first: Cidr, i: u32) -> Result<Cidr, BoxError> {
    let base = (u32::from(first.network) - u32::from(CLUSTER_NETWORK.0)) >> 9;
    let cidr = Cidr::node_slice(base + i);
    if u32::from(cidr.network) >> (32 - CLUSTER_NETWORK.1)
        != u32::from(CLUSTER_NETWORK.0) >> (32 - CLUSTER_NETWORK.1)
    {
        return Err(format!("{i} nodes after {first} do not fit in the cluster network").into());
    }
    Ok(cidr)
}

/// `oxshift node`: runs the agents until SIGINT or SIGTERM.
pub async fn run(args: NodeArgs) -> Result<(), BoxError> {
    let runtime = args.runtime.resolve();
    if args.count > 1 && runtime != node::RuntimeKind::Simulated {
        return Err("--count runs simulated nodes only: add --runtime simulated".into());
    }
    let tls = match (
        &args.tls_cert_file,
        &args.tls_private_key_file,
        &args.client_ca_file,
    ) {
        (Some(cert), Some(key), Some(ca)) => Some(node::kubelet_api::tls::server_config(
            &read(ca)?,
            &read(cert)?,
            &read(key)?,
        )?),
        _ => None,
    };
    let client = controllers::client(&args.kubeconfig).await?;
    let mut agents = Vec::new();
    for i in 0..args.count {
        let name = match (&args.name, args.count) {
            (Some(name), 1) => name.clone(),
            (None, 1) => host_name(),
            _ => format!("{}{i}", args.name_prefix),
        };
        let port = match args.port {
            0 => 0,
            p => p
                .checked_add(u16::try_from(i)?)
                .ok_or("--port and --count run past port 65535")?,
        };
        let storage_dir = match args.count {
            1 => args.storage_dir.clone(),
            _ => args.storage_dir.as_ref().map(|d| d.join(&name)),
        };
        let config = node::AgentConfig {
            data_dir: if args.count == 1 {
                args.data_dir.clone()
            } else {
                args.data_dir.join(&name)
            },
            name,
            runtime,
            pod_cidr: nth_slice(args.pod_cidr, i)?,
            port,
            tls: tls.clone(),
            extra_labels: vec![("node-role.kubernetes.io/worker".into(), String::new())],
            storage_dir,
        };
        agents.push(node::start(client.clone(), config).await?);
    }
    tracing::info!(nodes = agents.len(), "Oxshift node agents running");
    crate::terminated().await;
    tracing::info!("shutting down");
    Ok(())
}

/// The all-in-one's own node settings (`oxshift start`).
#[derive(clap::Args)]
pub struct AllInOneNode {
    /// Run a node agent in this process, so pods really run (`--node=false`: none).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub node: bool,
    /// The node's name (default: the host name).
    #[arg(long)]
    pub node_name: Option<String>,
    #[arg(long, value_enum, default_value = "auto")]
    pub node_runtime: RuntimeChoice,
    /// The node's kubelet port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 10250)]
    pub node_port: u16,
    /// The node's slice of the cluster network.
    #[arg(long, value_parser = parse_cidr, default_value = "10.128.2.0/23")]
    pub node_pod_cidr: Cidr,
    /// Where the node's local provisioner (`oxshift.io/local-path`, the default StorageClass
    /// `local`) keeps volumes (default: `<data-dir>/storage-volumes`).
    #[arg(long)]
    pub storage_dir: Option<PathBuf>,
}

/// Starts the all-in-one's node with credentials from the cluster CA: a client certificate
/// for `system:node:<name>` in `system:nodes`, a serving certificate for 127.0.0.1 and the
/// name. Returns once the agent runs; its loops stay in a task of their own.
pub fn start_in_process(
    settings: &AllInOneNode,
    pki: &auth::pki::Pki,
    server: &str,
    data_dir: &Path,
) -> Result<(), BoxError> {
    let name = settings.node_name.clone().unwrap_or_else(host_name);
    let user = format!("system:node:{name}");
    let file = format!("node-{name}");
    let spec = auth::pki::ClientSpec {
        file: &file,
        user: &user,
        groups: &[apiserver::authz::bootstrap_policy::NODES_GROUP],
    };
    let kubeconfig = data_dir.join(format!("{file}.kubeconfig"));
    crate::write_kubeconfig(pki, server, &kubeconfig, &spec)?;
    let serving = pki.serving_for(
        &format!("{file}-serving"),
        &["127.0.0.1".to_string(), name.clone()],
    )?;
    // The chain carries the CA after the node's certificate, as the API server's does.
    let chain = format!("{}{}", serving.cert_pem, pki.ca.cert_pem);
    let tls = node::kubelet_api::tls::server_config(&pki.ca.cert_pem, &chain, &serving.key_pem)?;
    let runtime = settings.node_runtime.resolve();
    let config = node::AgentConfig {
        name,
        runtime,
        data_dir: data_dir.join("node"),
        storage_dir: Some(
            settings
                .storage_dir
                .clone()
                .unwrap_or_else(|| data_dir.join("storage-volumes")),
        ),
        pod_cidr: settings.node_pod_cidr,
        port: settings.node_port,
        tls: Some(tls),
        // The all-in-one's node is its control plane too, as MicroShift's and SNO's are.
        extra_labels: vec![
            (
                "node-role.kubernetes.io/control-plane".into(),
                String::new(),
            ),
            ("node-role.kubernetes.io/master".into(), String::new()),
            ("node-role.kubernetes.io/worker".into(), String::new()),
        ],
    };
    tokio::spawn(async move {
        let client = match controllers::client(&kubeconfig).await {
            Ok(c) => c,
            Err(e) => return tracing::error!(error = %e, "node agent not started"),
        };
        match node::start(client, config).await {
            Ok(mut agent) => agent.wait().await,
            Err(e) => tracing::error!(error = %e, "node agent not started"),
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_nodes_take_the_next_slices() {
        let first: Cidr = "10.128.2.0/23".parse().unwrap_or(Cidr::node_slice(1));
        assert_eq!(nth_slice(first, 0).ok(), Some(first));
        assert_eq!(
            nth_slice(first, 99).ok().map(|c| c.to_string()).as_deref(),
            Some("10.128.200.0/23")
        );
        assert!(nth_slice(first, 600).is_err());
    }
}
