//! Oxshift's API server: the HTTP pipeline over the storage layer. `ApiServer` holds what
//! every request needs; `routes` builds the chain of layers and the routes, `registry` serves
//! the resources, `bootstrap` creates what a fresh cluster needs. ARCHITECTURE.md has the map.

pub mod admission;
pub mod aggregation;
pub mod audit;
pub mod authn;
pub mod authz;
mod bootstrap;
pub mod custom_resources;
pub mod discovery;
pub mod error;
pub mod http;
pub mod image_registry;
mod kind_loop;
mod managed_fields;
mod metered_store;
pub mod metrics;
pub mod node_client;
pub mod oauth;
pub mod openapi;
mod own_objects;
pub(crate) mod registry;
/// The registry reads image imports make, for whoever provides the client.
pub use registry::image::import::source as image_source;
/// How an image enters a stream, for in-process callers (the integrated registry's pushes).
pub use registry::image::map_image;
mod routes;
#[cfg(test)]
mod test_store;
#[cfg(test)]
mod testing;
pub mod watch;
pub mod webhook_client;
mod write_fence;

use std::sync::Arc;

use api::Scheme;

/// The Kubernetes API version this server speaks, as `/version` reports it.
pub const KUBERNETES_VERSION: (&str, &str) = ("1", "32");

/// The domain of routes' generated hosts unless configured.
pub const DEFAULT_APPS_DOMAIN: &str = "apps.oxshift.local";

pub struct ApiServer {
    pub scheme: Scheme,
    pub store: Arc<dyn storage::Store>,
    /// `host:port` clients reach this server at (for legacy `/api` discovery).
    pub address: String,
    /// The OpenAPI v3 index and documents, built once from the scheme.
    openapi: std::sync::OnceLock<OpenApiDocs>,
    pub metrics: Arc<metrics::Metrics>,
    /// Per-resource caches serving watches and `resourceVersion=0` lists.
    pub watch_caches: Arc<watch::cache::WatchCaches>,
    /// The caches of the built-in kinds the code names (`named_cache`).
    named_caches: watch::named::NamedCaches,
    /// RBAC over every resource request.
    pub authorizer: Arc<authz::authorizer::Authorizer>,
    /// Signs and verifies service-account tokens (none: bearer tokens are refused).
    pub service_account_tokens: Option<Arc<auth::service_account_tokens::ServiceAccountTokens>>,
    verified_tokens: authn::authentication::VerifiedTokens,
    /// The built-in OAuth server (none: `oc login` with a password is not offered).
    pub oauth: Option<Arc<oauth::OAuthConfig>>,
    /// The kinds' field schemas, for field validation.
    pub(crate) field_schemas: registry::decode::field_validation::Schemas,
    /// What serves each resource and subresource.
    pub(crate) registry: registry::Registry,
    /// The resources CustomResourceDefinitions add, served beside the built-in scheme.
    pub custom_resources: custom_resources::CustomResources,
    /// How long requests may take and how many may run at once.
    pub limits: Limits,
    pub(crate) in_flight: http::in_flight::InFlight,
    /// Set when the server begins to shut down: readiness fails and watches end.
    closing: tokio::sync::watch::Sender<bool>,
    /// The audit log (none: requests are not audited).
    pub(crate) audit: Option<Arc<audit::Audit>>,
    /// Connections to the nodes, for pods' logs and streams (none: those are unavailable).
    pub node_client: Option<Arc<node_client::NodeClient>>,
    /// The integrated registry's token server (none: `/openshift/token` answers 404).
    pub image_registry: Option<Arc<image_registry::IntegratedRegistry>>,
    /// The domain routes' generated hosts end in (`--apps-domain`).
    pub apps_domain: String,
    /// Where image imports read registries (none: imports are refused as unavailable).
    pub image_source: Option<Arc<dyn image_source::RegistrySource>>,
    /// The admission plugins switched off (`--disable-admission-plugins`).
    pub admission: admission::Config,
    /// APIServices: the aggregated group versions and the front proxy's identity.
    pub aggregation: aggregation::Aggregation,
}

/// The request limits, upstream's defaults unless configured.
#[derive(Clone, Debug)]
pub struct Limits {
    /// The deadline of requests that are not long-running (`--request-timeout`, 60 s).
    pub request_timeout: std::time::Duration,
    /// Read-only requests served at once (`--max-requests-inflight`, 400).
    pub max_read_only: usize,
    /// Mutating requests served at once (`--max-mutating-requests-inflight`, 200).
    pub max_mutating: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            request_timeout: std::time::Duration::from_secs(60),
            max_read_only: 400,
            max_mutating: 200,
        }
    }
}

pub(crate) struct OpenApiDocs {
    pub(crate) index: String,
    /// `/openapi/v2`.
    pub(crate) swagger: String,
    /// `/openapi/v2` in protobuf.
    pub(crate) swagger_protobuf: Vec<u8>,
    pub(crate) documents: std::collections::BTreeMap<String, String>,
}

