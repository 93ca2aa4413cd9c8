//! The integrated registry's front: it listens on the registry's advertised loopback port,
//! serves OpenShift's signature extension (`/extensions/v2/<ns>/<stream>/signatures/<digest>`,
//! `signatures.rs`) itself, and forwards everything else to docker-registry on an internal
//! loopback port (`forward.rs`), streaming.

mod api;
mod credentials;
mod errors;
mod forward;
mod path;
mod signatures;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::registry::BoxError;

pub(super) type Body = BoxBody<Bytes, BoxError>;

/// How long a client may take to send a request's head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);

pub(super) struct Front {
    upstream: SocketAddr,
    forward: forward::Upstream,
    api: api::Api,
    server: Arc<apiserver::ApiServer>,
    /// docker-registry's challenge, sent with the extension's 401s.
    challenge: HeaderValue,
}

/// Where the front sends what it does not serve, and what it answers with.
pub(super) struct Settings {
    pub upstream: SocketAddr,
    /// The API server's URL and the CA its certificate is signed by.
    pub api_url: String,
    pub ca_pem: String,
    pub realm: String,
    pub service: String,
}

impl Front {
    pub(super) fn new(
        settings: Settings,
        server: Arc<apiserver::ApiServer>,
    ) -> Result<Front, BoxError> {
        let challenge = HeaderValue::from_str(&format!(
            "Bearer realm=\"{}\",service=\"{}\"",
            settings.realm, settings.service
        ))?;
        let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
        connector.set_nodelay(true);
        Ok(Front {
            upstream: settings.upstream,
            forward: Client::builder(TokioExecutor::new()).build(connector),
            api: api::Api::new(&settings.api_url, &settings.ca_pem)?,
            server,
            challenge,
        })
    }

    async fn serve(self: Arc<Self>, request: Request<Incoming>) -> Response<Body> {
        match path::parse(request.uri().path()) {
            Some(Ok(target)) => signatures::handle(&self, target, request).await,
            Some(Err(e)) => e.response(&self.challenge),
            None => forward::forward(&self.forward, self.upstream, &self.challenge, request).await,
        }
    }
}

/// Serves `listener` until the returned task is aborted (its connections with it).
pub(super) fn spawn(listener: TcpListener, front: Front) -> tokio::task::JoinHandle<()> {
    let front = Arc::new(front);
    tokio::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "the registry front could not accept");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            while connections.try_join_next().is_some() {}
            let _ = stream.set_nodelay(true);
            let front = front.clone();
            connections.spawn(async move {
                let service = service_fn(move |request| {
                    let front = front.clone();
                    async move { Ok::<_, std::convert::Infallible>(front.serve(request).await) }
                });
                let served = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(HEAD_TIMEOUT)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
                if let Err(e) = served {
                    tracing::debug!(error = %e, "a registry connection ended");
                }
            });
        }
    })
}
