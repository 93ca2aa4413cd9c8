//! The chain every request goes through, and the routes: health, version, discovery and
//! OpenAPI here, the OAuth server's pages, and everything else to the registry.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;

use crate::error::ApiError;
use crate::http::serve::User;
use crate::{
    ApiServer, KUBERNETES_VERSION, Shared, aggregation, audit, authn, discovery, http,
    image_registry, metrics, oauth, openapi, registry,
};

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
        || discovery::aggregated(&s.served().scheme, true),
        || discovery::api_versions(&s.address),
    )
}

async fn apis_root(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let table = s.aggregation.table();
    discovery_root(
        &headers,
        || {
            let mut doc = discovery::aggregated(&s.served().scheme, false);
            aggregation::discovery::merge_aggregated(&mut doc, &table);
            doc
        },
        || {
            let mut doc = discovery::api_group_list(&s.served().scheme);
            aggregation::discovery::merge_group_list(&mut doc, &table);
            doc
        },
    )
}

async fn core_resources(State(s): State<Shared>, Path(version): Path<String>) -> Response {
    match discovery::api_resource_list(&s.served().scheme, "", &version) {
        Some(doc) => json(&doc),
        None => ApiError::PathNotFound.into_response(),
    }
}

async fn group(State(s): State<Shared>, Path(group): Path<String>) -> Response {
    let found = discovery::api_group(&s.served().scheme, &group)
        .or_else(|| aggregation::discovery::group(&s.aggregation.table(), &group));
    match found {
        Some(doc) => json(&doc),
        None => ApiError::PathNotFound.into_response(),
    }
}

async fn group_resources(
    State(s): State<Shared>,
    Path((group, version)): Path<(String, String)>,
) -> Response {
    match discovery::api_resource_list(&s.served().scheme, &group, &version) {
        Some(doc) => json(&doc),
        None => ApiError::PathNotFound.into_response(),
    }
}

async fn openapi_index(State(s): State<Shared>) -> Response {
    let served = s.served();
    let aggregated = s.aggregation.openapi_documents();
    let index = match (served.customs().is_empty(), aggregated.is_empty()) {
        (true, true) => s.openapi().index.clone(),
        (false, true) => {
            crate::custom_resources::openapi::index(&s.openapi().index, served.openapi())
        }
        (_, false) => {
            let mut extra = served.openapi().clone();
            extra.extend(aggregated);
            crate::custom_resources::openapi::index(&s.openapi().index, &extra)
        }
    };
    ([(header::CONTENT_TYPE, "application/json")], index).into_response()
}

/// `GET /openapi/v2`: JSON, or protobuf for clients that ask for it (kubectl's validation);
/// with the custom resources when definitions serve any, and the aggregated servers' kinds.
async fn openapi_v2(State(s): State<Shared>, headers: axum::http::HeaderMap) -> Response {
    // Asked for with `@v1.0`, answered with `.v1.0` (a media type Go's parser accepts).
    const PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("*/*");
    let served = s.served();
    let builtin = s.openapi();
    let (json, protobuf) = match served.customs().is_empty() {
        true => (&builtin.swagger, &builtin.swagger_protobuf),
        false => {
            let (json, protobuf) = served.swagger(&builtin.swagger);
            (json, protobuf)
        }
    };
    // With the aggregated servers' documents, when any published one.
    let aggregated = s.aggregation.swagger(&served, json);
    let (json, protobuf) = match &aggregated {
        Some(doc) => (&doc.0, &doc.1),
        None => (json, protobuf),
    };
    if accept.contains("application/com.github.proto-openapi.spec.v2") {
        return ([(header::CONTENT_TYPE, PROTOBUF)], protobuf.clone()).into_response();
    }
    if !accept.contains("json") && !accept.contains("*/*") {
        return ApiError::NotAcceptable.into_response();
    }
    ([(header::CONTENT_TYPE, "application/json")], json.clone()).into_response()
}

