//! `oxshift`: the Oxshift control plane.
//!
//! `oxshift start` runs it all-in-one on the embedded store: it creates the PKI and an admin
//! kubeconfig on first start, and serves the API over HTTPS. `oxshift apiserver` runs the API
//! server alone; several of them on one etcd (sharing one data directory for the PKI) serve
//! the same data. `oxshift start` also runs a node agent, so pods really run; `oxshift node`
//! runs node agents alone.

mod ingress_router;
mod kubeconfig;
mod node_agent;
mod registry;

/// mimalloc: faster than glibc's malloc across the server's threads, and it returns what a
/// burst took. Built with `no_thp`: huge pages would make an idle server hold whole 2 MiB pages.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use storage::Store;

#[derive(Parser)]
#[command(
    name = "oxshift",
    version,
    about = "An OpenShift-compatible control plane"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the control plane all-in-one.
    Start(StartArgs),
    /// Run the controllers alone, against the API server of a kubeconfig.
    ControllerManager(ControllerManagerArgs),
    /// Run the scheduler alone, against the API server of a kubeconfig
    /// (`<data-dir>/scheduler.kubeconfig` of `oxshift start`).
    Scheduler(SchedulerArgs),
    /// Run an API server replica (with `--storage etcd`, any number share one etcd and one
    /// PKI directory; the first to start creates the PKI and the admin kubeconfig).
    Apiserver(StartArgs),
    /// Run a node agent (or, with `--count`, many simulated ones) against the API server of a
    /// kubeconfig.
    Node(node_agent::NodeArgs),
    /// Run a router (serving Routes) against the API server of a kubeconfig
    /// (`<data-dir>/router.kubeconfig` of `oxshift start`).
    Router(ingress_router::RouterArgs),
}

#[derive(clap::Args)]
struct ControllerManagerArgs {
    /// Credentials and server (`<data-dir>/controller-manager.kubeconfig` of `oxshift start`).
    #[arg(long)]
    kubeconfig: PathBuf,
    /// How long the leader's Lease holds without renewal (`15s`); a standby takes over
    /// within this much after the leader dies.
    #[arg(long, value_parser = seconds, default_value = "15s")]
    leader_elect_lease_duration: std::time::Duration,
    /// How long a node may go without a heartbeat before it is marked lost (`50s`).
    #[arg(long, value_parser = seconds, default_value = "50s")]
    node_monitor_grace_period: std::time::Duration,
    /// How often tags imported with `--scheduled` are imported again.
    #[arg(long, value_parser = seconds, default_value = "900s")]
    scheduled_image_import_interval: std::time::Duration,
    #[command(flatten)]
    service_ca: ServiceCaArgs,
    /// The CA certificate (PEM) the CSR signer signs with (`<data-dir>/pki/ca.crt` of
    /// `oxshift start`); without it and its key, no request is signed.
    #[arg(long, requires = "cluster_signing_key_file")]
    cluster_signing_cert_file: Option<PathBuf>,
    /// That CA's private key (PEM, `<data-dir>/pki/ca.key`).
    #[arg(long, requires = "cluster_signing_cert_file")]
    cluster_signing_key_file: Option<PathBuf>,
    #[command(flatten)]
    cluster_signing: ClusterSigningArgs,
}

/// The CSR signer's limit.
#[derive(clap::Args)]
struct ClusterSigningArgs {
    /// The longest certificate the CSR signer issues (a year); requests may ask for less.
    #[arg(long, value_parser = seconds, default_value = "31536000s")]
    cluster_signing_duration: std::time::Duration,
}

