//! `/metrics`: the API server's Prometheus metrics, under upstream's names, labels and
//! buckets, in the Prometheus text format (what kube-apiserver serves and `promtool` reads).
//!
//! - `apiserver_request_total` and `apiserver_request_duration_seconds` by verb (`GET`,
//!   `LIST`, `WATCH`, `POST`, `PUT`, `PATCH`, `APPLY`, `DELETE`), dry run, group, version,
//!   resource, subresource, scope and component (and code for the counter). Labels come from
//!   the scheme: a path naming no served resource is counted with empty resource labels, so
//!   requests to random paths cannot grow the series;
//! - `apiserver_current_inflight_requests` by kind (`readOnly`, `mutating`), decremented
//!   however a request ends (a client that goes away included);
//! - `apiserver_dropped_requests_total`: requests refused by the in-flight limits;
//! - `apiserver_longrunning_requests` and `apiserver_registered_watchers`: open watches;
//! - `apiserver_storage_objects` by resource, counted in the store at scrape time;
//! - `apiserver_terminated_watchers_total` by resource: watchers closed for falling behind;
//! - `etcd_request_duration_seconds` by operation and type (resource): the store's latency,
//!   whatever the backend;
//! - `pod_security_evaluations_total`, `pod_security_exemptions_total` and
//!   `pod_security_errors_total`: the PodSecurity plugin's, as upstream labels them;
//! - `oxshift_request_panics_total`: handlers that panicked (answered 500);
//! - `oxshift_authorizer_rebuilds_total`: RBAC policy rebuilds after one of its feeds ended;
//! - `openshift_auth_basic_password_count`, `..._count_result` (by `result`),
//!   `openshift_auth_form_password_count`, `..._count_result` and
//!   `openshift_auth_password_total`: password attempts of `oc login` (basic) and of the login
//!   page (form). They are gauges that only grow, so that they keep upstream's exact names.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::http::request_info::{self, RequestInfo};

/// Upstream's buckets of request and storage latencies, in seconds.
const LATENCY_BUCKETS: [f64; 23] = [
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0,
    10.0, 15.0, 20.0, 30.0, 45.0, 60.0,
];

