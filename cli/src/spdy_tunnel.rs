//! Port forwarding as kubectl 1.32 does it: a WebSocket to the pod's `portforward`
//! subresource with the subprotocol `SPDY/3.1+portforward.k8s.io`, whose binary messages carry
//! a SPDY/3.1 session; each local connection opens an `error` and a `data` stream with the
//! remote port and a request ID, and the data stream carries the bytes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use http::{Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;

use crate::error::CliError;

const TUNNELED: &str = "SPDY/3.1+portforward.k8s.io";

/// Bytes the server sent on a stream (`None`: it finished or reset it).
type Inbound = mpsc::Sender<Option<Bytes>>;

/// One SPDY session over the WebSocket.
pub struct Tunnel {
    out: mpsc::Sender<Vec<u8>>,
    writer: Mutex<spdy::Writer>,
    streams: Mutex<HashMap<u32, Inbound>>,
    next_stream: Mutex<u32>,
    /// Ends once the session does.
    pub closed: tokio::sync::watch::Receiver<bool>,
}

/// Opens the tunnel at `path` (the pod's `portforward` subresource).
pub async fn open(client: &kube::Client, path: &str) -> Result<Arc<Tunnel>, CliError> {
    use tokio_tungstenite::tungstenite::handshake::{client::generate_key, derive_accept_key};
    let key = generate_key();
    let request = Request::get(path)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_VERSION, "13")
        .header(header::SEC_WEBSOCKET_KEY, &key)
        .header(header::SEC_WEBSOCKET_PROTOCOL, TUNNELED)
        .body(kube::client::Body::empty())
        .map_err(|e| CliError::msg(e.to_string()))?;
    let response = client.send(request).await.map_err(CliError::from)?;
    if response.status() != StatusCode::SWITCHING_PROTOCOLS {
        let status = response.status();
        let body = response.into_body().collect_bytes().await?;
        return Err(CliError::from_response(status, &body));
    }
    let protocol = response
        .headers()
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if protocol != TUNNELED {
        return Err(CliError::msg(format!(
            "unable to negotiate protocol: client supports \"portforward.k8s.io\", server returned {protocol:?}"
        )));
    }
    let accepted = response
        .headers()
        .get(header::SEC_WEBSOCKET_ACCEPT)
        .cloned();
    if accepted.as_ref().and_then(|v| v.to_str().ok())
        != Some(derive_accept_key(key.as_bytes()).as_str())
    {
        return Err(CliError::msg("unable to upgrade connection: bad handshake"));
    }
    let upgraded = hyper::upgrade::on(response)
        .await
        .map_err(|e| CliError::msg(format!("unable to upgrade connection: {e}")))?;
    let socket = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Client, None).await;
    let (mut sink, mut source) = socket.split();
    let (out, mut frames) = mpsc::channel::<Vec<u8>>(64);
    let (closing, closed) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        while let Some(frame) = frames.recv().await {
            if sink.send(Message::binary(frame)).await.is_err() {
                break;
            }
        }
    });
    let tunnel = Arc::new(Tunnel {
        out,
        writer: Mutex::new(spdy::Writer::client()),
        streams: Mutex::default(),
        next_stream: Mutex::new(1),
        closed,
    });
    let reading = tunnel.clone();
    tokio::spawn(async move {
        let mut reader = spdy::Reader::default();
        'session: while let Some(Ok(message)) = source.next().await {
            let data = match message {
                Message::Binary(data) => data,
                Message::Close(_) => break,
                _ => continue,
            };
            reader.push(&data);
            while let Ok(Some(frame)) = reader.next_frame() {
                match frame {
                    spdy::Frame::Data { id, fin, data } => {
                        let sender = reading.lock_streams().get(&id).cloned();
                        if let Some(sender) = sender {
                            if !data.is_empty() {
                                let _ = sender.send(Some(data)).await;
                            }
                            if fin {
                                let _ = sender.send(None).await;
                                reading.lock_streams().remove(&id);
                            }
                        }
                    }
                    spdy::Frame::RstStream { id } => {
                        if let Some(sender) = reading.lock_streams().remove(&id) {
                            let _ = sender.try_send(None);
                        }
                    }
                    spdy::Frame::Ping { id } => {
                        let _ = reading.out.send(spdy::Writer::ping(id)).await;
                    }
                    spdy::Frame::GoAway => break 'session,
                    _ => {}
                }
            }
        }
        // Every stream ends with the session.
        for (_, sender) in reading.lock_streams().drain() {
            let _ = sender.try_send(None);
        }
        let _ = closing.send(true);
    });
    Ok(tunnel)
}

impl Tunnel {
    fn lock_streams(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Inbound>> {
        self.streams.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new stream with `headers`; what the server sends on it arrives on the receiver.
    async fn stream(
        &self,
        headers: &[(&str, &str)],
    ) -> Result<(u32, mpsc::Receiver<Option<Bytes>>), CliError> {
        let (sender, receiver) = mpsc::channel(16);
        let (id, frame) = {
            let mut next = self.next_stream.lock().unwrap_or_else(|e| e.into_inner());
            let id = *next;
            *next += 2;
            let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
            (id, writer.syn_stream(id, headers).map_err(CliError::msg)?)
        };
        self.lock_streams().insert(id, sender);
        self.send(frame).await?;
        Ok((id, receiver))
    }

    async fn send(&self, frame: Vec<u8>) -> Result<(), CliError> {
        self.out
            .send(frame)
            .await
            .map_err(|_| CliError::msg("lost connection to pod"))
    }

    /// Forwards one local connection to `remote` as request `request_id`; an error the
    /// server reports is returned.
    pub async fn forward(
        &self,
        connection: tokio::net::TcpStream,
        remote: u16,
        request_id: u32,
    ) -> Result<(), String> {
        let (port, request) = (remote.to_string(), request_id.to_string());
        let headers = |kind| {
            [
                ("streamtype", kind),
                ("port", port.as_str()),
                ("requestid", request.as_str()),
            ]
        };
        let (error_id, mut errors) = self
            .stream(&headers("error"))
            .await
            .map_err(|e| e.to_string())?;
        // The client writes nothing on the error stream.
        self.send(spdy::Writer::data(error_id, true, b""))
            .await
            .map_err(|e| e.to_string())?;
        let (data_id, mut from_pod) = self
            .stream(&headers("data"))
            .await
            .map_err(|e| e.to_string())?;
        let (mut read, mut write) = connection.into_split();
        let to_pod = async {
            let mut buffer = vec![0u8; 32 * 1024];
            loop {
                match read.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if self
                            .send(spdy::Writer::data(data_id, false, &buffer[..n]))
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                }
            }
            let _ = self.send(spdy::Writer::data(data_id, true, b"")).await;
        };
        let from_pod = async {
            while let Some(Some(chunk)) = from_pod.recv().await {
                if write.write_all(&chunk).await.is_err() {
                    break;
                }
            }
            let _ = write.shutdown().await;
        };
        // Done when the pod's side is done (or the local side gives up).
        tokio::select! {
            () = from_pod => {}
            () = async { to_pod.await; std::future::pending::<()>().await } => {}
        }
        let mut message = Vec::new();
        while let Some(Some(chunk)) = errors.recv().await {
            message.extend_from_slice(&chunk);
        }
        match message.is_empty() {
            true => Ok(()),
            false => Err(String::from_utf8_lossy(&message).into_owned()),
        }
    }
}
