//! The node's API over real TLS connections, in front of local processes.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use http_body_util::BodyExt;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::*;
use crate::test_io::{LocalProcesses, certs};

/// Allows everyone but `mallory`.
struct NotMallory;

#[async_trait]
impl authz::AccessReview for NotMallory {
    async fn allowed(&self, _node: &str, a: &authz::Attributes) -> Result<bool, String> {
        Ok(a.user != "mallory")
    }
}

struct Node {
    address: std::net::SocketAddr,
    ca: certs::Issued,
    io: Arc<LocalProcesses>,
}

fn app() -> ContainerRef {
    ContainerRef {
        namespace: "ns".into(),
        pod: "web".into(),
        container: "app".into(),
    }
}

async fn node() -> Node {
    let ca = certs::ca().unwrap();
    let serving = certs::serving(&ca, &["127.0.0.1"]).unwrap();
    let tls = tls::server_config(&ca.cert_pem, &serving.cert_pem, &serving.key_pem).unwrap();
    let io = Arc::new(LocalProcesses::new());
    io.add_container(&app());
    let state = KubeletApiState::with_reviewer(io.clone(), "node-a".into(), Arc::new(NotMallory));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, tls, state));
    Node { address, ca, io }
}

impl Node {
    async fn connect(&self, user: &str) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
        let client = certs::client(&self.ca, user, &["group-a"]).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(self.ca.cert_pem.as_bytes()).unwrap())
            .unwrap();
        let config =
            rustls::ClientConfig::builder_with_provider(Arc::new(auth::pki::tls_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_client_auth_cert(
                    vec![CertificateDer::from_pem_slice(client.cert_pem.as_bytes()).unwrap()],
                    PrivateKeyDer::from_pem_slice(client.key_pem.as_bytes()).unwrap(),
                )
                .unwrap();
        let tcp = tokio::net::TcpStream::connect(self.address).await.unwrap();
        let name = ServerName::try_from("127.0.0.1").unwrap();
        tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .unwrap()
    }

    async fn get(&self, user: &str, path: &str) -> (u16, String) {
        let tls = self.connect(user).await;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .unwrap();
        tokio::spawn(connection);
        let request = hyper::Request::get(path)
            .header("host", "127.0.0.1")
            .body(http_body_util::Empty::<Bytes>::new())
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    async fn websocket(
        &self,
        path: &str,
        protocol: &str,
    ) -> tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>
    {
        let tls = self.connect("alice").await;
        let mut request = format!("wss://127.0.0.1{path}")
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", protocol.parse().unwrap());
        let (socket, response) = tokio_tungstenite::client_async(request, tls).await.unwrap();
        assert_eq!(
            response.headers().get("Sec-WebSocket-Protocol").unwrap(),
            protocol
        );
        socket
    }
}

/// Everything a stream sent, by channel, until its close frame; and the close code.
async fn drain<S>(socket: &mut tokio_tungstenite::WebSocketStream<S>) -> (Vec<Vec<u8>>, Option<u16>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut channels = vec![Vec::new(); 5];
    while let Some(message) = socket.next().await {
        match message.unwrap() {
            Message::Binary(data) => channels[data[0] as usize].extend_from_slice(&data[1..]),
            Message::Close(frame) => return (channels, frame.map(|f| u16::from(f.code))),
            other => panic!("unexpected {other:?}"),
        }
    }
    (channels, None)
}

#[tokio::test]
async fn health_answers_ok() {
    let node = node().await;
    assert_eq!(node.get("mallory", "/healthz").await, (200, "ok".into()));
}

#[tokio::test]
async fn requests_are_authorized_on_nodes_proxy() {
    let node = node().await;
    let (status, body) = node.get("mallory", "/containerLogs/ns/web/app").await;
    assert_eq!(status, 403);
    assert_eq!(
        body,
        "Forbidden (user=mallory, verb=get, resource=nodes, subresource=proxy)"
    );
}

#[tokio::test]
async fn clients_without_a_certificate_are_refused() {
    let node = node().await;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(node.ca.cert_pem.as_bytes()).unwrap())
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(auth::pki::tls_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(node.address).await.unwrap();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let connected = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await;
    // TLS 1.3 reports the refusal on the first read.
    if let Ok(mut tls) = connected {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let _ = tls
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
            .await;
        let mut buffer = [0u8; 64];
        assert!(!matches!(tls.read(&mut buffer).await, Ok(n) if n > 0));
    }
}

#[tokio::test]
async fn logs_are_served_with_their_options() {
    let node = node().await;
    for line in ["one", "two", "three"] {
        node.io.append_log(&app(), line);
    }
    assert_eq!(
        node.get("alice", "/containerLogs/ns/web/app").await,
        (200, "one\ntwo\nthree\n".into())
    );
    assert_eq!(
        node.get("alice", "/containerLogs/ns/web/app?tailLines=1")
            .await,
        (200, "three\n".into())
    );
    assert_eq!(
        node.get("alice", "/containerLogs/ns/web/app?limitBytes=6")
            .await,
        (200, "one\ntw".into())
    );
    let (status, body) = node
        .get(
            "alice",
            "/containerLogs/ns/web/app?timestamps=true&tailLines=1",
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        body.ends_with("Z three\n") && body.starts_with("20"),
        "{body}"
    );
    assert_eq!(
        node.get("alice", "/containerLogs/ns/web/other").await,
        (
            404,
            "container \"other\" in pod \"web\" is not available".into()
        )
    );
    let (status, body) = node
        .get("alice", "/containerLogs/ns/web/app?tailLines=-2")
        .await;
    assert_eq!(status, 422, "{body}");
}

#[tokio::test]
async fn followed_logs_stream_until_the_container_ends() {
    let node = node().await;
    node.io.append_log(&app(), "first");
    let tls = node.connect("alice").await;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(connection);
    let request = hyper::Request::get("/containerLogs/ns/web/app?follow=true")
        .header("host", "127.0.0.1")
        .body(http_body_util::Empty::<Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.headers()["content-type"], "text/plain");
    let mut body = response.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(first, "first\n");
    node.io.append_log(&app(), "second");
    let second = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(second, "second\n");
    node.io.end_log(&app());
    assert!(
        body.frame().await.is_none(),
        "the stream ends with the container"
    );
}

#[tokio::test]
async fn exec_streams_output_and_reports_success() {
    let node = node().await;
    let mut socket = node
        .websocket(
            "/exec/ns/web/app?command=sh&command=-c&command=echo+out%3B+echo+err+%3E%262&output=1&error=1",
            channels::V5,
        )
        .await;
    let (channels, close) = drain(&mut socket).await;
    assert_eq!(channels[1], b"out\n");
    assert_eq!(channels[2], b"err\n");
    assert_eq!(channels[3], br#"{"metadata":{},"status":"Success"}"#);
    assert_eq!(close, Some(1000));
}

#[tokio::test]
async fn exit_codes_come_back_on_the_error_channel() {
    let node = node().await;
    let mut socket = node
        .websocket(
            "/exec/ns/web/app?command=sh&command=-c&command=exit+3&output=1",
            channels::V4,
        )
        .await;
    let (channels, close) = drain(&mut socket).await;
    let status: serde_json::Value = serde_json::from_slice(&channels[3]).unwrap();
    assert_eq!(status["reason"], "NonZeroExitCode");
    assert_eq!(status["details"]["causes"][0]["message"], "3");
    assert_eq!(close, Some(1000));
}

#[tokio::test]
async fn stdin_is_closed_by_the_v5_close_signal() {
    let node = node().await;
    let mut socket = node
        .websocket(
            "/exec/ns/web/app?command=cat&input=1&output=1",
            channels::V5,
        )
        .await;
    socket
        .send(Message::binary(vec![0, b'h', b'i', b'\n']))
        .await
        .unwrap();
    socket
        .send(Message::binary(
            b"\x04{\"Width\":80,\"Height\":24}\n".to_vec(),
        ))
        .await
        .unwrap();
    socket.send(Message::binary(vec![255, 0])).await.unwrap();
    let (channels, close) = drain(&mut socket).await;
    assert_eq!(channels[1], b"hi\n");
    assert_eq!(channels[3], br#"{"metadata":{},"status":"Success"}"#);
    assert_eq!(close, Some(1000));
}

#[tokio::test]
async fn attach_connects_to_the_main_process() {
    let node = node().await;
    let mut socket = node
        .websocket("/attach/ns/web/app?input=1&output=1&tty=1", channels::V5)
        .await;
    socket.send(Message::binary(vec![0, b'x'])).await.unwrap();
    socket.send(Message::binary(vec![255, 0])).await.unwrap();
    let (channels, _) = drain(&mut socket).await;
    assert_eq!(channels[1], b"x");
}

#[tokio::test]
async fn streams_that_cannot_start_end_with_an_internal_error() {
    let node = node().await;
    let mut socket = node
        .websocket("/exec/ns/web/other?command=true&output=1", channels::V5)
        .await;
    let (channels, close) = drain(&mut socket).await;
    let status: serde_json::Value = serde_json::from_slice(&channels[3]).unwrap();
    assert_eq!(status["reason"], "InternalError");
    assert_eq!(
        status["message"],
        "Internal error occurred: error executing command in container: container \"other\" in pod \"web\" is not available"
    );
    assert_eq!(close, Some(1000));
}

#[tokio::test]
async fn requests_that_are_not_websockets_are_refused() {
    let node = node().await;
    let (status, body) = node
        .get("alice", "/exec/ns/web/app?command=true&output=1")
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = node.get("alice", "/portForward/ns/web").await;
    assert_eq!(status, 400);
}

#[test]
fn stream_flags_are_the_literal_one() {
    let request = stream_request(
        app(),
        Some("command=ls&command=-l&input=1&output=true&error=1&tty=1"),
        true,
    );
    assert_eq!(request.command, vec!["ls", "-l"]);
    assert!(request.stdin && !request.stdout && request.tty);
    assert!(!request.stderr, "a TTY merges stderr into stdout");
}