/// What a request is, as upstream labels it.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    verb: String,
    dry_run: String,
    group: String,
    version: String,
    resource: String,
    subresource: String,
    scope: String,
    component: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    verb: String,
    dry_run: String,
    group: String,
    version: String,
    resource: String,
    subresource: String,
    scope: String,
    component: String,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    decision: String,
    mode: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    request_kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResourceLabels {
    pub group: String,
    pub version: String,
    pub resource: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoredLabels {
    resource: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StorageLabels {
    operation: String,
    #[prometheus(flatten)]
    kind: StorageType,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StorageType {
    r#type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: String,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<CodeLabels, Counter>,
    durations: Family<RequestLabels, Histogram>,
    inflight: Family<KindLabels, Gauge>,
    dropped: Family<KindLabels, Counter>,
    longrunning: Family<RequestLabels, Gauge>,
    watchers: Family<ResourceLabels, Gauge>,
    stored: Family<StoredLabels, Gauge>,
    terminated: Family<StoredLabels, Counter>,
    storage: Family<StorageLabels, Histogram>,
    panics: Counter,
    authorizer_rebuilds: Counter,
    basic_password: Gauge,
    basic_password_result: Family<ResultLabels, Gauge>,
    form_password: Gauge,
    form_password_result: Family<ResultLabels, Gauge>,
    password_total: Gauge,
    /// The admission webhooks' calls.
    pub webhooks: crate::admission::WebhookMetrics,
    /// Pod Security's evaluations, exemptions and errors.
    pub pod_security: crate::admission::pod_security::metrics::PodSecurityMetrics,
    binary_authorization: Family<DecisionLabels, Counter>,
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<CodeLabels, Counter>::default();
        let durations = Family::<RequestLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> _,
        );
        let inflight = Family::<KindLabels, Gauge>::default();
        let dropped = Family::<KindLabels, Counter>::default();
        let longrunning = Family::<RequestLabels, Gauge>::default();
        let watchers = Family::<ResourceLabels, Gauge>::default();
        let stored = Family::<StoredLabels, Gauge>::default();
        let terminated = Family::<StoredLabels, Counter>::default();
        let storage = Family::<StorageLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> _,
        );
        let panics = Counter::default();
        registry.register(
            "apiserver_request",
            "Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code",
            requests.clone(),
        );
        registry.register(
            "apiserver_request_duration_seconds",
            "Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component (watches: until the stream starts)",
            durations.clone(),
        );
        registry.register(
            "apiserver_current_inflight_requests",
            "Maximal number of currently used inflight request limit of this apiserver per request kind in last second",
            inflight.clone(),
        );
        registry.register(
            "apiserver_dropped_requests",
            "Number of requests dropped with 'Try again later' response",
            dropped.clone(),
        );
        registry.register(
            "apiserver_longrunning_requests",
            "Gauge of all active long-running apiserver requests broken out by verb, group, version, resource, scope and component",
            longrunning.clone(),
        );
        registry.register(
            "apiserver_registered_watchers",
            "Number of currently registered watchers for a given resources",
            watchers.clone(),
        );
        registry.register(
            "apiserver_storage_objects",
            "Number of stored objects at the time of last check split by kind",
            stored.clone(),
        );
        registry.register(
            "apiserver_terminated_watchers",
            "Counter of watchers closed due to unresponsiveness broken by resource type",
            terminated.clone(),
        );
        registry.register(
            "etcd_request_duration_seconds",
            "Storage request latency in seconds for each operation and object type",
            storage.clone(),
        );
        registry.register(
            "oxshift_request_panics",
            "Requests whose handler panicked (answered 500)",
            panics.clone(),
        );
        let authorizer_rebuilds = Counter::default();
        registry.register(
            "oxshift_authorizer_rebuilds",
            "RBAC policy rebuilds after one of its feeds ended",
            authorizer_rebuilds.clone(),
        );
        let basic_password = Gauge::default();
        let basic_password_result = Family::<ResultLabels, Gauge>::default();
        let password_total = Gauge::default();
        registry.register(
            "openshift_auth_basic_password_count",
            "Counts total password authentication attempts by oc login",
            basic_password.clone(),
        );
        registry.register(
            "openshift_auth_basic_password_count_result",
            "Counts password authentication attempts by oc login, by result",
            basic_password_result.clone(),
        );
        let form_password = Gauge::default();
        let form_password_result = Family::<ResultLabels, Gauge>::default();
        registry.register(
            "openshift_auth_form_password_count",
            "Counts total password authentication attempts by the login page",
            form_password.clone(),
        );
        registry.register(
            "openshift_auth_form_password_count_result",
            "Counts password authentication attempts by the login page, by result",
            form_password_result.clone(),
        );
        registry.register(
            "openshift_auth_password_total",
            "Counts total password authentication attempts",
            password_total.clone(),
        );
        let webhooks = crate::admission::WebhookMetrics::register(&mut registry);
        let pod_security =
            crate::admission::pod_security::metrics::PodSecurityMetrics::register(&mut registry);
        let binary_authorization = Family::<DecisionLabels, Counter>::default();
        registry.register(
            "oxshift_binaryauthorization_decisions",
            "Pods and pod templates judged by the Binary Authorization policy, by decision (allow, deny, break-glass, dry-run-deny, fail-open, fail-closed) and enforcement mode",
            binary_authorization.clone(),
        );
        Metrics {
            webhooks,
            pod_security,
            binary_authorization,
            registry,
            requests,
            durations,
            inflight,
            dropped,
            longrunning,
            watchers,
            stored,
            terminated,
            storage,
            panics,
            basic_password,
            basic_password_result,
            form_password,
            form_password_result,
            password_total,
            authorizer_rebuilds,
        }
    }
}

/// Counts one open watch while it lives.
pub struct WatchGuard {
    gauge: Gauge,
}

impl Drop for WatchGuard {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

/// Counts a request in flight until it is dropped, however the request ends.
struct InflightGuard(Gauge);

impl Drop for InflightGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl Metrics {
    /// Counts a password login: `form` for the login page, else a Basic challenge answer.
    pub fn password_attempt(&self, form: bool, success: bool) {
        let (count, by_result) = match form {
            true => (&self.form_password, &self.form_password_result),
            false => (&self.basic_password, &self.basic_password_result),
        };
        count.inc();
        self.password_total.inc();
        let result = if success { "success" } else { "failure" };
        by_result
            .get_or_create(&ResultLabels {
                result: result.into(),
            })
            .inc();
    }

