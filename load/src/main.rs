//! `oxshift-load`: drives any Kubernetes-compatible API server (Oxshift, kube-apiserver) with
//! the workloads of the project's performance targets and prints what it measured.
//!
//! It is single-threaded on purpose: it shares the machine with the server under test and must
//! not be the bottleneck.

mod client;
mod process;
mod router_bench;
mod stats;
mod workloads;

use std::sync::Arc;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "oxshift-load", version, about)]
struct Cli {
    /// Credentials and server (client certificate or token).
    #[arg(
        long,
        env = "KUBECONFIG",
        global = true,
        default_value = "oxshift.local/admin.kubeconfig"
    )]
    kubeconfig: String,
    /// Overrides the kubeconfig's server URL.
    #[arg(long, global = true)]
    server: Option<String>,
    /// A bearer token instead of the kubeconfig's credentials.
    #[arg(long, global = true)]
    token: Option<String>,
    /// The server's process id, to sample its CPU and memory.
    #[arg(long, global = true)]
    server_pid: Option<u32>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// POST 1 KiB ConfigMaps.
    Create {
        #[arg(long, default_value_t = 20_000)]
        count: usize,
        #[arg(long, default_value_t = 64)]
        clients: usize,
    },
    /// POST pods (no node named): the cost of a pod write, admission included.
    PodCreate {
        #[arg(long, default_value_t = 5_000)]
        count: usize,
        #[arg(long, default_value_t = 32)]
        clients: usize,
        /// An existing namespace to create the pods in (names `p-<i>` must be free there),
        /// instead of a fresh one allocated as the namespace security controller allocates.
        #[arg(long)]
        namespace: Option<String>,
    },
    /// GET ConfigMaps by name.
    Get {
        #[arg(long, default_value_t = 1000)]
        objects: usize,
        #[arg(long, default_value_t = 50_000)]
        count: usize,
        #[arg(long, default_value_t = 32)]
        clients: usize,
    },
    /// GET then PUT ConfigMaps (optimistic concurrency; 409s are counted).
    Update {
        #[arg(long, default_value_t = 1000)]
        objects: usize,
        #[arg(long, default_value_t = 20_000)]
        count: usize,
        #[arg(long, default_value_t = 16)]
        clients: usize,
    },
    /// LIST a namespace of `objects` ConfigMaps, whole and in pages of 500.
    List {
        #[arg(long, default_value_t = 1000)]
        objects: usize,
        #[arg(long, default_value_t = 20)]
        repeat: usize,
    },
    /// Watchers opened from a LIST's resourceVersion while one writer creates objects.
    Watch {
        #[arg(long, default_value_t = 1000)]
        watchers: usize,
        #[arg(long, default_value_t = 500)]
        events: usize,
        /// Creates per second.
        #[arg(long, default_value_t = 50)]
        rate: u32,
    },
    /// Delete one owner of `dependents` ConfigMaps; time until the garbage collector has
    /// deleted them all (needs the controllers).
    Gc {
        #[arg(long, default_value_t = 10_000)]
        dependents: usize,
    },
    /// Delete a namespace of `objects` ConfigMaps; time until it is gone (needs the
    /// controllers).
    NamespaceDeletion {
        #[arg(long, default_value_t = 10_000)]
        objects: usize,
    },
    /// `clients` clients each repeating a write for `seconds`; counts what is accepted and
    /// what is refused (429), and times the accepted writes.
    Overload {
        #[arg(long, value_enum, default_value = "create")]
        op: workloads::Op,
        #[arg(long, default_value_t = 400)]
        clients: usize,
        #[arg(long, default_value_t = 30)]
        seconds: u64,
        /// ConfigMaps patched by `--op patch`.
        #[arg(long, default_value_t = 10_000)]
        objects: usize,
        /// After a 429, wait as its Retry-After says (client-go does) instead of at once.
        #[arg(long)]
        honor_retry_after: bool,
    },
    /// `nodes` ready Node objects and `pods` pods created at once; bindings per second until
    /// the scheduler has bound them all (needs the scheduler).
    Scheduling {
        #[arg(long, default_value_t = 100)]
        nodes: usize,
        #[arg(long, default_value_t = 5000)]
        pods: usize,
    },
    /// ImageStreamMappings (a tag update with a new image each) with `streams` streams
    /// present, one client; latency percentiles.
    ImageMappings {
        #[arg(long, default_value_t = 1000)]
        streams: usize,
        #[arg(long, default_value_t = 5000)]
        count: usize,
    },
    /// DeploymentConfigs and Deployments following image stream tags (half each), one
    /// ImageStreamMapping per tag: mapping → new RC/ReplicaSet percentiles; then `fan`
    /// followers of one tag: mapping → all rolled (needs the controllers).
    Triggers {
        #[arg(long, default_value_t = 100)]
        tags: usize,
        #[arg(long, default_value_t = 1000)]
        followers: usize,
        #[arg(long, default_value_t = 100)]
        fan: usize,
        /// Replicas of each follower (pods need nodes: a simulated node runs them).
        #[arg(long, default_value_t = 0)]
        replicas: u32,
    },
    /// Creates by one client alternating ConfigMaps labelled `label` (`key=value`, what a
    /// webhook's objectSelector matches) with unlabelled ones, in rounds: what the webhook
    /// adds to p50 and p99, the median over the rounds.
    WebhookCost {
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        #[arg(long, default_value_t = 2000)]
        count: usize,
        #[arg(long, default_value = "bench-webhook=called")]
        label: String,
    },
    /// The whole suite with the parameters of the performance targets.
    All,
    /// Serve a fixed page on loopback ports (HTTP keep-alive; TLS with --tls): a backend for
    /// router benchmarks.
    Backend {
        #[arg(long)]
        listen: Vec<std::net::SocketAddr>,
        #[arg(long)]
        tls: Vec<std::net::SocketAddr>,
        #[arg(long)]
        cert: Option<std::path::PathBuf>,
        #[arg(long)]
        key: Option<std::path::PathBuf>,
    },
    /// GETs through an HTTP router for the hosts of a file (one per line).
    Router {
        #[arg(long)]
        address: std::net::SocketAddr,
        #[arg(long)]
        hosts: std::path::PathBuf,
        #[arg(long, value_enum, default_value = "http")]
        mode: router_bench::Mode,
        #[arg(long, default_value_t = 64)]
        connections: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// The CA certificates are verified against (with `--mode tls`).
        #[arg(long)]
        ca: Option<std::path::PathBuf>,
    },
}

