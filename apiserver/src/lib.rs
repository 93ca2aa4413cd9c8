//! Oxshift's API server: the HTTP pipeline over the storage layer.
//!
//! So far: TLS with client-certificate identities, discovery derived from the scheme (legacy
//! and aggregated v2), `/version`, the health endpoints, and the generic registry (get, list
//! with pagination, watch, create, update, delete in JSON) for every scheme resource. Resource
//! requests need an authenticated user.

mod admission;
pub mod audit;
mod authentication;
pub mod authorization;
pub mod bootstrap_policy;
mod deletion;
pub mod discovery;
pub mod encoded;
pub mod error;
mod field_validation;
mod freshness;
mod go_fmt;
pub mod http;
mod impersonation;
mod json_patch_bounded;
mod managed_fields;
mod metered_store;
pub mod metrics;
pub mod negotiation;
pub mod oauth;
pub mod object;
pub mod openapi;
mod project_watch;
mod projects;
mod query;
pub mod request_info;
pub mod resources;
mod reviews;
pub mod scale;
mod schema_walk;
pub mod serve;
mod service_ips;
pub mod strategic;
pub mod strategy;
pub mod table;
#[cfg(test)]
mod test_store;
#[cfg(test)]
mod testing;
mod token_request;
mod users;
mod validation;
mod watch;
pub mod watch_cache;

use std::sync::Arc;

use api::Scheme;
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;

use crate::error::ApiError;
use crate::serve::User;

/// The Kubernetes API version this server speaks, as `/version` reports it.
pub const KUBERNETES_VERSION: (&str, &str) = ("1", "32");

