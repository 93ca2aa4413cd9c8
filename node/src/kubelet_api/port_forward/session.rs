//! A port-forwarding session, as the kubelet serves it: the client opens two SPDY streams per
//! forwarded connection, `error` and `data`, with the same `port` and `requestID`; once both
//! are there the pod's port is dialled and the data stream carries its bytes both ways, and a
//! failure is written on the error stream. Each stream is answered with a SYN_REPLY; PINGs
//! are echoed.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::container_io::ContainerIo;
use spdy::{Frame, Reader, Writer};

/// What one connection's pair of streams has so far.
#[derive(Default)]
struct Pair {
    port: u16,
    error: Option<u32>,
    data: Option<u32>,
}

/// The pod a session forwards to, and how to reach it.
pub struct Target {
    pub io: Arc<dyn ContainerIo>,
    pub namespace: String,
    pub pod: String,
}

/// Bytes from the client for one data stream (`None`: the client finished writing).
type Inbound = mpsc::Sender<Option<Bytes>>;

/// Runs a session: `incoming` carries the client's bytes as they arrive, `out` takes the
/// frames to send. Ends when the client's bytes end or it goes away.
pub async fn run(
    target: Arc<Target>,
    mut incoming: mpsc::Receiver<Bytes>,
    out: mpsc::Sender<Vec<u8>>,
) {
    let mut reader = Reader::default();
    let mut writer = Writer::default();
    let mut pairs: HashMap<String, Pair> = HashMap::new();
    let mut inbound: HashMap<u32, Inbound> = HashMap::new();
    // Data frames that arrive before their stream's connection is up wait here.
    let mut early: HashMap<u32, Vec<Option<Bytes>>> = HashMap::new();
    // Error streams: the client only finishes them; what it sends there is dropped.
    let mut errors: std::collections::HashSet<u32> = std::collections::HashSet::new();
    while let Some(bytes) = incoming.recv().await {
        reader.push(&bytes);
        loop {
            let frame = match reader.next_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(error = %e, "port-forward session protocol error");
                    return;
                }
            };
            match frame {
                Frame::SynStream { id, headers, .. } => {
                    let header = |name: &str| {
                        headers
                            .iter()
                            .find(|(n, _)| n == name)
                            .map(|(_, v)| v.as_str())
                    };
                    let port = header("port")
                        .and_then(|p| p.parse::<u16>().ok())
                        .filter(|p| *p > 0);
                    let (Some(port), Some(kind)) = (port, header("streamtype")) else {
                        let _ = out.send(Writer::rst_stream(id, spdy::REFUSED_STREAM)).await;
                        continue;
                    };
                    match writer.syn_reply(id) {
                        Ok(reply) => {
                            if out.send(reply).await.is_err() {
                                return;
                            }
                        }
                        Err(_) => return,
                    }
                    // Paired by request ID; without one, by the stream IDs (error first).
                    let request =
                        header("requestid")
                            .map(str::to_string)
                            .unwrap_or_else(|| match kind {
                                "data" => id.saturating_sub(2).to_string(),
                                _ => id.to_string(),
                            });
                    let pair = pairs.entry(request.clone()).or_default();
                    pair.port = port;
                    match kind {
                        "error" => {
                            pair.error = Some(id);
                            errors.insert(id);
                        }
                        "data" => pair.data = Some(id),
                        _ => {
                            let _ = out.send(Writer::rst_stream(id, spdy::REFUSED_STREAM)).await;
                            continue;
                        }
                    }
                    if let (Some(error), Some(data)) = (pair.error, pair.data) {
                        let port = pair.port;
                        pairs.remove(&request);
                        let (sender, receiver) = mpsc::channel(16);
                        for chunk in early.remove(&data).unwrap_or_default() {
                            let _ = sender.try_send(chunk);
                        }
                        inbound.insert(data, sender);
                        tokio::spawn(forward(
                            target.clone(),
                            port,
                            error,
                            data,
                            receiver,
                            out.clone(),
                        ));
                    }
                }
                Frame::Data { id, fin, .. } if errors.contains(&id) => {
                    if fin {
                        errors.remove(&id);
                    }
                }
                Frame::Data { id, fin, data } => {
                    let mut chunks = Vec::new();
                    if !data.is_empty() {
                        chunks.push(Some(data));
                    }
                    if fin {
                        chunks.push(None);
                    }
                    match inbound.get(&id) {
                        Some(sender) => {
                            for chunk in chunks {
                                let _ = sender.send(chunk).await;
                            }
                            if fin {
                                inbound.remove(&id);
                            }
                        }
                        // Data before the pair is complete.
                        None => early.entry(id).or_default().extend(chunks),
                    }
                }
                Frame::RstStream { id } => {
                    if let Some(sender) = inbound.remove(&id) {
                        let _ = sender.send(None).await;
                    }
                }
                Frame::Ping { id } => {
                    if out.send(Writer::ping(id)).await.is_err() {
                        return;
                    }
                }
                Frame::GoAway => return,
                // Replies are the client's to read; a server gets none.
                Frame::SynReply { .. } | Frame::Other => {}
            }
        }
    }
}

/// One forwarded connection: the pod's `port` dialled, bytes copied both ways on the data
/// stream, failures written on the error stream; both streams finished at the end.
async fn forward(
    target: Arc<Target>,
    port: u16,
    error: u32,
    data: u32,
    mut from_client: mpsc::Receiver<Option<Bytes>>,
    out: mpsc::Sender<Vec<u8>>,
) {
    let connection = target
        .io
        .port_forward(&target.namespace, &target.pod, port)
        .await;
    let connection = match connection {
        Ok(connection) => connection,
        Err(e) => {
            let message = format!(
                "error forwarding port {port} to pod {}/{}: {e}",
                target.namespace, target.pod
            );
            let _ = out
                .send(Writer::data(error, true, message.as_bytes()))
                .await;
            let _ = out.send(Writer::data(data, true, b"")).await;
            return;
        }
    };
    let (mut read, mut write) = tokio::io::split(connection);
    let to_pod = async move {
        while let Some(Some(chunk)) = from_client.recv().await {
            if write.write_all(&chunk).await.is_err() {
                return;
            }
        }
        let _ = write.shutdown().await;
    };
    let out_data = out.clone();
    let to_client = async move {
        let mut buffer = vec![0u8; 32 * 1024];
        loop {
            match read.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if out_data
                        .send(Writer::data(data, false, &buffer[..n]))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
        let _ = out_data.send(Writer::data(data, true, b"")).await;
    };
    // The connection is done when the pod's side has ended; what the client still sends
    // has nowhere to go.
    tokio::select! {
        () = to_client => {}
        () = async { to_pod.await; std::future::pending::<()>().await } => {}
    }
    let _ = out.send(Writer::data(error, true, b"")).await;
}
