//! Certificates: a route's own (PEM certificate chain and key, checked to match, as upstream's
//! extended validation does before admitting the route), the router's default certificate,
//! and the TLS clients of reencrypt routes: the backend's chain verified against the route's
//! `destinationCACertificate` (as HAProxy's `verify required ca-file`, not its name), or,
//! without one, against the service CA's bundle and for the service's name
//! `<service>.<namespace>.svc` (upstream's default destination CA and `verifyhost`).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::validate;

pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A route's certificate and key (the key may also sit in the certificate's PEM), the CA
/// certificate appended to the chain. Errors are worded as upstream's extended validation.
pub fn route_certificate(
    certificate: &str,
    key: &str,
    ca: &str,
) -> Result<Arc<CertifiedKey>, String> {
    let mut chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(certificate.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|_| "spec.tls.certificate: Invalid value: \"redacted certificate data\": invalid/empty certificate data".to_string())?;
    if chain.is_empty() {
        return Err("spec.tls.certificate: Invalid value: \"redacted certificate data\": invalid/empty certificate data".into());
    }
    if !ca.is_empty() {
        let cas: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(ca.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("spec.tls.caCertificate: Invalid value: \"redacted ca certificate data\": failed to parse CA certificate: {e}"))?;
        validate::signature_algorithms(ca, validate::CA_CERTIFICATE)?;
        validate::signature_algorithms(certificate, validate::CERTIFICATE)?;
        validate::chains_to(certificate, ca)?;
        chain.extend(cas);
    } else {
        validate::signature_algorithms(certificate, validate::CERTIFICATE)?;
    }
    let key_pem = match key.is_empty() {
        true => certificate,
        false => key,
    };
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|_| "spec.tls.key: Invalid value: \"\": no key specified".to_string())?;
    let signing = rustls::crypto::ring::sign::any_supported_type(&key)
        .map_err(|e| format!("spec.tls.key: Invalid value: \"redacted key data\": {e}"))?;
    let certified = CertifiedKey::new(chain, signing);
    certified.keys_match().map_err(|_| {
        "spec.tls.key: Invalid value: \"redacted key data\": tls: private key does not match public key"
            .to_string()
    })?;
    Ok(Arc::new(certified))
}

/// The router's default certificate (served for names without a certificate of their own):
/// self-signed for `*.<apps domain>`.
pub fn default_certificate(apps_domain: &str) -> Result<Arc<CertifiedKey>, String> {
    let generated = rcgen::generate_simple_self_signed(vec![
        format!("*.{apps_domain}"),
        apps_domain.to_string(),
    ])
    .map_err(|e| e.to_string())?;
    route_certificate(
        &generated.cert.pem(),
        &generated.signing_key.serialize_pem(),
        "",
    )
}

/// The TLS client of a reencrypt route: `destination_ca` (PEM) as the only roots; without
/// one (and without a service CA), the backend's certificate is not verified (upstream's
/// `verify none`).
pub fn upstream_client(destination_ca: &str) -> Result<Arc<rustls::ClientConfig>, String> {
    let trust = match destination_ca.is_empty() {
        true => Trust::Any,
        false => {
            let mut roots = rustls::RootCertStore::empty();
            let field = validate::DESTINATION_CA_CERTIFICATE;
            let unparsed = |e: &dyn std::fmt::Display| {
                field.invalid(&format!("failed to parse destination CA certificate: {e}"))
            };
            for cert in CertificateDer::pem_slice_iter(destination_ca.as_bytes()) {
                let cert = cert.map_err(|e| unparsed(&e))?;
                roots.add(cert).map_err(|e| unparsed(&e))?;
            }
            if roots.is_empty() {
                return Err(unparsed(
                    &"data does not contain any valid RSA or ECDSA certificates",
                ));
            }
            validate::signature_algorithms(destination_ca, field)?;
            let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                provider(),
            )
            .build()
            .map_err(|e| e.to_string())?;
            Trust::Chain(inner)
        }
    };
    client_config(trust)
}