async fn openapi_document(State(s): State<Shared>, Path(path): Path<String>) -> Response {
    let key = openapi::parse_gv_path(&path).map(|(g, v)| openapi::gv_path(g, v));
    let found = key.and_then(|k| {
        let builtin = s.openapi().documents.get(&k).cloned();
        builtin
            .or_else(|| s.served().openapi().get(&k).cloned())
            .or_else(|| s.aggregation.openapi_document(&k).map(|d| d.to_string()))
    });
    match found {
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
    if oauth::is_public(path) || image_registry::is_public(path) {
        return next.run(request).await;
    }
    let path = path.to_string();
    let mut info = http::request_info::of(&request);
    if info.is_resource && info.name.is_none() && matches!(info.verb.as_str(), "list" | "watch") {
        info.name = http::request_info::selected_name(request.uri().query());
    }
    let mut request = request;
    if is_access_review(&info) {
        // A personal access review is authorized as a SelfSubjectAccessReview, as upstream.
        let (parts, body) = request.into_parts();
        let bytes = match http::body::read(body).await {
            Ok(bytes) => bytes,
            Err(e) => return e.into_response(),
        };
        if registry::authorization::reviews::is_personal(&bytes) {
            info.group = "authorization.k8s.io".into();
            info.resource = "selfsubjectaccessreviews".into();
        }
        request = Request::from_parts(parts, axum::body::Body::from(bytes));
    }
    if let Some(user) = request.extensions().get::<User>() {
        let decision = server.authorizer.check(user, &info, &path).await;
        let word = if decision.is_ok() { "allow" } else { "forbid" };
        audit::annotate(request.extensions(), "authorization.k8s.io/decision", word);
        if let Err(e) = decision {
            return e.into_response();
        }
    }
    next.run(request).await
}

/// A create of OpenShift's subject access reviews, which may be personal.
fn is_access_review(info: &http::request_info::RequestInfo) -> bool {
    info.is_resource
        && info.verb == "create"
        && info.subresource.is_none()
        && info.group == "authorization.openshift.io"
        && matches!(
            info.resource.as_str(),
            "subjectaccessreviews" | "localsubjectaccessreviews"
        )
}

impl ApiServer {
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
            // Upstream answers these with a trailing slash too (clients ask for `/api/`).
            .route("/version/", get(version))
            .route("/api/", get(api_root))
            .route("/api/{version}/", get(core_resources))
            .route("/apis/", get(apis_root))
            .route("/apis/{group}/", get(group))
            .route("/apis/{group}/{version}/", get(group_resources))
            .route("/openapi/v2", get(openapi_v2))
            .route("/openapi/v3", get(openapi_index))
            .route("/openapi/v3/{*path}", get(openapi_document))
            .merge(oauth::routes())
            .merge(image_registry::routes())
            .fallback(registry::dispatch::handle)
            // Innermost first: the chain runs from the last layer added to the first.
            // Aggregated group versions go to their servers once authorized.
            .layer(middleware::from_fn_with_state(
                self.clone(),
                aggregation::proxy::layer,
            ))
            .layer(middleware::from_fn_with_state(self.clone(), authorize))
            .layer(middleware::from_fn_with_state(
                self.clone(),
                http::in_flight::limit,
            ))
            .layer(middleware::from_fn(audit::note_impersonation))
            .layer(middleware::from_fn_with_state(
                self.clone(),
                authn::impersonation::impersonate,
            ))
            // Audit, as upstream: after authentication (the policy matches the authenticated
            // user), before impersonation, the in-flight limits and authorization (so refused
            // requests are recorded with their 403 or 429).
            .layer(middleware::from_fn_with_state(self.clone(), audit::record))
            .layer(middleware::from_fn_with_state(
                self.clone(),
                authn::authentication::authenticate,
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

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use tower::ServiceExt;

    use super::*;

    async fn readyz(server: &Arc<ApiServer>) -> (StatusCode, String) {
        let request = axum::http::Request::builder()
            .uri("/readyz?verbose")
            .body(Body::empty())
            .unwrap();
        let response = server.clone().router().oneshot(request).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn readiness_fails_once_shutdown_begins() {
        let cluster = crate::testing::Cluster::new();
        cluster.server.bootstrap().await.unwrap();
        let (status, body) = readyz(&cluster.server).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains("[+]shutdown ok"), "{body}");
        cluster.server.begin_shutdown();
        let (status, body) = readyz(&cluster.server).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
        assert!(body.contains("[-]shutdown failed"), "{body}");
    }
}