/// The service CA's lifetimes (upstream's by default; shorter to watch renewals and
/// rotations happen).
#[derive(clap::Args)]
struct ServiceCaArgs {
    /// How long a service CA signer is valid (790 days).
    #[arg(long, value_parser = seconds, default_value = "68256000s")]
    service_ca_lifetime: std::time::Duration,
    /// A signer with less validity left is rotated; the one it replaces stays trusted
    /// (395 days).
    #[arg(long, value_parser = seconds, default_value = "34128000s")]
    service_ca_minimum_trust: std::time::Duration,
    /// How long a service serving certificate is valid (730 days).
    #[arg(long, value_parser = seconds, default_value = "63072000s")]
    service_serving_cert_lifetime: std::time::Duration,
    /// A serving certificate with less validity left is made again (an hour).
    #[arg(long, value_parser = seconds, default_value = "3600s")]
    service_serving_cert_minimum_left: std::time::Duration,
}

impl ServiceCaArgs {
    fn lifetimes(&self) -> controllers::service_ca::certs::Lifetimes {
        controllers::service_ca::certs::Lifetimes {
            ca: self.service_ca_lifetime,
            ca_minimum_trust: self.service_ca_minimum_trust,
            serving: self.service_serving_cert_lifetime,
            serving_minimum_left: self.service_serving_cert_minimum_left,
        }
    }
}

#[derive(clap::Args)]
struct SchedulerArgs {
    /// Credentials and server (`<data-dir>/scheduler.kubeconfig` of `oxshift start`).
    #[arg(long)]
    kubeconfig: PathBuf,
    /// How long the leader's Lease (`kube-system/kube-scheduler`) holds without renewal.
    #[arg(long, value_parser = seconds, default_value = "15s")]
    leader_elect_lease_duration: std::time::Duration,
}

