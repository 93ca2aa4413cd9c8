//! The node's HTTPS API, what the kubelet serves on 10250 and the API server proxies
//! `pods/log`, `pods/exec`, `pods/attach` and `pods/portforward` to: every client presents a
//! certificate from the cluster CA and is authorized with a SubjectAccessReview on
//! `nodes/proxy` (`authz`); the container runtime behind it is a `ContainerIo`.
//!
//! Routes: `/healthz`; `GET /containerLogs/{ns}/{pod}/{container}` (`logs`);
//! `/exec/{ns}/{pod}/{container}` and `/attach/{ns}/{pod}/{container}` as WebSockets
//! (`v5.channel.k8s.io`, `v4.channel.k8s.io`; `streams`); `/portForward/{ns}/{pod}` as SPDY
//! tunnelled in a WebSocket (`port_forward`).

pub mod authz;
pub mod channels;
pub mod exit_status;
pub mod log_lines;
pub mod logs;
pub mod port_forward;
pub mod streams;
pub mod tls;
pub mod websocket;

use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{any, get};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::container_io::{ContainerIo, ContainerIoError, ContainerRef, StreamRequest};
use logs::plain;

/// What the node's API serves from.
#[derive(Clone)]
pub struct KubeletApiState {
    pub io: Arc<dyn ContainerIo>,
    pub node_name: String,
    pub authorizer: Arc<authz::Authorizer>,
}

impl KubeletApiState {
    /// The state of node `node_name`, authorizing with SubjectAccessReviews made with
    /// `client` (the node's own credentials).
    pub fn new(io: Arc<dyn ContainerIo>, node_name: String, client: kube::Client) -> Self {
        let reviews = Arc::new(authz::SubjectAccessReviews(client));
        Self::with_reviewer(io, node_name, reviews)
    }

    /// The same with another way of reviewing access.
    pub fn with_reviewer(
        io: Arc<dyn ContainerIo>,
        node_name: String,
        reviewer: Arc<dyn authz::AccessReview>,
    ) -> Self {
        KubeletApiState {
            io,
            authorizer: Arc::new(authz::Authorizer::new(node_name.clone(), reviewer)),
            node_name,
        }
    }
}

/// The client a request came from: its certificate's user (CN) and groups (O).
#[derive(Clone, Debug)]
pub struct Peer {
    pub user: String,
    pub groups: Vec<String>,
}

/// Serves the node's API on `listener` with `tls` (see `tls::server_config`) until the task is
/// dropped.
pub async fn serve(listener: TcpListener, tls: Arc<rustls::ServerConfig>, state: KubeletApiState) {
    let acceptor = TlsAcceptor::from(tls);
    let app = router(state);
    loop {
        let (tcp, peer_address) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let (acceptor, app) = (acceptor.clone(), app.clone());
        tokio::spawn(async move {
            let _ = tcp.set_nodelay(true);
            let handshake = acceptor.accept(tcp);
            let tls =
                match tokio::time::timeout(std::time::Duration::from_secs(10), handshake).await {
                    Ok(Ok(tls)) => tls,
                    _ => return tracing::debug!(%peer_address, "TLS handshake failed"),
                };
            let peer = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .and_then(auth::pki::client_identity)
                .map(|(user, groups)| Peer { user, groups });
            let service = hyper::service::service_fn(
                move |mut request: hyper::Request<hyper::body::Incoming>| {
                    if let Some(peer) = &peer {
                        request.extensions_mut().insert(peer.clone());
                    }
                    app.clone().oneshot(request.map(Body::new))
                },
            );
            let builder = auto::Builder::new(TokioExecutor::new());
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
            if let Err(e) = connection.await {
                tracing::debug!(%peer_address, error = %e, "connection ended with an error");
            }
        });
    }
}

/// The routes, behind authentication and authorization.
pub fn router(state: KubeletApiState) -> Router {
    Router::new()
        .route(
            "/containerLogs/{namespace}/{pod}/{container}",
            get(container_logs),
        )
        .route("/exec/{namespace}/{pod}/{container}", any(exec))
        .route("/attach/{namespace}/{pod}/{container}", any(attach))
        .route("/portForward/{namespace}/{pod}", any(port_forward))
        .layer(middleware::from_fn_with_state(state.clone(), authorize))
        // Health needs a client certificate (as every connection) but no review.
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state)
}

/// The kubelet's authorization filter: 401 without an identity, 403 unless the review allows
/// `nodes/proxy` with the method's verb.
async fn authorize(State(state): State<KubeletApiState>, request: Request, next: Next) -> Response {
    let Some(peer) = request.extensions().get::<Peer>().cloned() else {
        return plain(StatusCode::UNAUTHORIZED, "Unauthorized");
    };
    let attributes = authz::Attributes {
        user: peer.user,
        groups: peer.groups,
        verb: authz::verb_of(request.method()).to_string(),
        subresource: "proxy".into(),
    };
    let describe = |a: &authz::Attributes| {
        format!(
            "(user={}, verb={}, resource=nodes, subresource={})",
            a.user, a.verb, a.subresource
        )
    };
    match state.authorizer.allowed(&attributes).await {
        Ok(true) => next.run(request).await,
        Ok(false) => plain(
            StatusCode::FORBIDDEN,
            format!("Forbidden {}", describe(&attributes)),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "access review failed");
            plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("Authorization error {}", describe(&attributes)),
            )
        }
    }
}

