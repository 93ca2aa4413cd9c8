//! The server side of a WebSocket handshake over hyper's upgrades: the 101 answer with the
//! negotiated subprotocol, then the upgraded connection as a WebSocket. Done by hand so the
//! subprotocol and the close frames are ours to choose.

use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

pub type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// An accepted handshake: the answer to send and the connection it leads to.
pub struct Accepted {
    pub response: Response<Body>,
    pub protocol: Option<&'static str>,
    pub upgrade: OnUpgrade,
}

/// Whether the request asks for a WebSocket.
pub fn is_websocket(request: &Request<Body>) -> bool {
    request
        .headers()
        .get_all(header::UPGRADE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|p| p.trim().eq_ignore_ascii_case("websocket"))
        })
}

/// Accepts the handshake of `request` with the first of its offered subprotocols in `served`
/// (none if it offers none of them). `None` if it is not a WebSocket handshake.
pub fn accept(request: &mut Request<Body>, served: &[&'static str]) -> Option<Accepted> {
    if !is_websocket(request)
        || request.headers().get(header::SEC_WEBSOCKET_VERSION)
            != Some(&HeaderValue::from_static("13"))
    {
        return None;
    }
    let key = request.headers().get(header::SEC_WEBSOCKET_KEY)?;
    let accept_key = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    let offered = request
        .headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok());
    let protocol = super::channels::negotiate(offered, served);
    let upgrade = hyper::upgrade::on(request);
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(
        header::SEC_WEBSOCKET_ACCEPT,
        HeaderValue::from_str(&accept_key).ok()?,
    );
    if let Some(protocol) = protocol {
        headers.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static(protocol),
        );
    }
    Some(Accepted {
        response,
        protocol,
        upgrade,
    })
}

/// The WebSocket once the client has the 101.
pub async fn open(upgrade: OnUpgrade) -> Result<Socket, hyper::Error> {
    let io = TokioIo::new(upgrade.await?);
    // kubectl writes 32 KiB at a time: 16 MiB bounds a message with room to spare.
    let config = WebSocketConfig::default()
        .max_message_size(Some(16 << 20))
        .max_frame_size(Some(16 << 20));
    Ok(WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await)
}