/// A duration in seconds, written `15s` or `15`.
fn seconds(text: &str) -> Result<std::time::Duration, String> {
    text.strip_suffix('s')
        .unwrap_or(text)
        .parse::<u64>()
        .ok()
        .filter(|s| *s > 0)
        .map(std::time::Duration::from_secs)
        .ok_or_else(|| format!("{text:?} is not a whole number of seconds such as 15s"))
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StorageKind {
    /// The embedded store, under the data directory.
    Embedded,
    /// An etcd cluster (`--etcd-servers`).
    Etcd,
}

#[derive(clap::Args)]
struct StartArgs {
    /// Where the store, the PKI and the admin kubeconfig live.
    #[arg(long, default_value = "./oxshift.local")]
    data_dir: PathBuf,
    /// Address to serve HTTPS on; with port 0 the system picks a free port, and the server
    /// reports the address it bound (see `--listen-address-file`).
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// Where to write the address the server bound, once it is bound and the kubeconfigs
    /// name it. The server that writes the admin kubeconfig also writes
    /// `<data-dir>/listen-address`; replicas sharing a data directory report here.
    #[arg(long)]
    listen_address_file: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "embedded")]
    storage: StorageKind,
    /// etcd endpoints, comma separated (with `--storage etcd`).
    #[arg(long, value_delimiter = ',')]
    etcd_servers: Vec<String>,
    /// Extra names (host names or IPs) for the serving certificate.
    #[arg(long, value_delimiter = ',')]
    public_names: Vec<String>,
    /// A serving certificate (PEM chain) to use instead of the generated one, e.g. for
    /// public host names; with `--tls-private-key-file`.
    #[arg(long, requires = "tls_private_key_file")]
    tls_cert_file: Option<PathBuf>,
    /// The private key of `--tls-cert-file`.
    #[arg(long, requires = "tls_cert_file")]
    tls_private_key_file: Option<PathBuf>,
    /// An htpasswd file (bcrypt, $apr1$ or {SHA} entries) of the users who may `oc login`; re-read
    /// when it changes.
    #[arg(long)]
    htpasswd: Option<PathBuf>,
    /// DEVELOPMENT ONLY: let `oc login` accept any user name with any password.
    #[arg(long)]
    allow_all_passwords: bool,
    /// The OAuth server's configuration (identity providers with their mapping methods,
    /// grant method, token lifetimes), in the shape of OpenShift's `oauthConfig`.
    #[arg(long)]
    oauth_config: Option<PathBuf>,
    /// Run the controllers in this process (`oxshift start` only; they still work through the
    /// API and take the leader Lease). `--controllers=false` leaves them to separate
    /// `oxshift controller-manager` processes.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    controllers: bool,
    /// How long a node may go without a heartbeat before the in-process controllers mark it
    /// lost (`50s`).
    #[arg(long, value_parser = seconds, default_value = "50s")]
    node_monitor_grace_period: std::time::Duration,
    /// How often tags imported with `--scheduled` are imported again.
    #[arg(long, value_parser = seconds, default_value = "900s")]
    scheduled_image_import_interval: std::time::Duration,
    #[command(flatten)]
    service_ca: ServiceCaArgs,
    #[command(flatten)]
    cluster_signing: ClusterSigningArgs,
    /// The deadline of requests that are not long-running (`?timeout=` may ask for less).
    #[arg(long, value_parser = seconds, default_value = "60s")]
    request_timeout: std::time::Duration,
    /// Read-only requests served at once; more are refused with 429 and `Retry-After`.
    #[arg(long, default_value_t = 400)]
    max_requests_inflight: usize,
    /// Mutating requests served at once; more are refused with 429 and `Retry-After`.
    #[arg(long, default_value_t = 200)]
    max_mutating_requests_inflight: usize,
    /// Admission plugins to switch off, comma separated (upstream's names).
    #[arg(long, value_delimiter = ',')]
    disable_admission_plugins: Vec<String>,
    /// The admission plugins' configuration: an `AdmissionConfiguration`
    /// (apiserver.config.k8s.io/v1) whose plugins PodSecurity (`PodSecurityConfiguration`) and
    /// PodNodeSelector (`podNodeSelectorPluginConfig`) are configured.
    #[arg(long)]
    admission_control_config_file: Option<PathBuf>,
    /// Connections open at once from one client address.
    #[arg(long, default_value_t = 16_384)]
    max_connections_per_client: usize,
    /// How long requests in flight may take to finish when the server stops.
    #[arg(long, value_parser = seconds, default_value = "60s")]
    shutdown_grace_period: std::time::Duration,
    /// The audit policy (`audit.k8s.io/v1` `Policy`, YAML or JSON); without it, with
    /// `--audit-log`, OpenShift's `Default` profile.
    #[arg(long, alias = "audit-policy-file")]
    audit_policy: Option<PathBuf>,
    /// Where audit events go, one JSON object per line (`-`: standard output); none: no
    /// auditing.
    #[arg(long, alias = "audit-log-path")]
    audit_log: Option<PathBuf>,
    /// Megabytes of audit log before it is rotated (0: 100).
    #[arg(long, default_value_t = 0)]
    audit_log_maxsize: u64,
    /// Rotated audit logs kept (0: all).
    #[arg(long, default_value_t = 0)]
    audit_log_maxbackup: usize,
    /// Days a rotated audit log is kept, by the time in its name (0: no limit).
    #[arg(long, default_value_t = 0)]
    audit_log_maxage: u64,
    /// The all-in-one's node (`oxshift start` only).
    #[command(flatten)]
    node: node_agent::AllInOneNode,
    /// The all-in-one's integrated registry (`oxshift start` only).
    #[command(flatten)]
    registry: registry::RegistryArgs,
    /// Routes' domain and the all-in-one's router.
    #[command(flatten)]
    router: ingress_router::AllInOneRouter,
}

/// The OAuth server's setup from the flags: `--htpasswd`, `--allow-all-passwords`, then the
/// providers and settings of `--oauth-config`; browser sessions signed with a key kept in
/// the data directory.
fn oauth_config(
    args: &StartArgs,
    issuer: String,
) -> Result<apiserver::oauth::OAuthConfig, BoxError> {
    let mut oauth = apiserver::oauth::OAuthConfig::new(issuer);
    if let Some(file) = &args.htpasswd {
        oauth = oauth.with_htpasswd(file);
    }
    if args.allow_all_passwords {
        tracing::warn!("--allow-all-passwords: any password logs any user in");
        oauth = oauth.with_allow_all();
    }
    if let Some(file) = &args.oauth_config {
        oauth = oauth.with_file(file)?;
    }
    oauth.session_key = apiserver::oauth::session::SessionKey::load_or_create(
        &args.data_dir.join("pki").join("oauth-session.key"),
    )?;
    Ok(oauth)
}

