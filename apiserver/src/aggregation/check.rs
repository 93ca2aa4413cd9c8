//! The availability check of an aggregated group version, as kube-aggregator's available
//! controller does it: the service, its port, its endpoints, then a GET of the group
//! version's discovery as `system:kube-aggregator` (in `system:masters`), with upstream's
//! reasons and messages. The answer is kept as the group version's discovery. `get` is the
//! aggregator's GET of its servers, shared with the OpenAPI fetch (`openapi.rs`).

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use http_body_util::{BodyExt, Limited};
use serde_json::Value;

use super::apiservice::{Condition, ServiceRef, Spec};
use super::transport::Transport;
use crate::ApiServer;
use crate::webhook_client::resolve;

/// How long the discovery GET may take.
const TIMEOUT: Duration = Duration::from_secs(5);
/// The largest discovery document read.
const MAX_DISCOVERY: usize = 4 * 1024 * 1024;

/// The outcome of one check: the condition, the discovery document when it answered, and
/// where its server was reached.
pub struct Outcome {
    pub condition: Condition,
    pub discovery: Option<Value>,
    pub addr: Option<SocketAddr>,
}

/// Where requests for `service` go now: its first ready endpoint, or why there is none (the
/// reason and message of an unavailable APIService).
pub async fn endpoint(
    server: &ApiServer,
    service: &ServiceRef,
) -> Result<SocketAddr, (&'static str, String)> {
    let (ns, name, port) = (&service.namespace, &service.name, service.port);
    let read = |resource: &'static str| async move {
        let def = server.scheme.lookup("", "v1", resource)?;
        match server.cached_object(def, Some(ns), name).await.ok()? {
            Some(found) => Some(found),
            None => server.get_object(def, Some(ns), name).await.ok()?,
        }
    };
    let Some(svc) = read("services").await else {
        let message = format!("service/{name} in {ns:?} is not present");
        return Err(("ServiceNotFound", message));
    };
    let is_cluster_ip = svc["spec"]["type"].as_str().unwrap_or("ClusterIP") == "ClusterIP";
    let port_entry = svc["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["port"].as_u64() == Some(u64::from(port)));
    if is_cluster_ip && port_entry.is_none() {
        let message = format!("service/{name} in {ns:?} is not listening on port {port}");
        return Err(("ServicePortError", message));
    }
    let Some(endpoints) = read("endpoints").await else {
        let message = format!("cannot find endpoints for service/{name} in {ns:?}");
        return Err(("EndpointsNotFound", message));
    };
    resolve::endpoint(&svc, &endpoints, port).ok_or_else(|| {
        let port_name = port_entry
            .and_then(|p| p["name"].as_str())
            .unwrap_or_default();
        let message = format!(
            "endpoints for service/{name} in {ns:?} have no addresses with port name {port_name:?}"
        );
        ("MissingEndpoints", message)
    })
}

/// The TLS name of a service.
pub fn server_name(service: &ServiceRef) -> String {
    format!("{}.{}.svc", service.name, service.namespace)
}

/// The group version's discovery path on its server.
pub fn discovery_path(spec: &Spec) -> String {
    match spec.group.as_str() {
        "" => format!("/api/{}", spec.version),
        group => format!("/apis/{group}/{}", spec.version),
    }
}

pub async fn check(
    server: &ApiServer,
    spec: &Spec,
    service: &ServiceRef,
    transport: &Transport,
) -> Outcome {
    let addr = match endpoint(server, service).await {
        Ok(addr) => addr,
        Err((reason, message)) => {
            return Outcome {
                condition: Condition::unavailable(reason, message),
                discovery: None,
                addr: None,
            };
        }
    };
    let url = format!("https://{addr}{}", discovery_path(spec));
    let fetched = tokio::time::timeout(TIMEOUT, fetch(transport, addr, service, spec)).await;
    let failed = |e: String| Outcome {
        condition: Condition::unavailable(
            "FailedDiscoveryCheck",
            format!("failing or missing response from {url}: {e}"),
        ),
        discovery: None,
        addr: None,
    };
    match fetched {
        Err(_) => failed(format!(
            "Get {url:?}: context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
        )),
        Ok(Err(e)) => failed(e),
        Ok(Ok(discovery)) => Outcome {
            condition: Condition {
                status: "True",
                reason: "Passed".into(),
                message: "all checks passed".into(),
            },
            discovery,
            addr: Some(addr),
        },
    }
}

async fn fetch(
    transport: &Transport,
    addr: SocketAddr,
    service: &ServiceRef,
    spec: &Spec,
) -> Result<Option<Value>, String> {
    let body = get(
        transport,
        addr,
        service,
        &discovery_path(spec),
        MAX_DISCOVERY,
    )
    .await?;
    // A server that answers but not with a resource list is available, without discovery.
    Ok(serde_json::from_slice::<Value>(&body)
        .ok()
        .filter(|doc| doc["kind"] == "APIResourceList"))
}

/// A GET of `path` (with its query) from the service's server at `addr` as
/// `system:kube-aggregator`, its body read up to `limit` bytes; failures in Go's words.
pub async fn get(
    transport: &Transport,
    addr: SocketAddr,
    service: &ServiceRef,
    path: &str,
    limit: usize,
) -> Result<bytes::Bytes, String> {
    let url = format!("https://{addr}{path}");
    let name = server_name(service);
    let mut sender = transport
        .connect(addr, &name)
        .await
        .map_err(|e| format!("Get {url:?}: {e}"))?;
    let request = hyper::Request::get(path)
        .header(hyper::header::HOST, format!("{name}:{}", service.port))
        .header(hyper::header::ACCEPT, "application/json")
        .header("X-Remote-User", "system:kube-aggregator")
        .header("X-Remote-Group", "system:masters")
        .body(Body::empty())
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("Get {url:?}: {e}"))?;
    let code = response.status().as_u16();
    if !(200..300).contains(&code) {
        return Err(format!("bad status from {url}: {code}"));
    }
    Ok(Limited::new(response.into_body(), limit)
        .collect()
        .await
        .map_err(|e| format!("Get {url:?}: {e}"))?
        .to_bytes())
}
