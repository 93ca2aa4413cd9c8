//! TLS to an aggregated API server: its certificate verified with the APIService's
//! `caBundle` for the name `<service>.<namespace>.svc` (or not at all with
//! `insecureSkipTLSVerify`), the front proxy's client certificate presented, HTTP/1.1 (so
//! watches stream and upgrades pass). Only loopback and pod addresses are dialled.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use crate::webhook_client::client::allowed;

/// How long dialling and the handshake may take.
const DIAL_TIMEOUT: Duration = Duration::from_secs(10);

/// The front proxy's client certificate and key, PEM.
#[derive(Clone, Debug)]
pub struct ClientCert {
    pub cert_pem: String,
    pub key_pem: String,
}

pub struct Transport {
    tls: Arc<rustls::ClientConfig>,
}

impl Transport {
    pub fn new(
        client: Option<&ClientCert>,
        ca_bundle: &[u8],
        insecure: bool,
    ) -> Result<Transport, String> {
        let provider = Arc::new(auth::pki::tls_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| e.to_string())?;
        let builder = match insecure {
            true => builder
                .dangerous()
                .with_custom_certificate_verifier(registry_client::unverified(provider)),
            false => {
                let mut roots = rustls::RootCertStore::empty();
                for ca in CertificateDer::pem_slice_iter(ca_bundle) {
                    let ca = ca.map_err(|e| format!("caBundle: {e}"))?;
                    roots.add(ca).map_err(|e| format!("caBundle: {e}"))?;
                }
                builder.with_root_certificates(roots)
            }
        };
        let mut config = match client {
            Some(client) => {
                let chain = CertificateDer::pem_slice_iter(client.cert_pem.as_bytes())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| format!("front proxy certificate: {e}"))?;
                let key = PrivateKeyDer::from_pem_slice(client.key_pem.as_bytes())
                    .map_err(|e| format!("front proxy key: {e}"))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| e.to_string())?
            }
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Transport {
            tls: Arc::new(config),
        })
    }

    /// An HTTP/1.1 connection (upgrades allowed) to `addr`, verified as `server_name`.
    pub async fn connect(
        &self,
        addr: SocketAddr,
        server_name: &str,
    ) -> Result<SendRequest<Body>, String> {
        if !allowed(addr.ip()) {
            return Err(format!(
                "{} is neither a loopback address nor a pod's: aggregated servers are only called there",
                addr.ip()
            ));
        }
        let name = ServerName::try_from(server_name.to_string()).map_err(|e| e.to_string())?;
        let dial = async {
            let tcp = tokio::net::TcpStream::connect(addr)
                .await
                .map_err(|e| format!("dial tcp {addr}: {e}"))?;
            let _ = tcp.set_nodelay(true);
            tokio_rustls::TlsConnector::from(self.tls.clone())
                .connect(name, tcp)
                .await
                .map_err(|e| format!("tls: {e}"))
        };
        let tls = tokio::time::timeout(DIAL_TIMEOUT, dial)
            .await
            .map_err(|_| format!("dial tcp {addr}: i/o timeout"))??;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(async move {
            if let Err(e) = connection.with_upgrades().await {
                tracing::debug!(error = %e, "aggregated server connection ended with an error");
            }
        });
        Ok(sender)
    }
}