/// The admission plugins from `--disable-admission-plugins` and
/// `--admission-control-config-file`.
fn admission_config(args: &StartArgs) -> Result<apiserver::admission::Config, BoxError> {
    let config = apiserver::admission::Config::disabling(&args.disable_admission_plugins)?;
    Ok(match &args.admission_control_config_file {
        Some(file) => config
            .with_config_file(file)
            .map_err(|e| format!("failed to initialize admission: {e}"))?,
        None => config,
    })
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(controllers::quiet_client_logs(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        ))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    // A router asked for one thread runs everything on it (no work stealing to pay for).
    let threads = match &cli.command {
        Command::Router(args) => args.threads(),
        _ => None,
    };
    let runtime = match threads {
        Some(1) => tokio::runtime::Builder::new_current_thread(),
        Some(n) => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(n);
            builder
        }
        None => tokio::runtime::Builder::new_multi_thread(),
    }
    .enable_all()
    .build();
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    runtime.block_on(run(cli));
}

async fn run(cli: Cli) {
    let result = match cli.command {
        Command::Start(args) => serve(args, Kubeconfig::Write).await,
        Command::Apiserver(args) => serve(args, Kubeconfig::IfMissing).await,
        Command::ControllerManager(args) => controller_manager(args).await,
        Command::Scheduler(args) => scheduler(args).await,
        Command::Router(args) => ingress_router::run(args).await,
        Command::Node(args) => node_agent::run(args).await,
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn open_store(args: &StartArgs) -> Result<Arc<dyn Store>, BoxError> {
    match args.storage {
        StorageKind::Embedded => {
            let dir = args.data_dir.join("storage");
            Ok(Arc::new(storage::RedbStore::open(
                &dir,
                storage::RedbConfig::default(),
            )?))
        }
        StorageKind::Etcd => etcd_store(&args.etcd_servers).await,
    }
}

#[cfg(feature = "etcd")]
async fn etcd_store(servers: &[String]) -> Result<Arc<dyn Store>, BoxError> {
    if servers.is_empty() {
        return Err("--storage etcd needs --etcd-servers".into());
    }
    Ok(Arc::new(storage::EtcdStore::connect(servers).await?))
}

#[cfg(not(feature = "etcd"))]
async fn etcd_store(_: &[String]) -> Result<Arc<dyn Store>, BoxError> {
    Err("this oxshift was built without etcd support; rebuild with `--features etcd`".into())
}

/// Names the serving certificate is valid for.
fn serving_names(listen: &SocketAddr, extra: &[String]) -> Vec<String> {
    let mut names = vec!["127.0.0.1".to_string(), "localhost".to_string()];
    if !listen.ip().is_unspecified() {
        names.push(listen.ip().to_string());
    }
    if let Ok(host) = std::fs::read_to_string("/etc/hostname") {
        names.push(host.trim().to_string());
    }
    names.extend(extra.iter().cloned());
    names.retain(|n| !n.is_empty());
    names.dedup();
    names
}

/// Writes a kubeconfig with a client certificate for `user` in `groups`.
fn write_kubeconfig(
    pki: &auth::pki::Pki,
    server: &str,
    path: &Path,
    spec: &auth::pki::ClientSpec<'_>,
) -> Result<(), BoxError> {
    let cert = pki.client(spec)?;
    let cluster = server.trim_start_matches("https://").replace('.', "-");
    kubeconfig::Kubeconfig {
        server,
        ca_pem: &pki.ca.cert_pem,
        cluster: &cluster,
        user: spec.user,
        client_cert_pem: &cert.cert_pem,
        client_key_pem: &cert.key_pem,
        namespace: "default",
    }
    .write(path)?;
    Ok(())
}

const ADMIN: auth::pki::ClientSpec<'static> = auth::pki::ClientSpec {
    file: "admin",
    user: "system:admin",
    groups: &["system:masters"],
};

/// The controller manager's own identity (bound to its role by the default policy).
const CONTROLLER_MANAGER: auth::pki::ClientSpec<'static> = auth::pki::ClientSpec {
    file: "controller-manager",
    user: apiserver::authz::bootstrap_policy::CONTROLLER_MANAGER,
    groups: &[],
};