/// The server as axum handlers share it.
pub(crate) type Shared = Arc<ApiServer>;

impl ApiServer {
    pub fn new(scheme: Scheme, store: Arc<dyn storage::Store>, address: String) -> Self {
        let metrics = Arc::new(metrics::Metrics::default());
        let write_fence = Arc::new(write_fence::WriteFence::default());
        let store: Arc<dyn storage::Store> = Arc::new(metered_store::MeteredStore::new(
            store,
            metrics.clone(),
            write_fence.clone(),
        ));
        Self {
            registry: registry::Registry::new(&scheme),
            custom_resources: custom_resources::CustomResources::new(&scheme),
            scheme,
            watch_caches: Arc::new(watch::cache::WatchCaches::new(store.clone(), write_fence)),
            named_caches: Default::default(),
            authorizer: Arc::default(),
            service_account_tokens: None,
            verified_tokens: Default::default(),
            oauth: None,
            field_schemas: Default::default(),
            store,
            address,
            openapi: std::sync::OnceLock::new(),
            metrics,
            in_flight: http::in_flight::InFlight::new(400, 200),
            limits: Limits::default(),
            closing: tokio::sync::watch::channel(false).0,
            audit: None,
            node_client: None,
            image_registry: None,
            image_source: None,
            apps_domain: DEFAULT_APPS_DOMAIN.to_string(),
            admission: admission::Config::default(),
            aggregation: aggregation::Aggregation::default(),
        }
    }

    /// The same server proxying aggregated group versions as `front_proxy`'s client, and
    /// publishing its CAs in `kube-system/extension-apiserver-authentication`.
    pub fn with_front_proxy(mut self, front_proxy: aggregation::FrontProxy) -> Self {
        self.aggregation = aggregation::Aggregation::new(Some(front_proxy));
        self
    }

    /// The same server giving routes hosts under `domain`.
    /// Admission with some plugins switched off.
    pub fn with_admission(mut self, config: admission::Config) -> Self {
        self.admission = config;
        self
    }

    pub fn with_apps_domain(mut self, domain: String) -> Self {
        self.apps_domain = domain;
        self
    }

    /// The same server reading registries for image imports through `source`.
    pub fn with_image_source(mut self, source: Arc<dyn image_source::RegistrySource>) -> Self {
        self.image_source = Some(source);
        self
    }

    /// The same server with other request limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.in_flight = http::in_flight::InFlight::new(limits.max_read_only, limits.max_mutating);
        self.limits = limits;
        self
    }

    /// Begins shutting down: `/readyz` fails from now on and every watch ends cleanly (its
    /// client watches again, elsewhere), while other requests in flight finish.
    pub fn begin_shutdown(&self) {
        self.closing.send_replace(true);
    }

    /// Writes out every audit event recorded so far (at shutdown, after the last request).
    pub async fn flush_audit(&self) {
        if let Some(audit) = &self.audit {
            audit.flush().await;
        }
    }

    /// Resolves once the server begins shutting down.
    pub(crate) fn closing(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut closing = self.closing.subscribe();
        async move {
            let _ = closing.wait_for(|c| *c).await;
        }
    }

    pub(crate) fn is_closing(&self) -> bool {
        *self.closing.borrow()
    }

    /// The same server, issuing and accepting service-account tokens signed with `tokens`.
    pub fn with_service_account_tokens(
        mut self,
        tokens: auth::service_account_tokens::ServiceAccountTokens,
    ) -> Self {
        self.service_account_tokens = Some(Arc::new(tokens));
        self
    }

    /// The same server, recording requests in `audit` (none: no audit log).
    pub fn with_audit(mut self, audit: Option<audit::Audit>) -> Self {
        self.audit = audit.map(Arc::new);
        self
    }

    /// The same server, reaching the nodes' APIs with `client`.
    pub fn with_node_client(mut self, client: node_client::NodeClient) -> Self {
        self.node_client = Some(Arc::new(client));
        self
    }

    /// The same server with the integrated registry's token server.
    pub fn with_image_registry(mut self, registry: image_registry::IntegratedRegistry) -> Self {
        self.image_registry = Some(Arc::new(registry));
        self
    }

    /// The same server with its OAuth server set up.
    pub fn with_oauth(mut self, config: oauth::OAuthConfig) -> Self {
        self.oauth = Some(Arc::new(config));
        self
    }

    pub(crate) fn openapi(&self) -> &OpenApiDocs {
        self.openapi.get_or_init(|| {
            let documents = openapi::serialized(&openapi::documents(&self.scheme));
            let swagger = openapi::swagger(&documents);
            let swagger_protobuf = serde_json::from_str(&swagger)
                .map(|doc| openapi::protobuf::encode(&doc))
                .unwrap_or_default();
            OpenApiDocs {
                index: openapi::index(&documents).to_string(),
                swagger,
                swagger_protobuf,
                documents,
            }
        })
    }
}
