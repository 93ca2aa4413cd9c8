//! The HTTPS client of one webhook: TLS trusting only the webhook's `caBundle`, kept-alive
//! HTTP/1.1 connections reused across requests (a handshake per admission would cost more
//! than the whole budget of a local webhook), and the address rule: only loopback and the
//! pods of this machine's pod network are ever dialled.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

/// The pod network of this machine's nodes (their bridge holds 10.128.0.1/14).
const POD_NETWORK: (Ipv4Addr, u8) = (Ipv4Addr::new(10, 128, 0, 0), 14);
/// Idle connections kept per webhook.
const MAX_IDLE: usize = 16;
/// The largest response read (upstream's limit on webhook responses is 3 MiB as well).
const MAX_RESPONSE: usize = 3 * 1024 * 1024;

/// Whether the server may call `ip`.
pub fn allowed(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let mask = u32::MAX << (32 - POD_NETWORK.1);
            v4.is_loopback() || u32::from(v4) & mask == u32::from(POD_NETWORK.0) & mask
        }
        IpAddr::V6(v6) => v6.is_loopback(),
    }
}

/// Where a webhook is called: an address (already resolved and allowed), the TLS server
/// name, and the request path with its query.
#[derive(Clone, Debug)]
pub struct Destination {
    pub addr: SocketAddr,
    pub server_name: String,
    pub path: String,
}

pub struct Client {
    tls: Arc<rustls::ClientConfig>,
    idle: Mutex<Vec<(SocketAddr, SendRequest<Full<Bytes>>)>>,
}

impl Client {
    /// A client trusting the PEM certificates of `ca_bundle` only.
    pub fn new(ca_bundle: &[u8]) -> Result<Client, String> {
        let mut roots = rustls::RootCertStore::empty();
        for ca in CertificateDer::pem_slice_iter(ca_bundle) {
            let ca = ca.map_err(|e| format!("caBundle: {e}"))?;
            roots.add(ca).map_err(|e| format!("caBundle: {e}"))?;
        }
        let mut config =
            rustls::ClientConfig::builder_with_provider(Arc::new(auth::pki::tls_provider()))
                .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
                .map_err(|e| e.to_string())?
                .with_root_certificates(roots)
                .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Client {
            tls: Arc::new(config),
            idle: Mutex::new(Vec::new()),
        })
    }

    /// POSTs `body` as JSON and reads the answer: its status code and body. The caller bounds
    /// the time.
    pub async fn post(&self, to: &Destination, body: Bytes) -> Result<(u16, Bytes), String> {
        let mut sender = match self.take_idle(to.addr) {
            Some(sender) => sender,
            None => self.dial(to).await?,
        };
        let request = hyper::Request::post(&to.path)
            .header(hyper::header::HOST, &to.server_name)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(hyper::header::ACCEPT, "application/json")
            .body(Full::new(body))
            .map_err(|e| e.to_string())?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let code = response.status().as_u16();
        let body = Limited::new(response.into_body(), MAX_RESPONSE)
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        self.put_idle(to.addr, sender);
        Ok((code, body))
    }

    fn take_idle(&self, addr: SocketAddr) -> Option<SendRequest<Full<Bytes>>> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(i) = idle.iter().rposition(|(a, _)| *a == addr) {
            let (_, sender) = idle.swap_remove(i);
            if sender.is_ready() {
                return Some(sender);
            }
        }
        None
    }

    fn put_idle(&self, addr: SocketAddr, sender: SendRequest<Full<Bytes>>) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE && sender.is_ready() {
            idle.push((addr, sender));
        }
    }

    async fn dial(&self, to: &Destination) -> Result<SendRequest<Full<Bytes>>, String> {
        if !allowed(to.addr.ip()) {
            return Err(format!(
                "{} is neither a loopback address nor a pod's: webhooks are only called there",
                to.addr.ip()
            ));
        }
        let tcp = tokio::net::TcpStream::connect(to.addr)
            .await
            .map_err(|e| format!("dial tcp {}: {e}", to.addr))?;
        let _ = tcp.set_nodelay(true);
        let name = ServerName::try_from(to.server_name.clone()).map_err(|e| e.to_string())?;
        let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| format!("tls: {e}"))?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(async move {
            // The connection ends when the webhook closes it or the sender is dropped.
            let _ = connection.await;
        });
        Ok(sender)
    }
}

/// How long a call may take: `timeoutSeconds`, default 10, at most 30.
pub fn timeout(seconds: Option<i64>) -> Duration {
    Duration::from_secs(seconds.unwrap_or(10).clamp(1, 30) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_and_pods() {
        for ok in [
            "127.0.0.1",
            "127.3.4.5",
            "10.128.0.7",
            "10.131.255.1",
            "::1",
        ] {
            assert!(allowed(ok.parse().unwrap()), "{ok}");
        }
        for no in [
            "10.132.0.1",
            "10.127.255.255",
            "192.168.1.1",
            "8.8.8.8",
            "::2",
            "0.0.0.0",
        ] {
            assert!(!allowed(no.parse().unwrap()), "{no}");
        }
    }
}