/// The scheduler's own identity (bound to upstream's `system:kube-scheduler` role).
const SCHEDULER: auth::pki::ClientSpec<'static> = auth::pki::ClientSpec {
    file: "scheduler",
    user: apiserver::authz::bootstrap_policy::SCHEDULER,
    groups: &[],
};

/// The API server's identity towards the nodes' APIs (bound to `system:kubelet-api-admin` by
/// the default policy).
const KUBELET_CLIENT: auth::pki::ClientSpec<'static> = auth::pki::ClientSpec {
    file: "kube-apiserver-kubelet-client",
    user: apiserver::authz::bootstrap_policy::KUBELET_CLIENT,
    groups: &[],
};

/// The file under the data directory that holds the address the server bound.
const LISTEN_ADDRESS: &str = "listen-address";

/// Writes `address` (and a newline) to `path` atomically: a reader sees all of it or the
/// previous file.
fn write_listen_address(path: &Path, address: SocketAddr) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, format!("{address}\n"))?;
    std::fs::rename(&tmp, path)
}

/// Whether to (re)write the admin kubeconfig on start.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kubeconfig {
    Write,
    /// Replicas leave the first one's kubeconfig (and its server URL) alone.
    IfMissing,
}

async fn serve(args: StartArgs, kubeconfig_mode: Kubeconfig) -> Result<(), BoxError> {
    // The data directory holds the store, the CA key and the admin credentials: owner only.
    storage::create_private_dir(&args.data_dir)?;
    // Bound before anything names the server: with port 0 only the bound listener knows the
    // port, and the kubeconfigs, the OAuth issuer and `default/kubernetes` must carry it.
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let listen = listener.local_addr()?;
    let store = open_store(&args).await?;
    tokio::spawn(storage::Compactor::new(storage::CompactionPolicy::default()).run(store.clone()));

    let mut pki = auth::pki::Pki::ensure(
        &args.data_dir.join("pki"),
        &serving_names(&listen, &args.public_names),
    )?;
    if let (Some(cert), Some(key)) = (&args.tls_cert_file, &args.tls_private_key_file) {
        pki.use_serving_files(cert, key)?;
    }
    let host = match listen.ip() {
        ip if ip.is_unspecified() => "127.0.0.1".to_string(),
        ip => ip.to_string(),
    };
    let server = format!("https://{host}:{}", listen.port());
    let kubeconfig = args.data_dir.join("admin.kubeconfig");
    let writes_kubeconfig = kubeconfig_mode == Kubeconfig::Write || !kubeconfig.exists();
    if writes_kubeconfig {
        write_kubeconfig(&pki, &server, &kubeconfig, &ADMIN)?;
    }
    let controllers_kubeconfig = args.data_dir.join("controller-manager.kubeconfig");
    if kubeconfig_mode == Kubeconfig::Write || !controllers_kubeconfig.exists() {
        write_kubeconfig(&pki, &server, &controllers_kubeconfig, &CONTROLLER_MANAGER)?;
    }
    let scheduler_kubeconfig = args.data_dir.join("scheduler.kubeconfig");
    if kubeconfig_mode == Kubeconfig::Write || !scheduler_kubeconfig.exists() {
        write_kubeconfig(&pki, &server, &scheduler_kubeconfig, &SCHEDULER)?;
    }
    let router_kubeconfig = args.data_dir.join("router.kubeconfig");
    if kubeconfig_mode == Kubeconfig::Write || !router_kubeconfig.exists() {
        write_kubeconfig(&pki, &server, &router_kubeconfig, &ingress_router::ROUTER)?;
    }
    // Reported once the kubeconfigs name this address, so that a reader of the file may use
    // them at once.
    if writes_kubeconfig {
        write_listen_address(&args.data_dir.join(LISTEN_ADDRESS), listen)?;
    }
    if let Some(file) = &args.listen_address_file {
        write_listen_address(file, listen)?;
    }
    tracing::info!(address = %listen, "API server address bound");

    let tokens = auth::service_account_tokens::ServiceAccountTokens::load_or_create(
        &args.data_dir.join("pki"),
    )?;
    let kubelet_client = pki.client(&KUBELET_CLIENT)?;
    let node_client = apiserver::node_client::NodeClient::new(
        &pki.ca.cert_pem,
        &kubelet_client.cert_pem,
        &kubelet_client.key_pem,
    )?;
    let front_proxy = pki.front_proxy()?;
    let api = apiserver::ApiServer::new(
        api::Scheme::builtin(),
        store,
        format!("{host}:{}", listen.port()),
    )
    .with_front_proxy(apiserver::aggregation::FrontProxy {
        client: apiserver::aggregation::ClientCert {
            cert_pem: front_proxy.client.cert_pem,
            key_pem: front_proxy.client.key_pem,
        },
        ca_pem: front_proxy.ca.cert_pem,
        client_ca_pem: pki.ca.cert_pem.clone(),
    })
    .with_service_account_tokens(tokens)
    .with_node_client(node_client)
    .with_apps_domain(args.router.apps_domain.clone())
    .with_admission(admission_config(&args)?)
    .with_oauth(oauth_config(&args, server.clone())?)
    .with_limits(apiserver::Limits {
        request_timeout: args.request_timeout,
        max_read_only: args.max_requests_inflight,
        max_mutating: args.max_mutating_requests_inflight,
    })
    .with_audit(apiserver::audit::Audit::from_options(
        &apiserver::audit::Options {
            policy_file: args.audit_policy.clone(),
            log_path: args.audit_log.clone(),
            rotation: apiserver::audit::Rotation {
                max_size_mb: args.audit_log_maxsize,
                max_backups: args.audit_log_maxbackup,
                max_age_days: args.audit_log_maxage,
            },
        },
    )?);
    let integrated_registry = kubeconfig_mode == Kubeconfig::Write;
    let (api, registry) = match integrated_registry {
        true => registry::prepare(&args.registry, &args.data_dir, api)?,
        false => (api, None),
    };
    let api = Arc::new(api);
    api.bootstrap().await?;
    api.start_custom_resources();
    api.start_aggregation();
    let registry = match registry {
        Some(prepared) => Some(prepared.start(&api, &server).await?),
        None => None,
    };
    tracing::info!(%server, kubeconfig = %kubeconfig.display(), "Oxshift API server listening");
    let mut in_process = None;
    if kubeconfig_mode == Kubeconfig::Write && args.controllers {
        // All-in-one: the controllers run in this process, still through the API over HTTPS,
        // and only while this process leads.
        let client = controllers::client(&controllers_kubeconfig).await?;
        let election = controllers::leader::Election::new(None);
        let (c, e) = (client.clone(), election.clone());
        let options = controllers::Options {
            node_monitor_grace_period: args.node_monitor_grace_period,
            scheduled_image_import_interval: args.scheduled_image_import_interval,
            root_ca: controllers::root_ca(&controllers_kubeconfig),
            service_ca_lifetimes: args.service_ca.lifetimes(),
            // The in-process manager signs with the cluster CA, as it is handed to
            // kube-controller-manager (its files, read by the manager itself).
            cluster_signing: Some(controllers::csr_signing::SigningCa::from_files(
                &args.data_dir.join("pki").join("ca.crt"),
                &args.data_dir.join("pki").join("ca.key"),
                args.cluster_signing.cluster_signing_duration,
            )?),
        };
        tokio::spawn(async move {
            loop {
                controllers::run_elected(c.clone(), &e, options.clone()).await;
            }
        });
        in_process = Some((client, election));
        // The scheduler, with its own identity and Lease, as kube-scheduler beside the managers.
        let client = controllers::client(&scheduler_kubeconfig).await?;
        let election =
            controllers::leader::Election::new(None).for_lease(controllers::scheduler::LEASE);
        tokio::spawn(async move {
            loop {
                controllers::run_scheduler_elected(client.clone(), &election).await;
            }
        });
    }
    if kubeconfig_mode == Kubeconfig::Write && args.node.node {
        node_agent::start_in_process(&args.node, &pki, &server, &args.data_dir)?;
    }
    if kubeconfig_mode == Kubeconfig::Write && args.router.router {
        ingress_router::start_in_process(&args.router, &router_kubeconfig).await?;
    }
    let closing = api.clone();
    let shutdown = async move {
        terminated().await;
        tracing::info!("shutting down");
        // Readiness fails and watches end first; requests in flight then finish.
        closing.begin_shutdown();
        // While the API still answers: a standby manager may take over at once.
        if let Some((client, election)) = &in_process {
            let release = election.release(client);
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), release).await;
        }
        if let Some(registry) = registry {
            registry.stop().await;
        }
    };
    apiserver::http::serve::serve_tls(
        listener,
        Arc::new(pki.server_config()?),
        api.clone().router(),
        shutdown,
        apiserver::http::serve::Limits {
            max_connections_per_client: args.max_connections_per_client,
            shutdown_grace: args.shutdown_grace_period,
            ..Default::default()
        },
    )
    .await;
    api.flush_audit().await;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
