//! The router from the command line: `oxshift router` (against the API server of a
//! kubeconfig) and the all-in-one's own router in `oxshift start`, with its identity (upstream's
//! router service account, bound to `system:router`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::BoxError;

/// The router's identity.
pub const ROUTER: auth::pki::ClientSpec<'static> = auth::pki::ClientSpec {
    file: "router",
    user: apiserver::authz::bootstrap_policy::ROUTER,
    groups: &[
        "system:serviceaccounts",
        "system:serviceaccounts:openshift-ingress",
    ],
};

/// The all-in-one's routes and router (`oxshift start`).
#[derive(clap::Args)]
pub struct AllInOneRouter {
    /// The domain of routes' generated hosts (`<name>-<namespace>.<domain>`).
    #[arg(long, default_value = apiserver::DEFAULT_APPS_DOMAIN)]
    pub apps_domain: String,
    /// Run a router in this process (`oxshift start` only).
    #[arg(long = "router", default_value_t = true, action = clap::ArgAction::Set)]
    pub router: bool,
    /// Where the router serves plain HTTP.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub router_http: SocketAddr,
    /// Where the router serves TLS (edge, reencrypt, passthrough).
    #[arg(long, default_value = "127.0.0.1:8444")]
    pub router_https: SocketAddr,
    /// Where the router serves `/healthz` and `/metrics` (none: not served).
    #[arg(long)]
    pub router_stats: Option<SocketAddr>,
}

#[derive(clap::Args)]
pub struct RouterArgs {
    /// Credentials (`<data-dir>/router.kubeconfig` of `oxshift start`) and server.
    #[arg(long)]
    kubeconfig: PathBuf,
    /// The name of its entries in the routes' status (one per shard).
    #[arg(
        long = "router-name",
        alias = "name",
        env = "ROUTER_SERVICE_NAME",
        default_value = "default"
    )]
    name: String,
    /// Serve only routes with these labels (a label selector).
    #[arg(long, env = "ROUTE_LABELS")]
    route_label_selector: Option<String>,
    /// Serve only routes of namespaces with these labels (a label selector).
    #[arg(long, env = "NAMESPACE_LABELS")]
    namespace_label_selector: Option<String>,
    /// Admit only hosts under these domains (comma-separated).
    #[arg(long, env = "ROUTER_ALLOWED_DOMAINS", default_value = "")]
    allowed_domains: String,
    /// Refuse hosts under these domains (comma-separated).
    #[arg(long, env = "ROUTER_DENIED_DOMAINS", default_value = "")]
    denied_domains: String,
    /// Serve routes with `wildcardPolicy: Subdomain`.
    #[arg(long, env = "ROUTER_ALLOW_WILDCARD_ROUTES", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    allow_wildcard_routes: bool,
    /// The domain of `spec.subdomain` routes and of the router's canonical host name.
    #[arg(long, default_value = apiserver::DEFAULT_APPS_DOMAIN)]
    apps_domain: String,
    #[arg(long, default_value = "127.0.0.1:8080")]
    http: SocketAddr,
    #[arg(long, default_value = "127.0.0.1:8444")]
    https: SocketAddr,
    /// Where `/healthz` and `/metrics` are served.
    #[arg(long, default_value = "127.0.0.1:1936")]
    stats: SocketAddr,
    /// Threads serving connections (HAProxy's `nbthread`; 0: one per CPU). With 1, the router
    /// runs on that one thread alone.
    #[arg(long, env = "ROUTER_THREADS", default_value_t = 0)]
    threads: usize,
}

impl RouterArgs {
    /// The number of threads asked for, if any.
    pub fn threads(&self) -> Option<usize> {
        (self.threads > 0).then_some(self.threads)
    }
}

/// `oxshift router`.
pub async fn run(args: RouterArgs) -> Result<(), BoxError> {
    let client = router::client(&args.kubeconfig).await?;
    let options = router::Options {
        http: args.http,
        https: args.https,
        stats: Some(args.stats),
        router_name: args.name,
        apps_domain: args.apps_domain,
        selection: router::Selection {
            route_labels: args.route_label_selector.filter(|s| !s.is_empty()),
            namespace_labels: args.namespace_label_selector.filter(|s| !s.is_empty()),
            allowed_domains: router::domain_list(&args.allowed_domains),
            denied_domains: router::domain_list(&args.denied_domains),
            allow_wildcard_routes: args.allow_wildcard_routes,
        },
    };
    let listeners = router::Listeners::bind(&options).await?;
    tokio::select! {
        result = router::run(client, options, listeners) => result,
        _ = crate::terminated() => Ok(()),
    }
}

/// The all-in-one's router: its listeners bound now (so that a port in use fails the start),
/// served in the background.
pub async fn start_in_process(args: &AllInOneRouter, kubeconfig: &Path) -> Result<(), BoxError> {
    let options = router::Options {
        http: args.router_http,
        https: args.router_https,
        stats: args.router_stats,
        router_name: "default".into(),
        apps_domain: args.apps_domain.clone(),
        selection: router::Selection::default(),
    };
    let listeners = router::Listeners::bind(&options).await?;
    let client = router::client(kubeconfig).await?;
    tokio::spawn(async move {
        if let Err(e) = router::run(client, options, listeners).await {
            tracing::error!(error = %e, "router stopped");
        }
    });
    Ok(())
}
