//! The router: serves Routes as OpenShift's router does, from a table built from watches of
//! the API (`control.rs`, `build.rs`, `claims.rs`, `status.rs`) and swapped whole
//! (`table.rs`), on tokio + hyper + rustls (`listen.rs`, `proxy.rs`, `pool.rs`): plain HTTP,
//! edge and reencrypt TLS by server name, passthrough spliced by the ClientHello's server
//! name (`sni.rs`), weights (`weights.rs`), sticky cookies, upstream's 503 page (`page.rs`),
//! `/healthz` and `/metrics` (`metrics.rs`); the routes' annotations (`annotations.rs`: timeouts,
//! allow lists, connection limits (`limits.rs`), HSTS, forwarded headers, path rewrites) and
//! tunnels with an idle timeout (`tunnel.rs`).

mod admission;
mod annotations;
mod body;
mod build;
mod certs;
mod claims;
mod control;
mod head_guard;
mod limits;
mod listen;
mod metrics;
mod model;
mod page;
mod pool;
mod proxy;
mod sni;
mod stats;
mod status;
mod table;
mod tunnel;
mod update;
mod validate;
mod weights;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use kube::config::{KubeConfigOptions, Kubeconfig};

pub use admission::{Selection, domain_list};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Upstream's user for routers (its role is `system:router`).
pub const ROUTER_USER: &str = "system:serviceaccount:openshift-ingress:router";

/// How a router runs.
#[derive(Clone, Debug)]
pub struct Options {
    pub http: SocketAddr,
    pub https: SocketAddr,
    /// `/healthz` and `/metrics` (none: not served).
    pub stats: Option<SocketAddr>,
    /// The name of its entries in the routes' status (`default`).
    pub router_name: String,
    /// The domain of generated hosts and of `spec.subdomain` routes.
    pub apps_domain: String,
    /// Which routes it serves (its shard) and admits.
    pub selection: Selection,
}

impl Options {
    /// `router-<name>.<apps domain>`, as OpenShift's ingress operator names it.
    pub fn canonical_hostname(&self) -> String {
        format!("router-{}.{}", self.router_name, self.apps_domain)
    }
}

/// The listeners a router serves on, bound.
pub struct Listeners {
    pub http: tokio::net::TcpListener,
    pub https: tokio::net::TcpListener,
    pub stats: Option<tokio::net::TcpListener>,
}

impl Listeners {
    pub async fn bind(options: &Options) -> std::io::Result<Listeners> {
        let stats = match options.stats {
            Some(addr) => Some(tokio::net::TcpListener::bind(addr).await?),
            None => None,
        };
        Ok(Listeners {
            http: tokio::net::TcpListener::bind(options.http).await?,
            https: tokio::net::TcpListener::bind(options.https).await?,
            stats,
        })
    }
}

/// A client of the API from a kubeconfig.
pub async fn client(kubeconfig: &Path) -> Result<kube::Client, BoxError> {
    let config = Kubeconfig::read_from(kubeconfig)?;
    let config =
        kube::Config::from_custom_kubeconfig(config, &KubeConfigOptions::default()).await?;
    Ok(kube::Client::try_from(config)?)
}

/// Runs the router until the process ends.
pub async fn run(
    client: kube::Client,
    options: Options,
    listeners: Listeners,
) -> Result<(), BoxError> {
    control::check_selectors(&client, &options.selection).await?;
    let options = Arc::new(options);
    let table = table::Current::default();
    let metrics = Arc::new(metrics::Metrics::default());
    let proxy = Arc::new(proxy::Proxy {
        table: table.clone(),
        pool: Arc::default(),
        metrics: metrics.clone(),
    });
    let default = certs::default_certificate(&options.apps_domain)?;
    let tls = Arc::new(listen::server_config(table.clone(), default)?);
    if let Some(stats) = listeners.stats {
        tokio::spawn(metrics::serve(stats, metrics.clone(), table.clone()));
    }
    tokio::spawn(listen::serve_http(listeners.http, proxy.clone()));
    tokio::spawn(listen::serve_https(listeners.https, proxy, tls));
    tracing::info!(http = %options.http, https = %options.https, "router serving");
    control::run(client, options, table, metrics).await;
    Ok(())
}