pub(crate) async fn terminated() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async {
            match term.as_mut() {
                Some(t) => drop(t.recv().await),
                None => std::future::pending().await,
            }
        } => {}
    }
}

async fn controller_manager(args: ControllerManagerArgs) -> Result<(), BoxError> {
    let client = controllers::client(&args.kubeconfig).await?;
    let cluster_signing = match (
        &args.cluster_signing_cert_file,
        &args.cluster_signing_key_file,
    ) {
        (Some(cert), Some(key)) => Some(controllers::csr_signing::SigningCa::from_files(
            cert,
            key,
            args.cluster_signing.cluster_signing_duration,
        )?),
        _ => None,
    };
    let election = controllers::leader::Election::new(Some(args.leader_elect_lease_duration));
    tracing::info!(identity = %election.identity, "Oxshift controller manager running");
    tokio::select! {
        // As upstream's managers, one that lost its lease exits (to be restarted as a standby).
        _ = controllers::run_elected(client.clone(), &election, controllers::Options {
            node_monitor_grace_period: args.node_monitor_grace_period,
            scheduled_image_import_interval: args.scheduled_image_import_interval,
            root_ca: controllers::root_ca(&args.kubeconfig),
            service_ca_lifetimes: args.service_ca.lifetimes(),
            cluster_signing,
        }) => Err("leader election lost".into()),
        _ = terminated() => {
            tracing::info!("shutting down");
            election.release(&client).await;
            Ok(())
        }
    }
}

async fn scheduler(args: SchedulerArgs) -> Result<(), BoxError> {
    let client = controllers::client(&args.kubeconfig).await?;
    let election = controllers::leader::Election::new(Some(args.leader_elect_lease_duration))
        .for_lease(controllers::scheduler::LEASE);
    tracing::info!(identity = %election.identity, "Oxshift scheduler running");
    tokio::select! {
        _ = controllers::run_scheduler_elected(client.clone(), &election) => Err("leader election lost".into()),
        _ = terminated() => {
            tracing::info!("shutting down");
            election.release(&client).await;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listen_address_is_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LISTEN_ADDRESS);
        write_listen_address(&path, "127.0.0.1:40001".parse().unwrap()).unwrap();
        write_listen_address(&path, "127.0.0.1:40002".parse().unwrap()).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "127.0.0.1:40002\n");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [LISTEN_ADDRESS]);
    }
}