    pub fn watch_opened(&self, labels: ResourceLabels) -> WatchGuard {
        let gauge = self.watchers.get_or_create(&labels).clone();
        gauge.inc();
        WatchGuard { gauge }
    }

    /// A handler panicked.
    /// One Binary Authorization decision.
    pub fn binary_authorization_decision(&self, decision: &str, mode: &str) {
        self.binary_authorization
            .get_or_create(&DecisionLabels {
                decision: decision.into(),
                mode: mode.into(),
            })
            .inc();
    }

    pub fn panicked(&self) {
        self.panics.inc();
    }

    /// A request refused by the in-flight limits.
    pub fn rejected(&self, mutating: bool) {
        let kind = if mutating { "mutating" } else { "readOnly" };
        self.dropped
            .get_or_create(&KindLabels {
                request_kind: kind.into(),
            })
            .inc();
    }

    /// The latency histogram of a storage operation on the resource `kind`.
    pub fn storage_histogram(&self, operation: &str, kind: &str) -> Histogram {
        self.storage
            .get_or_create(&StorageLabels {
                operation: operation.into(),
                kind: StorageType {
                    r#type: kind.into(),
                },
            })
            .clone()
    }

    /// The text exposition, after counting the stored objects of every resource.
    pub async fn render(&self, server: &crate::ApiServer) -> String {
        for def in server.scheme.resources() {
            let resource = match def.group {
                "" => def.plural.to_string(),
                g => format!("{}.{g}", def.plural),
            };
            let closed = server.watch_caches.slow_closed(&def.key_prefix());
            let labels = StoredLabels { resource };
            if closed > 0 {
                let counter = self.terminated.get_or_create(&labels);
                counter.inc_by(closed.saturating_sub(counter.get()));
            }
            if let Ok(n) = server.store.count(&def.key_prefix()).await {
                self.stored.get_or_create(&labels).set(n as i64);
            }
        }
        let rebuilds = server.authorizer.rebuilds();
        let counted = self.authorizer_rebuilds.get();
        self.authorizer_rebuilds
            .inc_by(rebuilds.saturating_sub(counted));
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        prometheus_text(&out)
    }
}

/// OpenMetrics text as the Prometheus text format (0.0.4): counter families are named with
/// their `_total` samples, and the OpenMetrics-only lines (`# UNIT`, `# EOF`) go.
fn prometheus_text(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(name)
                .then(|| format!("{prefix}{name}_total {tail}"))
        });
        match renamed {
            Some(line) => out.push_str(&line),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

pub fn is_mutating(info: &RequestInfo) -> bool {
    matches!(
        info.verb.as_str(),
        "create" | "update" | "patch" | "delete" | "deletecollection"
    )
}

/// The verb upstream reports: the HTTP method, but `LIST` and `WATCH` for collection reads
/// and `APPLY` for server-side applies.
fn reported_verb(method: &Method, info: &RequestInfo, apply: bool) -> String {
    match info.verb.as_str() {
        "list" => "LIST".into(),
        "watch" => "WATCH".into(),
        "patch" if apply => "APPLY".into(),
        _ => method.as_str().to_string(),
    }
}

/// A request's labels, with only what the scheme serves: a path naming nothing served is
/// counted with empty resource labels.
fn request_labels(
    server: &crate::ApiServer,
    method: &Method,
    info: &RequestInfo,
    query: Option<&str>,
    apply: bool,
) -> RequestLabels {
    let def = info
        .is_resource
        .then(|| {
            server
                .scheme
                .lookup(&info.group, &info.version, &info.resource)
        })
        .flatten();
    let (group, version, resource, subresource) = match def {
        Some(def) => {
            let sub = info
                .subresource
                .as_deref()
                .filter(|s| def.subresource(s).is_some())
                .unwrap_or_default();
            (def.group, def.version, def.plural, sub)
        }
        None => ("", "", "", ""),
    };
    let scope = match (def.is_some(), &info.name, &info.namespace) {
        (false, _, _) => "",
        (true, Some(_), _) => "resource",
        (true, None, Some(_)) => "namespace",
        (true, None, None) => "cluster",
    };
    let dry_run = query
        .unwrap_or_default()
        .split('&')
        .any(|kv| kv == "dryRun=All");
    RequestLabels {
        verb: reported_verb(method, info, apply),
        dry_run: if dry_run { "All" } else { "" }.into(),
        group: group.into(),
        version: version.into(),
        resource: resource.into(),
        subresource: subresource.into(),
        scope: scope.into(),
        component: "apiserver".into(),
    }
}

/// Records every request's count, latency and concurrency.
pub async fn record(
    State(server): State<Arc<crate::ApiServer>>,
    mut request: Request,
    next: Next,
) -> Response {
    // The outermost layer: parse the request info once for every layer within.
    let info = request_info::attach(&mut request);
    let apply = request
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/apply-patch"));
    let labels = request_labels(
        &server,
        request.method(),
        &info,
        request.uri().query(),
        apply,
    );
    let metrics = &server.metrics;
    let kind = if is_mutating(&info) {
        "mutating"
    } else {
        "readOnly"
    };
    let inflight = metrics
        .inflight
        .get_or_create(&KindLabels {
            request_kind: kind.into(),
        })
        .clone();
    inflight.inc();
    let _inflight = InflightGuard(inflight);
    let watching = info.verb == "watch";
    let started = Instant::now();
    let mut response = next.run(request).await;
    metrics
        .durations
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    let coded = CodeLabels {
        verb: labels.verb.clone(),
        dry_run: labels.dry_run.clone(),
        group: labels.group.clone(),
        version: labels.version.clone(),
        resource: labels.resource.clone(),
        subresource: labels.subresource.clone(),
        scope: labels.scope.clone(),
        component: labels.component.clone(),
        code: response.status().as_u16().to_string(),
    };
    metrics.requests.get_or_create(&coded).inc();
    if watching && response.status().is_success() {
        // Open until its stream is dropped.
        let gauge = metrics.longrunning.get_or_create(&labels).clone();
        gauge.inc();
        let guard = WatchGuard { gauge };
        response = response.map(|body| crate::http::body::guarded(body, guard));
    }
    response
}

pub async fn handler(State(server): State<Arc<crate::ApiServer>>) -> Response {
    let body = server.metrics.render(&server).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_named_with_their_total_suffix() {
        let text = "# HELP a_requests Requests.\n# TYPE a_requests counter\na_requests_total 3\n# HELP g A gauge.\n# TYPE g gauge\ng 1\n# EOF\n";
        assert_eq!(
            prometheus_text(text),
            "# HELP a_requests_total Requests.\n# TYPE a_requests_total counter\na_requests_total 3\n# HELP g A gauge.\n# TYPE g gauge\ng 1\n"
        );
    }

    #[test]
    fn labels_come_from_the_scheme_only() {
        let server = crate::ApiServer::new(
            api::Scheme::builtin(),
            Arc::new(test_store()),
            "127.0.0.1:0".into(),
        );
        let info =
            crate::http::request_info::parse(&Method::GET, "/api/v1/namespaces/a/bogus-xyz", false);
        let labels = request_labels(&server, &Method::GET, &info, None, false);
        assert_eq!((labels.resource.as_str(), labels.scope.as_str()), ("", ""));
        let info = crate::http::request_info::parse(
            &Method::GET,
            "/api/v1/namespaces/a/configmaps",
            false,
        );
        let labels = request_labels(&server, &Method::GET, &info, Some("dryRun=All"), false);
        assert_eq!(
            (
                labels.verb.as_str(),
                labels.resource.as_str(),
                labels.scope.as_str(),
                labels.dry_run.as_str()
            ),
            ("LIST", "configmaps", "namespace", "All")
        );
    }

    fn test_store() -> storage::RedbStore {
        let dir = tempfile::tempdir().unwrap();
        let store = storage::RedbStore::open(dir.path(), storage::RedbConfig::default()).unwrap();
        std::mem::forget(dir);
        store
    }
}
