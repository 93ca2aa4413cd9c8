//! The TLS configuration of the node's HTTPS API: the node's serving certificate, and a client
//! certificate from the cluster CA required of every client (the API server, the node's
//! operators), as the kubelet's `--client-ca-file` requires when anonymous access is off.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("not a usable PEM {0}")]
    BadPem(&'static str),
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// A server configuration serving `cert_pem` (a chain, leaf first) with `key_pem`, requiring
/// a client certificate issued by the CA of `ca_pem`. HTTP/1.1 only: the streams are
/// WebSocket upgrades, which HTTP/2 does not carry.
pub fn server_config(
    ca_pem: &str,
    cert_pem: &str,
    key_pem: &str,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let provider = Arc::new(auth::pki::tls_provider());
    let mut roots = rustls::RootCertStore::empty();
    for ca in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        let ca = ca.map_err(|_| TlsError::BadPem("CA certificate"))?;
        roots.add(ca).map_err(|e| TlsError::Config(e.to_string()))?;
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .map_err(|e| TlsError::Config(e.to_string()))?;
    let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| TlsError::BadPem("serving certificate"))?;
    if chain.is_empty() {
        return Err(TlsError::BadPem("serving certificate"));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|_| TlsError::BadPem("serving key"))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
