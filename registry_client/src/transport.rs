//! HTTP(S) exchanges with registries: connection pools by how certificates are checked (against
//! the system's roots, against a bundle of trusted CAs the caller gives for a registry, or not
//! at all for registries the caller declared insecure), each exchange bounded by a deadline and
//! its body by a size limit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::{Client, connect::HttpConnector};
use hyper_util::rt::TokioExecutor;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

use crate::RegistryError;

type Pool = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The head and the whole body of one answer.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// How a registry's certificate is checked.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Trust {
    /// Against the system's roots.
    System,
    /// Not at all: a registry the caller declared insecure.
    Unverified,
    /// Against these PEM certificates only (a registry's additional trusted CAs).
    Bundle(Arc<[u8]>),
}

pub(crate) struct Transport {
    provider: Arc<CryptoProvider>,
    verified: Pool,
    unverified: Pool,
    /// One pool per CA bundle in use.
    bundles: Mutex<HashMap<Arc<[u8]>, Pool>>,
}

/// Why an exchange failed before an answer arrived.
pub(crate) enum SendError {
    /// The peer spoke plain HTTP to our TLS handshake.
    HttpOnly,
    Failed(String),
    Registry(RegistryError),
}

impl Transport {
    pub(crate) fn new() -> Transport {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        // Unreadable system certificates only narrow what verifies; they are not fatal.
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
        let verified = tls_config(&provider, |b| b.with_root_certificates(roots));
        let unverified = tls_config(&provider, |b| {
            b.dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerification(provider.clone())))
        });
        Transport {
            verified: pool(verified),
            unverified: pool(unverified),
            bundles: Mutex::default(),
            provider,
        }
    }

    /// The pool whose connections check certificates as `trust` says.
    fn pool(&self, trust: &Trust) -> Result<Pool, SendError> {
        let pem = match trust {
            Trust::System => return Ok(self.verified.clone()),
            Trust::Unverified => return Ok(self.unverified.clone()),
            Trust::Bundle(pem) => pem,
        };
        let mut bundles = self.bundles.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pool) = bundles.get(pem) {
            return Ok(pool.clone());
        }
        use rustls::pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        let certs = CertificateDer::pem_slice_iter(pem).filter_map(Result::ok);
        let (added, _) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(SendError::Failed(
                "the registry's trusted CA bundle holds no certificate".into(),
            ));
        }
        let made = pool(tls_config(&self.provider, |b| {
            b.with_root_certificates(roots)
        }));
        bundles.insert(pem.clone(), made.clone());
        Ok(made)
    }

    /// Sends `request` and reads the answer's body up to `limit` bytes, all within `timeout`.
    pub(crate) async fn exchange(
        &self,
        request: Request<Full<Bytes>>,
        trust: &Trust,
        timeout: Duration,
        limit: usize,
    ) -> Result<Answer, SendError> {
        let pool = self.pool(trust)?;
        let work = async {
            let response = pool.request(request).await.map_err(classify)?;
            let (parts, body) = response.into_parts();
            let body = read_limited(body, &parts.headers, limit, parts.status)
                .await
                .map_err(SendError::Registry)?;
            Ok(Answer {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        match tokio::time::timeout(timeout, work).await {
            Ok(result) => result,
            Err(_) => Err(SendError::Registry(RegistryError::Timeout(timeout))),
        }
    }
}

async fn read_limited(
    body: hyper::body::Incoming,
    headers: &HeaderMap,
    limit: usize,
    status: StatusCode,
) -> Result<Bytes, RegistryError> {
    // Error bodies are read only so far as to learn the registry's error code.
    let limit = if status.is_success() { limit } else { 64 << 10 };
    let announced = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if status.is_success() && announced.is_some_and(|n| n > limit as u64) {
        return Err(RegistryError::TooLarge { limit });
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            if status.is_success() {
                Err(RegistryError::TooLarge { limit })
            } else {
                Ok(Bytes::new())
            }
        }
        Err(e) => Err(RegistryError::protocol(format!(
            "reading the answer failed: {e}"
        ))),
    }
}

/// Tells a peer answering in plain HTTP from other connection failures, from the error chain.
fn classify(e: hyper_util::client::legacy::Error) -> SendError {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    if text.contains("InvalidContentType") || text.contains("corrupt message") {
        SendError::HttpOnly
    } else {
        SendError::Failed(text)
    }
}

fn tls_config(
    provider: &Arc<CryptoProvider>,
    finish: impl FnOnce(
        rustls::ConfigBuilder<rustls::ClientConfig, rustls::WantsVerifier>,
    )
        -> rustls::ConfigBuilder<rustls::ClientConfig, rustls::client::WantsClientCert>,
) -> rustls::ClientConfig {
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|_| {
            // The ring provider supports the default versions; this branch cannot be taken
            // with it, but a default builder keeps the client usable if it ever were.
            rustls::ClientConfig::builder_with_protocol_versions(rustls::DEFAULT_VERSIONS)
        });
    finish(builder).with_no_client_auth()
}

fn pool(tls: rustls::ClientConfig) -> Pool {
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build();
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(8)
        .build(connector)
}

/// Accepts any certificate (insecure registries only), still checking handshake signatures.
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

/// A verifier that accepts any server certificate, still checking handshake signatures with
/// `provider`'s algorithms: for servers configured to skip verification
/// (`insecureSkipTLSVerify`), as registries listed as insecure.
pub fn unverified(provider: Arc<CryptoProvider>) -> Arc<dyn ServerCertVerifier> {
    Arc::new(NoVerification(provider))
}

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