fn main() {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => fail(&format!("runtime: {e}")),
    };
    match &cli.command {
        Command::Backend {
            listen,
            tls,
            cert,
            key,
        } => {
            let served = runtime.block_on(router_bench::backend(
                listen.clone(),
                tls.clone(),
                cert.clone(),
                key.clone(),
            ));
            if let Err(e) = served {
                fail(&e);
            }
            return;
        }
        Command::Router {
            address,
            hosts,
            mode,
            connections,
            seconds,
            ca,
        } => {
            let hosts: Vec<String> = match std::fs::read_to_string(hosts) {
                Ok(text) => text
                    .lines()
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect(),
                Err(e) => fail(&format!("{}: {e}", hosts.display())),
            };
            if hosts.is_empty() {
                fail("no hosts");
            }
            let load = router_bench::Load {
                address: *address,
                hosts,
                mode: *mode,
                connections: *connections,
                duration: std::time::Duration::from_secs(*seconds),
                ca: ca.clone(),
            };
            if let Err(e) = runtime.block_on(router_bench::router(load)) {
                fail(&e);
            }
            return;
        }
        _ => {}
    }
    let target = match client::Target::from_kubeconfig(
        &cli.kubeconfig,
        cli.server.as_deref(),
        cli.token.as_deref(),
    ) {
        Ok(target) => target,
        Err(e) => fail(&e),
    };
    let run = workloads::Run {
        target,
        server_pid: cli.server_pid,
    };
    let result = runtime.block_on(async move {
        let run = Arc::new(run);
        match cli.command {
            Command::Create { count, clients } => run.create(count, clients).await.map(drop),
            Command::PodCreate {
                count,
                clients,
                namespace,
            } => run.pod_create(count, clients, namespace).await.map(drop),
            Command::Get {
                objects,
                count,
                clients,
            } => run.get(objects, count, clients).await.map(drop),
            Command::Update {
                objects,
                count,
                clients,
            } => run.update(objects, count, clients).await.map(drop),
            Command::List { objects, repeat } => run.list(objects, repeat).await.map(drop),
            Command::Watch {
                watchers,
                events,
                rate,
            } => run.watch(watchers, events, rate).await.map(drop),
            Command::Gc { dependents } => run.gc(dependents).await.map(drop),
            Command::NamespaceDeletion { objects } => {
                run.namespace_deletion(objects).await.map(drop)
            }
            Command::Overload {
                op,
                clients,
                seconds,
                objects,
                honor_retry_after,
            } => {
                let overload = workloads::Overload {
                    op,
                    clients,
                    duration: std::time::Duration::from_secs(seconds),
                    objects,
                    honor_retry_after,
                };
                run.overload(&overload).await
            }
            Command::WebhookCost {
                rounds,
                count,
                label,
            } => run.webhook_cost(rounds, count, &label).await,
            Command::Scheduling { nodes, pods } => run.scheduling(nodes, pods).await.map(drop),
            Command::ImageMappings { streams, count } => {
                run.image_mappings(streams, count).await.map(drop)
            }
            Command::Triggers {
                tags,
                followers,
                fan,
                replicas,
            } => run.triggers(tags, followers, fan, replicas).await.map(drop),
            Command::All => run.all().await,
            Command::Backend { .. } | Command::Router { .. } => Ok(()),
        }
    });
    if let Err(e) = result {
        fail(&e);
    }
}

fn fail(message: &str) -> ! {
    eprintln!("oxshift-load: {message}");
    std::process::exit(1);
}
