//! The router's counters and its health and metrics endpoint (`/healthz`, `/metrics` in the
//! Prometheus text format), on a listener of its own as upstream's stats port.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::table::Current;

#[derive(Default)]
pub struct Metrics {
    pub requests: AtomicU64,
    pub errors: AtomicU64,
    pub connections: AtomicU64,
    pub reloads: AtomicU64,
}

impl Metrics {
    fn render(&self, table: &Current) -> String {
        let routes = table.get().routes;
        format!(
            "# TYPE router_http_requests_total counter\nrouter_http_requests_total {}\n\
             # TYPE router_http_responses_5xx_total counter\nrouter_http_responses_5xx_total {}\n\
             # TYPE router_connections_total counter\nrouter_connections_total {}\n\
             # TYPE router_reloads_total counter\nrouter_reloads_total {}\n\
             # TYPE router_routes gauge\nrouter_routes {routes}\n",
            self.requests.load(Ordering::Relaxed),
            self.errors.load(Ordering::Relaxed),
            self.connections.load(Ordering::Relaxed),
            self.reloads.load(Ordering::Relaxed),
        )
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
                let body = match req.uri().path() {
                    "/healthz" | "/healthz/ready" => Some("ok".to_string()),
                    "/metrics" => Some(metrics.render(&table)),
                    _ => None,
                };
                let mut response =
                    Response::new(Full::new(Bytes::from(body.clone().unwrap_or_default())));
                if body.is_none() {
                    *response.status_mut() = StatusCode::NOT_FOUND;
                }
                async move { Ok::<_, std::convert::Infallible>(response) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
