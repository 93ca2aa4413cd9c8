//! The two ways a pod's stream goes through the API server to its node: a log is a plain
//! request whose body is passed on as it comes (never buffered), a stream (exec, attach,
//! port-forward) is an upgrade request passed on with its upgrade headers, after which both
//! connections are spliced byte for byte.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;

use crate::error::{ApiError, Target};
use crate::node_client::NodeClient;

/// Upstream reads at most this much of an error answer.
const MAX_ERROR_BODY: usize = 50_000;

/// The request headers an upgrade carries on to the node: the handshake's, never the
/// client's credentials.
const UPGRADE_HEADERS: &[&str] = &[
    "upgrade",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-protocol",
    "x-stream-protocol-version",
];

type Sender = hyper::client::conn::http1::SendRequest<Body>;

async fn open(client: &NodeClient, host: &str, port: u16, path: &str) -> Result<Sender, ApiError> {
    let url = format!(
        "https://{}/{}",
        authority(host, port),
        path.trim_start_matches('/')
    );
    let failed = |e: &dyn std::fmt::Display| ApiError::Internal(format!("Get {url:?}: {e}"));
    let tls = client.connect(host, port).await.map_err(|e| failed(&e))?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| failed(&e))?;
    tokio::spawn(async move {
        if let Err(e) = connection.with_upgrades().await {
            tracing::debug!(error = %e, "node connection ended with an error");
        }
    });
    Ok(sender)
}

fn authority(host: &str, port: u16) -> String {
    match host.contains(':') {
        true => format!("[{host}]:{port}"),
        false => format!("{host}:{port}"),
    }
}

/// Upstream's check of a node's answer: 2xx passes; 400 and 500 carry the node's text; the
/// rest are generic answers about `target`.
async fn check(
    response: hyper::Response<hyper::body::Incoming>,
    target: &Target,
) -> Result<hyper::Response<hyper::body::Incoming>, ApiError> {
    let code = response.status().as_u16();
    if (200..=206).contains(&code) || code == 101 {
        return Ok(response);
    }
    let body = http_body_util::Limited::new(response.into_body(), MAX_ERROR_BODY)
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&body).trim_end().to_string();
    Err(match code {
        500 => ApiError::Internal(text),
        400 => ApiError::BadRequest(text),
        code => ApiError::Backend {
            code,
            target: target.clone(),
        },
    })
}

/// `GET path` on the node, its body streamed back as `text/plain`.
pub async fn logs(
    client: &NodeClient,
    (host, port): (&str, u16),
    path: String,
    target: &Target,
) -> Result<Response, ApiError> {
    let mut sender = open(client, host, port, &path).await?;
    let request = Request::get(path)
        .header(header::HOST, authority(host, port))
        .body(Body::empty())
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let response = check(response, target).await?;
    let mut answer = Response::new(Body::new(response.into_body()));
    answer
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Ok(answer)
}

/// Whether the request asks to switch protocols.
pub(crate) fn is_upgrade(headers: &HeaderMap) -> bool {
    let connection_upgrade = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
        });
    connection_upgrade && headers.contains_key(header::UPGRADE)
}

/// Passes the upgrade request on to the node at `path`; once the node switches protocols,
/// so does the client, and the two connections are joined.
pub async fn upgrade(
    client: &NodeClient,
    (host, port): (&str, u16),
    method: Method,
    path: String,
    headers: &HeaderMap,
    client_upgrade: Option<hyper::upgrade::OnUpgrade>,
) -> Result<Response, ApiError> {
    let Some(client_upgrade) = client_upgrade.filter(|_| is_upgrade(headers)) else {
        return Err(ApiError::BadRequest("Upgrade request required".into()));
    };
    let mut sender = open(client, host, port, &path).await?;
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, authority(host, port))
        .header(header::CONNECTION, "Upgrade");
    for name in UPGRADE_HEADERS {
        for value in headers.get_all(*name) {
            request = request.header(*name, value);
        }
    }
    let request = request
        .body(Body::empty())
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    if response.status() != StatusCode::SWITCHING_PROTOCOLS {
        return Ok(passed_on(response).await);
    }
    Ok(switched(client_upgrade, response))
}

/// The backend switched protocols: the client is told so with the backend's headers, and
/// once both sides have upgraded their connections are spliced byte for byte.
pub(crate) fn switched(
    client_upgrade: hyper::upgrade::OnUpgrade,
    mut response: hyper::Response<hyper::body::Incoming>,
) -> Response {
    let mut answer = Response::new(Body::empty());
    *answer.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    *answer.headers_mut() = std::mem::take(response.headers_mut());
    let backend_upgrade = hyper::upgrade::on(response);
    tokio::spawn(async move {
        let (client_side, backend_side) = tokio::join!(client_upgrade, backend_upgrade);
        let (Ok(client_side), Ok(backend_side)) = (client_side, backend_side) else {
            return tracing::debug!("stream upgrade did not complete");
        };
        let (mut a, mut b) = (TokioIo::new(client_side), TokioIo::new(backend_side));
        if let Err(e) = tokio::io::copy_bidirectional(&mut a, &mut b).await {
            tracing::debug!(error = %e, "stream ended with an error");
        }
    });
    answer
}

/// A node's refusal of an upgrade, passed on as it came (as upstream's upgrade-aware proxy
/// does: kubectl shows its text as `unable to upgrade connection: <text>`), its body bounded.
async fn passed_on(response: hyper::Response<hyper::body::Incoming>) -> Response {
    let (parts, body) = response.into_parts();
    let body = http_body_util::Limited::new(body, MAX_ERROR_BODY)
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let mut answer = Response::new(Body::from(body));
    *answer.status_mut() = parts.status;
    if let Some(content_type) = parts.headers.get(header::CONTENT_TYPE) {
        answer
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type.clone());
    }
    answer
}

/// An empty answer (a log of a pod without a node, as upstream answers it).
pub fn empty_log() -> Response {
    let mut answer = Response::new(Body::from(Bytes::new()));
    answer
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    answer
}