pub struct ApiServer {
    pub scheme: Scheme,
    pub store: Arc<dyn storage::Store>,
    /// `host:port` clients reach this server at (for legacy `/api` discovery).
    pub address: String,
    /// The OpenAPI v3 index and documents, built once from the scheme.
    openapi: std::sync::OnceLock<OpenApiDocs>,
    pub metrics: Arc<metrics::Metrics>,
    /// Per-resource caches serving watches and `resourceVersion=0` lists.
    pub watch_caches: Arc<watch_cache::WatchCaches>,
    /// RBAC over every resource request.
    pub authorizer: Arc<authorization::Authorizer>,
    /// Signs and verifies service-account tokens (none: bearer tokens are refused).
    pub service_account_tokens: Option<Arc<auth::service_account_tokens::ServiceAccountTokens>>,
    verified_tokens: authentication::VerifiedTokens,
    /// The built-in OAuth server (none: `oc login` with a password is not offered).
    pub oauth: Option<Arc<oauth::OAuthConfig>>,
    /// The kinds' field schemas, for field validation.
    pub(crate) field_schemas: field_validation::Schemas,
    /// How long requests may take and how many may run at once.
    pub limits: Limits,
    pub(crate) in_flight: http::in_flight::InFlight,
    /// Set when the server begins to shut down: readiness fails and watches end.
    closing: tokio::sync::watch::Sender<bool>,
    /// The audit log (none: requests are not audited).
    pub(crate) audit: Option<Arc<audit::Audit>>,
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

struct OpenApiDocs {
    index: String,
    /// `/openapi/v2`.
    swagger: String,
    /// `/openapi/v2` in protobuf.
    swagger_protobuf: Vec<u8>,
    documents: std::collections::BTreeMap<String, String>,
}

type Shared = Arc<ApiServer>;

fn json(value: &Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

/// `/api` or `/apis`: aggregated discovery when the client asks for it, legacy otherwise.
fn discovery_root(
    headers: &HeaderMap,
    aggregated: impl FnOnce() -> Value,
    legacy: impl FnOnce() -> Value,
) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    if discovery::wants_aggregated(accept) {
        return (
            [(header::CONTENT_TYPE, discovery::AGGREGATED_V2)],
            aggregated().to_string(),
        )
            .into_response();
    }
    json(&legacy())
}

async fn api_root(State(s): State<Shared>, headers: HeaderMap) -> Response {
    discovery_root(
        &headers,
        || discovery::aggregated(&s.scheme, true),
        || discovery::api_versions(&s.address),
    )
}

async fn apis_root(State(s): State<Shared>, headers: HeaderMap) -> Response {
    discovery_root(
        &headers,
        || discovery::aggregated(&s.scheme, false),
        || discovery::api_group_list(&s.scheme),
    )
}

async fn core_resources(State(s): State<Shared>, Path(version): Path<String>) -> Response {
    match discovery::api_resource_list(&s.scheme, "", &version) {
        Some(doc) => json(&doc),
        None => ApiError::PathNotFound.into_response(),
    }
}

async fn group(State(s): State<Shared>, Path(group): Path<String>) -> Response {
    match discovery::api_group(&s.scheme, &group) {
        Some(doc) => json(&doc),
        None => ApiError::PathNotFound.into_response(),
    }
}

async fn group_resources(
    State(s): State<Shared>,
    Path((group, version)): Path<(String, String)>,
) -> Response {
    match discovery::api_resource_list(&s.scheme, &group, &version) {
        Some(doc) => json(&doc),
        None => ApiError::PathNotFound.into_response(),
    }
}

impl ApiServer {
    pub fn new(scheme: Scheme, store: Arc<dyn storage::Store>, address: String) -> Self {
        let metrics = Arc::new(metrics::Metrics::default());
        let store: Arc<dyn storage::Store> =
            Arc::new(metered_store::MeteredStore::new(store, metrics.clone()));
        Self {
            scheme,
            watch_caches: Arc::new(watch_cache::WatchCaches::new(store.clone())),
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
        }
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

    fn is_closing(&self) -> bool {
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

    /// The same server with its OAuth server set up.
    pub fn with_oauth(mut self, config: oauth::OAuthConfig) -> Self {
        self.oauth = Some(Arc::new(config));
        self
    }

    fn openapi(&self) -> &OpenApiDocs {
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

async fn openapi_index(State(s): State<Shared>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        s.openapi().index.clone(),
    )
        .into_response()
}

/// `GET /openapi/v2`: JSON, or protobuf for clients that ask for it (kubectl's validation).
async fn openapi_v2(State(s): State<Shared>, headers: axum::http::HeaderMap) -> Response {
    // Asked for with `@v1.0`, answered with `.v1.0` (a media type Go's parser accepts).
    const PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("*/*");
    if accept.contains("application/com.github.proto-openapi.spec.v2") {
        return (
            [(header::CONTENT_TYPE, PROTOBUF)],
            s.openapi().swagger_protobuf.clone(),
        )
            .into_response();
    }
    if !accept.contains("json") && !accept.contains("*/*") {
        return ApiError::NotAcceptable.into_response();
    }
    (
        [(header::CONTENT_TYPE, "application/json")],
        s.openapi().swagger.clone(),
    )
        .into_response()
}

async fn openapi_document(State(s): State<Shared>, Path(path): Path<String>) -> Response {
    let key = openapi::parse_gv_path(&path).map(|(g, v)| openapi::gv_path(g, v));
    match key.and_then(|k| s.openapi().documents.get(&k).cloned()) {
        Some(doc) => ([(header::CONTENT_TYPE, "application/json")], doc).into_response(),
        None => ApiError::PathNotFound.into_response(),
    }
}

async fn version() -> Response {
    let (major, minor) = KUBERNETES_VERSION;
    json(&serde_json::json!({
        "major": major,
        "minor": minor,
        "gitVersion": format!("v{major}.{minor}.0-oxshift.{}", env!("CARGO_PKG_VERSION")),
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "",
        "goVersion": "",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, if cfg!(target_arch = "x86_64") { "amd64" } else { std::env::consts::ARCH }),
    }))
}

/// `/healthz`, `/livez`, `/readyz`: "ok", or with `?verbose` one line per check, as upstream.
async fn health(State(s): State<Shared>, request: Request) -> Response {
    let endpoint = request.uri().path().trim_start_matches('/').to_string();
    let verbose = request.uri().query().is_some_and(|q| {
        q.split('&')
            .any(|kv| kv == "verbose" || kv.starts_with("verbose="))
    });
    let storage = s.store.health().await;
    let mut checks = vec![
        ("ping", Ok(())),
        ("storage", storage.map_err(|e| e.to_string())),
    ];
    // A server shutting down is alive but no longer ready for new work.
    if endpoint == "readyz" {
        let shutdown = match s.is_closing() {
            true => Err("shutting down".to_string()),
            false => Ok(()),
        };
        checks.push(("shutdown", shutdown));
    }
    let healthy = checks.iter().all(|(_, r)| r.is_ok());
    let code = if healthy {
        StatusCode::OK
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    let body = if verbose || !healthy {
        let mut lines: Vec<String> = checks
            .iter()
            .map(|(name, r)| match r {
                Ok(()) => format!("[+]{name} ok"),
                Err(_) => format!("[-]{name} failed: reason withheld"),
            })
            .collect();
        lines.push(format!(
            "{endpoint} check {}",
            if healthy { "passed" } else { "failed" }
        ));
        lines.join("\n") + "\n"
    } else {
        "ok".to_string()
    };
    (
        code,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

/// Resource requests need an authenticated user; discovery, health and version do not.
/// RBAC on every request but the OAuth server's own (which authenticates its users itself).
/// Discovery, health and version are reachable by anyone through the default policy.
async fn authorize(State(server): State<Shared>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if oauth::is_public(path) {
        return next.run(request).await;
    }
    let info = request_info::of(&request);
    if let Some(user) = request.extensions().get::<User>() {
        let decision = server.authorizer.check(user, &info, path).await;
        let word = if decision.is_ok() { "allow" } else { "forbid" };
        audit::annotate(request.extensions(), "authorization.k8s.io/decision", word);
        if let Err(e) = decision {
            return e.into_response();
        }
    }
    next.run(request).await
}

/// Namespaces every cluster has.
const SYSTEM_NAMESPACES: &[&str] = &[
    "default",
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "openshift",
];

impl ApiServer {
    /// Creates what a fresh cluster needs (the system namespaces, the default RBAC policy),
    /// missing pieces only, and starts following the RBAC policy.
    pub async fn bootstrap(&self) -> Result<(), ApiError> {
        for obj in bootstrap_policy::objects() {
            let plural = match obj["kind"].as_str() {
                Some("ClusterRole") => "clusterroles",
                _ => "clusterrolebindings",
            };
            let def = self
                .scheme
                .lookup("rbac.authorization.k8s.io", "v1", plural)
                .ok_or(ApiError::PathNotFound)?;
            self.reconcile(def, obj).await?;
        }
        if let Some(oauth) = &self.oauth {
            let def = self
                .scheme
                .lookup("oauth.openshift.io", "v1", "oauthclients")
                .ok_or(ApiError::PathNotFound)?;
            for client in oauth::default_clients(&oauth.issuer) {
                self.create_if_missing(def, client).await?;
            }
        }
        self.authorizer.start(self.watch_caches.clone());
        let def = self
            .scheme
            .lookup("", "v1", "namespaces")
            .ok_or(ApiError::PathNotFound)?;
        for name in SYSTEM_NAMESPACES {
            let ns = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
            self.create_if_missing(def, ns).await?;
        }
        let services = self
            .scheme
            .lookup("", "v1", "services")
            .ok_or(ApiError::PathNotFound)?;
        self.create_if_missing(services, self.kubernetes_service())
            .await?;
        service_ips::start_repair(self.store.clone()).await
    }

    /// `default/kubernetes`: the service that names the API server, at the service network's
    /// first address, as upstream has it.
    fn kubernetes_service(&self) -> serde_json::Value {
        let port = self
            .address
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse::<u16>().ok())
            .unwrap_or(8443);
        serde_json::json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kubernetes", "namespace": "default",
                "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"type": "ClusterIP", "clusterIP": "172.30.0.1", "clusterIPs": ["172.30.0.1"],
                "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}]},
        })
    }

    /// Creates a default RBAC object, or brings an existing one back to the default unless
    /// its `rbac.authorization.kubernetes.io/autoupdate` annotation was set to "false".
    async fn reconcile(
        &self,
        def: &api::ResourceDef,
        wanted: serde_json::Value,
    ) -> Result<(), ApiError> {
        let name = object::meta_str(&wanted, "name").to_string();
        let key = def.key(None, &name);
        let (found, _) = self
            .store
            .get(&key, None)
            .await
            .map_err(|e| error::from_storage(e, object::target(def, &name)))?;
        let Some(kv) = found else {
            return self.create_if_missing(def, wanted).await;
        };
        let mut current = object::from_store(&kv)?;
        let autoupdate =
            current["metadata"]["annotations"]["rbac.authorization.kubernetes.io/autoupdate"]
                .as_str()
                != Some("false");
        // The rules of an aggregated role are the aggregation controller's to keep.
        let fields: &[&str] = match wanted.get("aggregationRule") {
            Some(_) => &["roleRef", "subjects", "aggregationRule"],
            None => &["rules", "roleRef", "subjects", "aggregationRule"],
        };
        // Labels the default has and the object lacks are added (aggregation follows them, as
        // `edit`'s into `admin`); labels the object has are kept, as upstream reconciles them.
        let missing_labels: Vec<(String, serde_json::Value)> = wanted["metadata"]["labels"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| current["metadata"]["labels"].get(k.as_str()).is_none())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !autoupdate
            || (missing_labels.is_empty()
                && fields.iter().all(|f| current.get(*f) == wanted.get(*f)))
        {
            return Ok(());
        }
        for (label, value) in missing_labels {
            current["metadata"]["labels"][label.as_str()] = value;
        }
        for &field in fields {
            match wanted.get(field) {
                Some(v) => current[field] = v.clone(),
                None => drop(current.as_object_mut().and_then(|m| m.remove(field))),
            }
        }
        match self
            .store
            .update(&key, object::to_store(&current), kv.mod_revision)
            .await
        {
            // Another replica reconciled it first.
            Ok(_) | Err(storage::Error::Conflict { .. }) => Ok(()),
            Err(e) => Err(error::from_storage(e, object::target(def, &name))),
        }
    }

    /// Creates a cluster-scoped object unless one of its name exists.
    async fn create_if_missing(
        &self,
        def: &api::ResourceDef,
        obj: serde_json::Value,
    ) -> Result<(), ApiError> {
        match self.create_object(def, obj).await {
            Ok(_) | Err(ApiError::AlreadyExists(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Stores a new object the server makes itself (bootstrap objects, the objects its own
    /// handlers create): system fields and the kind's defaults, no admission.
    pub(crate) async fn create_object(
        &self,
        def: &api::ResourceDef,
        mut obj: serde_json::Value,
    ) -> Result<serde_json::Value, ApiError> {
        let name = object::meta_str(&obj, "name").to_string();
        let namespace = object::meta_str(&obj, "namespace").to_string();
        object::prepare_create(&mut obj)?;
        strategy::prepare_create(def, &mut obj);
        let key = def.key(Some(namespace.as_str()).filter(|n| !n.is_empty()), &name);
        let kv = self
            .store
            .create(&key, object::to_store(&obj))
            .await
            .map_err(|e| error::from_storage(e, object::target(def, &name)))?;
        object::set_resource_version(&mut obj, kv.mod_revision);
        Ok(obj)
    }

    /// Replaces an object the server's own handlers change, if it is still at the
    /// resourceVersion it carries (else Conflict).
    pub(crate) async fn update_object(
        &self,
        def: &api::ResourceDef,
        mut obj: serde_json::Value,
    ) -> Result<serde_json::Value, ApiError> {
        let name = object::meta_str(&obj, "name").to_string();
        let namespace = object::meta_str(&obj, "namespace").to_string();
        let revision =
            resources::parse_resource_version(Some(object::meta_str(&obj, "resourceVersion")))?;
        let key = def.key(Some(namespace.as_str()).filter(|n| !n.is_empty()), &name);
        let kv = self
            .store
            .update(&key, object::to_store(&obj), revision)
            .await
            .map_err(|e| error::from_storage(e, object::target(def, &name)))?;
        object::set_resource_version(&mut obj, kv.mod_revision);
        Ok(obj)
    }

    /// Deletes an object the server's own handlers remove, if it still is at `revision`
    /// (when given).
    pub(crate) async fn delete_object(
        &self,
        def: &api::ResourceDef,
        namespace: Option<&str>,
        name: &str,
        revision: Option<u64>,
    ) -> Result<(), ApiError> {
        self.store
            .delete(&def.key(namespace, name), revision)
            .await
            .map(drop)
            .map_err(|e| error::from_storage(e, object::target(def, name)))
    }

    /// The stored object `name` (in `namespace`) of `def`, if any.
    pub(crate) async fn get_object(
        &self,
        def: &api::ResourceDef,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<serde_json::Value>, ApiError> {
        let (found, _) = self
            .store
            .get(&def.key(namespace, name), None)
            .await
            .map_err(|e| error::from_storage(e, object::target(def, name)))?;
        found.map(|kv| object::from_store(&kv)).transpose()
    }

    pub fn router(self: Arc<Self>) -> Router {
        let state = self.clone();
        Router::new()
            .route("/healthz", get(health))
            .route("/livez", get(health))
            .route("/readyz", get(health))
            .route("/version", get(version))
            .route("/metrics", get(metrics::handler))
            .route("/api", get(api_root))
            .route("/api/{version}", get(core_resources))
            .route("/apis", get(apis_root))
            .route("/apis/{group}", get(group))
            .route("/apis/{group}/{version}", get(group_resources))
            .route("/openapi/v2", get(openapi_v2))
            .route("/openapi/v3", get(openapi_index))
            .route("/openapi/v3/{*path}", get(openapi_document))
            .merge(oauth::routes())
            .fallback(resources::handle)
            // Innermost first: the chain runs from the last layer added to the first.
            .layer(middleware::from_fn_with_state(self.clone(), authorize))
            .layer(middleware::from_fn_with_state(
                self.clone(),
                http::in_flight::limit,
            ))
            .layer(middleware::from_fn(audit::note_impersonation))
            .layer(middleware::from_fn_with_state(
                self.clone(),
                impersonation::impersonate,
            ))
            // Audit, as upstream: after authentication (the policy matches the authenticated
            // user), before impersonation, the in-flight limits and authorization (so refused
            // requests are recorded with their 403 or 429).
            .layer(middleware::from_fn_with_state(self.clone(), audit::record))
            .layer(middleware::from_fn_with_state(
                self.clone(),
                authentication::authenticate,
            ))
            .layer(middleware::from_fn_with_state(
                self.clone(),
                http::timeout::deadline,
            ))
            .layer(middleware::from_fn_with_state(
                self.clone(),
                http::recover::recover,
            ))
            .layer(middleware::from_fn_with_state(state, metrics::record))
            .with_state(self)
    }
}
