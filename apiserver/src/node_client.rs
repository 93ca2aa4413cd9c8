//! The API server's connections to the nodes' HTTPS APIs (what kube-apiserver's kubelet client
//! is): TLS with the server's own client certificate (user `kube-apiserver-kubelet-client`),
//! the node's serving certificate verified against the cluster CA.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// How long dialing a node may take (kube-apiserver's kubelet dial timeout).
const DIAL_TIMEOUT: Duration = Duration::from_secs(30);

pub struct NodeClient {
    tls: Arc<rustls::ClientConfig>,
}

impl NodeClient {
    /// A client trusting `ca_pem` and presenting `cert_pem`/`key_pem`.
    pub fn new(ca_pem: &str, cert_pem: &str, key_pem: &str) -> Result<NodeClient, String> {
        let mut roots = rustls::RootCertStore::empty();
        for ca in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            let ca = ca.map_err(|e| format!("CA certificate: {e}"))?;
            roots.add(ca).map_err(|e| e.to_string())?;
        }
        let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("client certificate: {e}"))?;
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|e| format!("client key: {e}"))?;
        let mut config =
            rustls::ClientConfig::builder_with_provider(Arc::new(auth::pki::tls_provider()))
                .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
                .map_err(|e| e.to_string())?
                .with_root_certificates(roots)
                .with_client_auth_cert(chain, key)
                .map_err(|e| e.to_string())?;
        // Streams are HTTP/1.1 upgrades.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(NodeClient {
            tls: Arc::new(config),
        })
    }

    /// A TLS connection to the node API at `host:port`.
    pub async fn connect(&self, host: &str, port: u16) -> std::io::Result<TlsStream<TcpStream>> {
        let name = ServerName::try_from(host.to_string())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let dial = async {
            let tcp = TcpStream::connect((host, port)).await?;
            let _ = tcp.set_nodelay(true);
            tokio_rustls::TlsConnector::from(self.tls.clone())
                .connect(name, tcp)
                .await
        };
        tokio::time::timeout(DIAL_TIMEOUT, dial)
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "dial timed out"))?
    }
}
