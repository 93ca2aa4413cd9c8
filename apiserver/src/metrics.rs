//! `/metrics`: the API server's Prometheus metrics, under upstream's names.
//!
//! - `apiserver_request_total` and `apiserver_request_duration_seconds` by verb, group,
//!   version, resource, subresource (and code for the counter);
//! - `apiserver_current_inflight_requests` by kind (`readOnly`, `mutating`);
//! - `apiserver_registered_watchers` by group, version and resource;
//! - `apiserver_storage_objects` by resource, counted in the store at scrape time;
//! - `apiserver_terminated_watchers` by resource: watchers closed for falling behind;
//! - `oxshift_authorizer_rebuilds_total`: RBAC policy rebuilds after one of its feeds ended;
//! - `openshift_auth_basic_password_count`, `..._count_result` (by `result`),
//!   `openshift_auth_form_password_count`, `..._count_result` and
//!   `openshift_auth_password_total`: password attempts of `oc login` (basic) and of the login
//!   page (form). They are exposed as gauges that only grow, so that they keep upstream's
//!   exact names.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::request_info::{self, RequestInfo};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    verb: String,
    group: String,
    version: String,
    resource: String,
    subresource: String,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DurationLabels {
    verb: String,
    group: String,
    version: String,
    resource: String,
    subresource: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InflightLabels {
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

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<DurationLabels, Histogram>,
    inflight: Family<InflightLabels, Gauge>,
    watchers: Family<ResourceLabels, Gauge>,
    stored: Family<StoredLabels, Gauge>,
    terminated: Family<StoredLabels, Counter>,
    authorizer_rebuilds: Counter,
    basic_password: Gauge,
    basic_password_result: Family<ResultLabels, Gauge>,
    form_password: Gauge,
    form_password_result: Family<ResultLabels, Gauge>,
    password_total: Gauge,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: String,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let durations = Family::<DurationLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        let inflight = Family::<InflightLabels, Gauge>::default();
        let watchers = Family::<ResourceLabels, Gauge>::default();
        let stored = Family::<StoredLabels, Gauge>::default();
        let terminated = Family::<StoredLabels, Counter>::default();
        registry.register(
            "apiserver_request",
            "Counter of apiserver requests by verb, resource and HTTP code",
            requests.clone(),
        );
        registry.register(
            "apiserver_request_duration_seconds",
            "Response latency distribution in seconds by verb and resource (watches: until the stream starts)",
            durations.clone(),
        );
        registry.register(
            "apiserver_current_inflight_requests",
            "Requests being served, by kind",
            inflight.clone(),
        );
        registry.register(
            "apiserver_registered_watchers",
            "Open watches, by resource",
            watchers.clone(),
        );
        registry.register(
            "apiserver_storage_objects",
            "Objects stored, by resource",
            stored.clone(),
        );
        registry.register(
            "apiserver_terminated_watchers",
            "Watchers closed because they could not keep up, by resource",
            terminated.clone(),
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
        Metrics {
            registry,
            basic_password,
            basic_password_result,
            form_password,
            form_password_result,
            password_total,
            requests,
            durations,
            inflight,
            watchers,
            stored,
            terminated,
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

impl Metrics {
    /// One `oc login` (Basic) password attempt.
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
        out
    }
}

fn is_mutating(info: &RequestInfo) -> bool {
    matches!(
        info.verb.as_str(),
        "create" | "update" | "patch" | "delete" | "deletecollection"
    )
}

/// Records every request's count, latency and concurrency.
pub async fn record(
    State(server): State<Arc<crate::ApiServer>>,
    mut request: Request,
    next: Next,
) -> Response {
    // The outermost layer: parse the request info once for every layer within.
    let info = request_info::attach(&mut request);
    let metrics = &server.metrics;
    let kind = if is_mutating(&info) {
        "mutating"
    } else {
        "readOnly"
    };
    let inflight = metrics
        .inflight
        .get_or_create(&InflightLabels {
            request_kind: kind.into(),
        })
        .clone();
    inflight.inc();
    let started = Instant::now();
    let response = next.run(request).await;
    inflight.dec();
    let verb = info.verb.to_uppercase();
    let duration = DurationLabels {
        verb: verb.clone(),
        group: info.group.clone(),
        version: info.version.clone(),
        resource: info.resource.clone(),
        subresource: info.subresource.clone().unwrap_or_default(),
    };
    metrics
        .durations
        .get_or_create(&duration)
        .observe(started.elapsed().as_secs_f64());
    let labels = RequestLabels {
        verb,
        group: info.group,
        version: info.version,
        resource: info.resource,
        subresource: info.subresource.unwrap_or_default(),
        code: response.status().as_u16().to_string(),
    };
    metrics.requests.get_or_create(&labels).inc();
    response
}

pub async fn handler(State(server): State<Arc<crate::ApiServer>>) -> Response {
    let body = server.metrics.render(&server).await;
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response()
}
