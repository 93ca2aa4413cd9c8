//! Connections to the backends, kept open and reused (HTTP/1.1 keep-alive, as HAProxy's
//! `http-reuse safe`): a connection goes back to the pool once its response body has ended,
//! and a pooled one that closed meanwhile is skipped.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body as _, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::body::Body;
use crate::table::Entry;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Idle connections kept per backend address.
const MAX_IDLE: usize = 512;

/// A backend address and whom its TLS connections were verified for (0: plain; else the
/// fingerprint of the route's destination CA), so that a connection verified against one
/// route's CA never serves a route trusting another.
type Key = (SocketAddr, u64);

#[derive(Default)]
pub struct Pool {
    idle: Mutex<HashMap<Key, Vec<SendRequest<Body>>>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("connect timed out")]
    Timeout,
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Http(#[from] hyper::Error),
    /// The backend's certificate failed verification (reencrypt).
    #[error("the backend's certificate was not accepted: {0}")]
    Untrusted(rustls::Error),
}

impl ConnectError {
    /// A failed TLS handshake as what it was: the backend's certificate not accepted, or
    /// any other failure.
    fn of_handshake(e: std::io::Error) -> ConnectError {
        match e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            Some(
                failed @ (rustls::Error::InvalidCertificate(_)
                | rustls::Error::NoCertificatesPresented),
            ) => ConnectError::Untrusted(failed.clone()),
            _ => ConnectError::Io(e),
        }
    }
}

impl Pool {
    /// An idle connection to `addr` ready for a request, or a new one.
    pub async fn get(
        &self,
        addr: SocketAddr,
        tls: Option<&Arc<rustls::ClientConfig>>,
        trust: u64,
    ) -> Result<SendRequest<Body>, ConnectError> {
        let key = (addr, trust);
        while let Some(mut sender) = self.pop(key) {
            if sender.is_closed() {
                continue;
            }
            if sender.is_ready() {
                return Ok(sender);
            }
            if let Ok(Ok(())) =
                tokio::time::timeout(Duration::from_millis(20), sender.ready()).await
            {
                return Ok(sender);
            }
        }
        connect(addr, tls).await
    }

    fn pop(&self, key: Key) -> Option<SendRequest<Body>> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        idle.get_mut(&key)?.pop()
    }

    /// Gives a connection whose response has ended back.
    pub fn put(&self, addr: SocketAddr, trust: u64, sender: SendRequest<Body>) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let list = idle.entry((addr, trust)).or_default();
        if list.len() < MAX_IDLE {
            list.push(sender);
        }
    }
}

async fn connect(
    addr: SocketAddr,
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> Result<SendRequest<Body>, ConnectError> {
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| ConnectError::Timeout)??;
    tcp.set_nodelay(true)?;
    match tls {
        None => handshake(TokioIo::new(tcp)).await,
        Some(config) => {
            let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
            let stream = tokio_rustls::TlsConnector::from(config.clone())
                .connect(name, tcp)
                .await
                .map_err(ConnectError::of_handshake)?;
            handshake(TokioIo::new(stream)).await
        }
    }
}

async fn handshake<I>(io: I) -> Result<SendRequest<Body>, ConnectError>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (sender, connection) = hyper::client::conn::http1::Builder::new()
        .handshake(io)
        .await?;
    tokio::spawn(async move {
        // The connection ends when either side closes it; nothing to report.
        let _ = connection.with_upgrades().await;
    });
    Ok(sender)
}

/// A response body from a pooled connection: at its end the connection goes back. Its bytes
/// are counted on the way.
pub struct Returning {
    inner: Incoming,
    back: Option<(Arc<Pool>, SocketAddr, u64, SendRequest<Body>)>,
    out: Outgoing,
}

impl Returning {
    pub fn new(
        inner: Incoming,
        pool: Arc<Pool>,
        addr: SocketAddr,
        trust: u64,
        sender: SendRequest<Body>,
        out: Outgoing,
    ) -> Returning {
        let mut body = Returning {
            inner,
            back: Some((pool, addr, trust, sender)),
            out,
        };
        if body.inner.is_end_stream() {
            body.give_back();
        }
        body
    }

    fn give_back(&mut self) {
        if let Some((pool, addr, trust, sender)) = self.back.take() {
            pool.put(addr, trust, sender);
        }
    }
}

impl http_body::Body for Returning {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            this.out.add(data.len() as u64);
        }
        match &polled {
            Poll::Ready(None) => this.give_back(),
            Poll::Ready(Some(Ok(_))) if this.inner.is_end_stream() => this.give_back(),
            Poll::Ready(Some(Err(_))) => drop(this.back.take()),
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The bytes a response sends its client, added to its route's and server's counters when
/// it is done with (ended or dropped).
pub struct Outgoing {
    entry: Arc<Entry>,
    endpoint: usize,
    bytes: u64,
}

impl Outgoing {
    pub fn new(entry: Arc<Entry>, endpoint: usize) -> Outgoing {
        Outgoing {
            entry,
            endpoint,
            bytes: 0,
        }
    }

    pub fn add(&mut self, bytes: u64) {
        self.bytes += bytes;
    }
}

impl Drop for Outgoing {
    fn drop(&mut self) {
        self.entry.stats.counters.bytes_out(self.bytes);
        if let Some(endpoint) = self.entry.backend.endpoints.get(self.endpoint) {
            endpoint.stats.counters.bytes_out(self.bytes);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::certs::upstream_client;
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    use rustls::pki_types::pem::PemObject;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A CA named `test-ca` (both CAs of a test carry the same name, as the e2e's do).
    pub(crate) fn ca() -> (String, Issuer<'static, KeyPair>) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, "test-ca");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).unwrap();
        (cert.pem(), Issuer::new(params, key))
    }

    /// A TLS server on loopback with a certificate `issuer` signed, answering every
    /// connection's first request with 200.
    pub(crate) async fn tls_backend(issuer: &Issuer<'static, KeyPair>) -> SocketAddr {
        tls_backend_for(issuer, "backend").await
    }

    /// The same, with a certificate for `name`.
    pub(crate) async fn tls_backend_for(
        issuer: &Issuer<'static, KeyPair>,
        name: &str,
    ) -> SocketAddr {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec![name.to_string()])
            .unwrap()
            .signed_by(&key, issuer)
            .unwrap();
        let config = rustls::ServerConfig::builder_with_provider(crate::certs::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::from_pem_slice(key.serialize_pem().as_bytes())
                    .unwrap(),
            )
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut buf = [0_u8; 1024];
                    let _ = tls.read(&mut buf).await;
                    let _ = tls
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                        .await;
                });
            }
        });
        addr
    }

    #[tokio::test]
    async fn a_backend_is_reached_over_tls_only_when_the_destination_ca_signed_it() {
        let (signer_pem, signer) = ca();
        let (other_pem, _) = ca();
        let addr = tls_backend(&signer).await;
        let pool = Pool::default();
        let trusting = upstream_client(&signer_pem).unwrap();
        let mut sender = pool.get(addr, Some(&trusting), 1).await.unwrap();
        let request = hyper::Request::get("/")
            .header("host", "backend")
            .body(Body::Empty)
            .unwrap();
        assert_eq!(sender.send_request(request).await.unwrap().status(), 200);
        let distrusting = upstream_client(&other_pem).unwrap();
        assert!(pool.get(addr, Some(&distrusting), 2).await.is_err());
    }
}