/// The service CA's bundle (`ca-bundle.crt` of `openshift-config-managed/service-ca`): every
/// certificate in it is a root, so that during a rotation backends with certificates of the
/// old and of the new signer are both verified.
#[derive(Debug)]
pub struct ServiceCa {
    roots: Arc<rustls::RootCertStore>,
    /// A fingerprint of the bundle's text (a route's entry is built again when it changes).
    pub fingerprint: u64,
}

impl ServiceCa {
    /// The bundle, if it holds at least one certificate.
    pub fn parse(bundle: &str) -> Option<ServiceCa> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(bundle.as_bytes()) {
            // A certificate that does not parse is no root; the others still are.
            let _ = cert.map(|c| roots.add(c));
        }
        if roots.is_empty() {
            return None;
        }
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        bundle.hash(&mut hasher);
        Some(ServiceCa {
            roots: Arc::new(roots),
            fingerprint: hasher.finish(),
        })
    }

    /// The TLS client of a reencrypt route's backend service without a destination CA: its
    /// chain verified against the bundle, its name against `hostname`
    /// (`<service>.<namespace>.svc`), whatever address it is reached at.
    pub fn client_for(&self, hostname: &str) -> Result<Arc<rustls::ClientConfig>, String> {
        let name = ServerName::try_from(hostname.to_string()).map_err(|e| e.to_string())?;
        let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(
            self.roots.clone(),
            provider(),
        )
        .build()
        .map_err(|e| e.to_string())?;
        client_config(Trust::ChainAndName(inner, name))
    }
}

fn client_config(trust: Trust) -> Result<Arc<rustls::ClientConfig>, String> {
    let provider = provider();
    let verifier = Arc::new(BackendVerifier {
        trust,
        provider: provider.clone(),
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// How a backend's certificate is judged.
#[derive(Debug)]
enum Trust {
    /// Not at all (upstream's `verify none`; handshake signatures are still checked).
    Any,
    /// The chain against the roots, whatever names the certificate carries (HAProxy's
    /// `verify required ca-file`).
    Chain(Arc<rustls::client::WebPkiServerVerifier>),
    /// The chain against the roots and the certificate's names against one fixed name
    /// (HAProxy's `verifyhost`): backends are dialled by address, but must prove the
    /// service's name.
    ChainAndName(
        Arc<rustls::client::WebPkiServerVerifier>,
        ServerName<'static>,
    ),
}

#[derive(Debug)]
struct BackendVerifier {
    trust: Trust,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for BackendVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match &self.trust {
            Trust::Any => Ok(ServerCertVerified::assertion()),
            Trust::ChainAndName(roots, name) => {
                roots.verify_server_cert(end_entity, intermediates, name, ocsp, now)
            }
            Trust::Chain(roots) => {
                match roots.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
                    Err(rustls::Error::InvalidCertificate(
                        rustls::CertificateError::NotValidForName
                        | rustls::CertificateError::NotValidForNameContext { .. },
                    )) => Ok(ServerCertVerified::assertion()),
                    other => other,
                }
            }
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_must_match_its_key() {
        let a = rcgen::generate_simple_self_signed(vec!["a.example".into()]).unwrap();
        let b = rcgen::generate_simple_self_signed(vec!["b.example".into()]).unwrap();
        assert!(route_certificate(&a.cert.pem(), &a.signing_key.serialize_pem(), "").is_ok());
        assert_eq!(
            route_certificate(&a.cert.pem(), &b.signing_key.serialize_pem(), "").err(),
            Some("spec.tls.key: Invalid value: \"redacted key data\": tls: private key does not match public key".into())
        );
        assert!(route_certificate("junk", "", "").is_err());
        assert!(default_certificate("apps.example").is_ok());
        assert!(upstream_client(&a.cert.pem()).is_ok());
    }
}
