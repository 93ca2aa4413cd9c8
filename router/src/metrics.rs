//! The router's counters and its health and metrics endpoint (`/healthz`, `/metrics` in the
//! Prometheus text format), on a listener of its own as upstream's stats port.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body::Frame;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::service::service_fn;
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::stats::{Registry, label};
use crate::table::Current;

#[derive(Default)]
pub struct Metrics {
    pub requests: AtomicU64,
    pub errors: AtomicU64,
    pub connections: AtomicU64,
    pub reloads: AtomicU64,
    /// Each route's and server's counters.
    pub routes: Arc<Registry>,
    /// Connections to a reencrypt route's backend refused because its certificate failed
    /// verification, by route (namespace, name): rare, so counted under a lock.
    untrusted: Mutex<BTreeMap<(String, String), u64>>,
}

/// Its name: the backend connection errors HAProxy counts per server, for the one cause that
/// is the route's configuration rather than the backend's health.
const UNTRUSTED: &str = "router_backend_tls_verification_failures_total";

impl Metrics {
    /// A backend of the route refused: its certificate failed verification.
    pub fn untrusted_backend(&self, namespace: &str, route: &str) {
        let mut counts = self.untrusted.lock().unwrap_or_else(|p| p.into_inner());
        *counts
            .entry((namespace.to_string(), route.to_string()))
            .or_default() += 1;
    }

    /// The metrics' text, in chunks (most of it, the routes' counters, rendered as it is read).
    fn render(&self, table: &Current) -> impl Iterator<Item = String> + Send + use<> {
        let routes = table.get().routes;
        let mut text = format!(
            "# TYPE router_http_requests_total counter\nrouter_http_requests_total {}\n\
             # TYPE router_http_responses_5xx_total counter\nrouter_http_responses_5xx_total {}\n\
             # TYPE router_connections_total counter\nrouter_connections_total {}\n\
             # TYPE router_reloads_total counter\nrouter_reloads_total {}\n\
             # TYPE router_routes gauge\nrouter_routes {routes}\n",
            self.requests.load(Ordering::Relaxed),
            self.errors.load(Ordering::Relaxed),
            self.connections.load(Ordering::Relaxed),
            self.reloads.load(Ordering::Relaxed),
        );
        let counts = self.untrusted.lock().unwrap_or_else(|p| p.into_inner());
        text.push_str(&format!(
            "# HELP {UNTRUSTED} Connections to a route's backend refused because its \
             certificate failed verification.\n# TYPE {UNTRUSTED} counter\n"
        ));
        for ((namespace, route), n) in counts.iter() {
            text.push_str(&format!(
                "{UNTRUSTED}{{namespace=\"{}\",route=\"{}\"}} {n}\n",
                label(namespace),
                label(route)
            ));
        }
        drop(counts);
        std::iter::once(text).chain(self.routes.render())
    }
}

pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>, table: Current) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let (metrics, table) = (metrics.clone(), table.clone());
        tokio::spawn(async move {
            let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let response = match req.uri().path() {
                    "/healthz" | "/healthz/ready" => Response::new(Full::from("ok").boxed()),
                    "/metrics" => {
                        let chunks = metrics
                            .render(&table)
                            .map(|chunk| Ok(Frame::data(Bytes::from(chunk))));
                        Response::new(StreamBody::new(futures::stream::iter(chunks)).boxed())
                    }
                    _ => {
                        let mut response = Response::new(Full::default().boxed());
                        *response.status_mut() = StatusCode::NOT_FOUND;
                        response
                    }
                };
                async move { Ok::<_, Infallible>(response) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verification_failures_are_counted_per_route() {
        let metrics = Metrics::default();
        let text: String = metrics.render(&Current::default()).collect();
        assert!(text.contains(&format!("# TYPE {UNTRUSTED} counter\n")));
        assert!(!text.contains(&format!("{UNTRUSTED}{{")));
        metrics.untrusted_backend("ns", "bad");
        metrics.untrusted_backend("ns", "bad");
        metrics.untrusted_backend("other", "we\"ird");
        let text: String = metrics.render(&Current::default()).collect();
        assert!(text.contains(&format!(
            "{UNTRUSTED}{{namespace=\"ns\",route=\"bad\"}} 2\n"
        )));
        assert!(text.contains(&format!(
            "{UNTRUSTED}{{namespace=\"other\",route=\"we\\\"ird\"}} 1\n"
        )));
    }
}