fn io_error(error: ContainerIoError) -> Response {
    match error {
        ContainerIoError::NotFound(m) => plain(StatusCode::NOT_FOUND, m),
        ContainerIoError::BadRequest(m) => plain(StatusCode::BAD_REQUEST, m),
        ContainerIoError::Runtime(m) => plain(StatusCode::INTERNAL_SERVER_ERROR, m),
    }
}

async fn container_logs(
    State(state): State<KubeletApiState>,
    Path((namespace, pod, container)): Path<(String, String, String)>,
    request: Request,
) -> Response {
    let options = match logs::parse_query(request.uri().query(), SystemTime::now()) {
        Ok(options) => options,
        Err(message) => return plain(StatusCode::UNPROCESSABLE_ENTITY, message),
    };
    let container = ContainerRef {
        namespace,
        pod,
        container,
    };
    match state.io.logs(&container, &options).await {
        Ok(log) => logs::streamed(logs::limited(log, options.limit_bytes)),
        Err(e) => io_error(e),
    }
}

/// The stream flags of an exec or attach query: the kubelet takes only the literal `1`.
fn stream_request(container: ContainerRef, query: Option<&str>, exec: bool) -> StreamRequest {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.unwrap_or_default()).unwrap_or_default();
    let flag = |name: &str| pairs.iter().any(|(k, v)| k == name && v == "1");
    let tty = flag("tty");
    StreamRequest {
        container,
        command: match exec {
            true => pairs
                .iter()
                .filter(|(k, _)| k == "command")
                .map(|(_, v)| v.clone())
                .collect(),
            false => Vec::new(),
        },
        stdin: flag("input"),
        stdout: flag("output"),
        // With a TTY, stderr is merged into stdout, as the kubelet does.
        stderr: flag("error") && !tty,
        tty,
    }
}

async fn exec(
    State(state): State<KubeletApiState>,
    Path((namespace, pod, container)): Path<(String, String, String)>,
    request: Request,
) -> Response {
    let container = ContainerRef {
        namespace,
        pod,
        container,
    };
    let stream = stream_request(container, request.uri().query(), true);
    if stream.command.is_empty() {
        return plain(
            StatusCode::BAD_REQUEST,
            "you must specify at least 1 command",
        );
    }
    start_stream(state, stream, request, true).await
}

async fn attach(
    State(state): State<KubeletApiState>,
    Path((namespace, pod, container)): Path<(String, String, String)>,
    request: Request,
) -> Response {
    let container = ContainerRef {
        namespace,
        pod,
        container,
    };
    let stream = stream_request(container, request.uri().query(), false);
    start_stream(state, stream, request, false).await
}

/// Answers the handshake, then starts the session in the runtime and serves it. A session
/// that cannot start is reported on the error channel, as the API server reports a node's
/// refusal to kubectl (an internal error with the runtime's text).
async fn start_stream(
    state: KubeletApiState,
    stream: StreamRequest,
    mut request: Request,
    exec: bool,
) -> Response {
    if !websocket::is_websocket(&request) {
        return plain(
            StatusCode::BAD_REQUEST,
            "Upgrade request required: this node serves streams as WebSockets (v5.channel.k8s.io, v4.channel.k8s.io)",
        );
    }
    if !(stream.stdin || stream.stdout || stream.stderr) {
        return plain(
            StatusCode::BAD_REQUEST,
            "you must specify at least 1 of stdin, stdout, stderr",
        );
    }
    let Some(accepted) = websocket::accept(&mut request, &[channels::V5, channels::V4]) else {
        return plain(StatusCode::BAD_REQUEST, "invalid WebSocket handshake");
    };
    let v5 = accepted.protocol == Some(channels::V5);
    let upgrade = accepted.upgrade;
    tokio::spawn(async move {
        let socket = match websocket::open(upgrade).await {
            Ok(socket) => socket,
            Err(e) => return tracing::debug!(error = %e, "stream upgrade failed"),
        };
        let session = match exec {
            true => state.io.exec(&stream).await,
            false => state.io.attach(&stream).await,
        };
        match session {
            Ok(session) => streams::serve(socket, v5, session, stream.command).await,
            Err(e) => streams::refuse(socket, &e.to_string()).await,
        }
    });
    accepted.response
}

/// Port forwarding as kubectl 1.32 asks for it: SPDY tunnelled in a WebSocket. (Plain SPDY
/// upgrades, kubectl's fallback, are not served.)
async fn port_forward(
    State(state): State<KubeletApiState>,
    Path((namespace, pod)): Path<(String, String)>,
    mut request: Request,
) -> Response {
    let accepted = websocket::accept(&mut request, &[port_forward::TUNNELED]);
    let Some(accepted) = accepted.filter(|a| a.protocol.is_some()) else {
        return plain(
            StatusCode::BAD_REQUEST,
            "port forwarding is served as SPDY/3.1 in a WebSocket (subprotocol SPDY/3.1+portforward.k8s.io) only",
        );
    };
    let target = port_forward::session::Target {
        io: state.io.clone(),
        namespace,
        pod,
    };
    let upgrade = accepted.upgrade;
    tokio::spawn(async move {
        match websocket::open(upgrade).await {
            Ok(socket) => port_forward::serve(socket, target).await,
            Err(e) => tracing::debug!(error = %e, "port-forward upgrade failed"),
        }
    });
    accepted.response
}

#[cfg(test)]
mod tests;
