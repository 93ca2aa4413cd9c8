//! `/portForward/{namespace}/{pod}` as kubectl 1.32 reaches it through the API server: a
//! WebSocket with the subprotocol `SPDY/3.1+portforward.k8s.io` whose binary messages are a
//! byte pipe carrying a SPDY/3.1 session (the `spdy` crate), in which each forwarded connection is a
//! pair of streams (`session`).

pub mod session;

use std::sync::Arc;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::websocket::Socket;

/// The WebSocket subprotocol of SPDY tunnelled port forwarding.
pub const TUNNELED: &str = "SPDY/3.1+portforward.k8s.io";

/// Serves a port-forwarding session on `socket` until the client goes.
pub async fn serve(socket: Socket, target: session::Target) {
    let (mut sink, mut source) = socket.split();
    let (bytes_in, incoming) = mpsc::channel::<Bytes>(16);
    let (out, mut frames) = mpsc::channel::<Vec<u8>>(64);
    let writer = tokio::spawn(async move {
        while let Some(frame) = frames.recv().await {
            if sink.send(Message::binary(frame)).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let session = tokio::spawn(session::run(Arc::new(target), incoming, out));
    while let Some(Ok(message)) = source.next().await {
        let data = match message {
            Message::Binary(data) => data,
            Message::Close(_) => break,
            _ => continue,
        };
        if bytes_in.send(data).await.is_err() {
            break;
        }
    }
    drop(bytes_in);
    session.abort();
    writer.abort();
}
