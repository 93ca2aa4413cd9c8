//! The cluster's PKI: a CA, the API server's serving certificate and client certificates,
//! created on first start and reused afterwards (ECDSA P-256, via rcgen).
//!
//! Files under the PKI directory: `ca.crt`/`ca.key`, `serving.crt`/`serving.key` (plus
//! `serving.names`, the names it was issued for: a change of names reissues it), and one
//! `<name>.crt`/`<name>.key` pair per client certificate. Keys are written owner-only.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("{path}: not a usable PEM {what}")]
    BadPem { path: PathBuf, what: &'static str },
    #[error("TLS configuration: {0}")]
    Tls(String),
}

pub(crate) type Result<T> = std::result::Result<T, PkiError>;

/// A certificate and its private key, both PEM.
#[derive(Clone, Debug)]
pub struct CertKey {
    pub cert_pem: String,
    pub key_pem: String,
}

/// A client identity to issue a certificate for: CN is the user, O the groups.
#[derive(Clone, Debug)]
pub struct ClientSpec<'a> {
    /// File stem under the PKI directory.
    pub file: &'a str,
    pub user: &'a str,
    pub groups: &'a [&'a str],
}

/// The loaded PKI.
pub struct Pki {
    dir: PathBuf,
    pub ca: CertKey,
    pub serving: CertKey,
    /// The serving certificate came from files (`use_serving_files`).
    custom_serving: bool,
}

/// TLS 1.3 and 1.2 only, AEAD suites with forward secrecy only. The TLS 1.2 order is
/// upstream's default list without what it keeps for old clients: its first six suites
/// (ECDHE with ChaCha20-Poly1305, then AES-128-GCM, then AES-256-GCM, ECDSA before RSA) are
/// these; its CBC and static-RSA suites (SHA-1 MACs, no forward secrecy) are not offered,
/// and neither are TLS 1.0 and 1.1. TLS 1.3's three suites come first.
pub fn tls_provider() -> rustls::crypto::CryptoProvider {
    use rustls::crypto::ring::cipher_suite as suite;
    rustls::crypto::CryptoProvider {
        cipher_suites: vec![
            suite::TLS13_AES_128_GCM_SHA256,
            suite::TLS13_AES_256_GCM_SHA384,
            suite::TLS13_CHACHA20_POLY1305_SHA256,
            suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
            suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        ],
        ..rustls::crypto::ring::default_provider()
    }
}

const CA_YEARS: i64 = 10;
const SERVING_YEARS: i64 = 2;
const CLIENT_YEARS: i64 = 10;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PkiError + '_ {
    move |source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub(crate) fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(io(path))
}

/// Writes `contents` via a temporary file and rename, with `mode` permissions.
pub(crate) fn write(path: &Path, contents: &str, mode: u32) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io(&tmp))?;
    file.write_all(contents.as_bytes())
        .and_then(|_| file.sync_all())
        .map_err(io(&tmp))?;
    fs::rename(&tmp, path).map_err(io(path))
}

fn validity(params: &mut CertificateParams, years: i64) {
    let now = rcgen::date_time_ymd(1970, 1, 1) + time_since_epoch();
    params.not_before = now - std::time::Duration::from_secs(3600);
    params.not_after = now + std::time::Duration::from_secs((years * 365 * 24 * 3600) as u64);
}

fn time_since_epoch() -> std::time::Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
}

fn name(common_name: &str, organizations: &[&str]) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    for o in organizations {
        dn.push(DnType::OrganizationName, *o);
    }
    dn
}

impl Pki {
    /// Loads the PKI in `dir`, creating the CA and the serving certificate (for `names`: host
    /// names and IP addresses) when missing; the serving certificate is reissued when the
    /// names change.
    pub fn ensure(dir: &Path, names: &[String]) -> Result<Pki> {
        fs::create_dir_all(dir).map_err(io(dir))?;
        let ca_crt = dir.join("ca.crt");
        let ca_key = dir.join("ca.key");
        let ca = if ca_crt.exists() && ca_key.exists() {
            CertKey {
                cert_pem: read(&ca_crt)?,
                key_pem: read(&ca_key)?,
            }
        } else {
            let ca = Self::new_ca()?;
            write(&ca_key, &ca.key_pem, 0o600)?;
            write(&ca_crt, &ca.cert_pem, 0o644)?;
            tracing::info!(path = %ca_crt.display(), "created cluster CA");
            ca
        };
        let mut pki = Pki {
            dir: dir.to_path_buf(),
            serving: ca.clone(),
            ca,
            custom_serving: false,
        };
        let names_file = dir.join("serving.names");
        let wanted = names.join("\n");
        let have = fs::read_to_string(&names_file).unwrap_or_default();
        let (crt, key) = (dir.join("serving.crt"), dir.join("serving.key"));
        pki.serving = if have == wanted && crt.exists() && key.exists() {
            CertKey {
                cert_pem: read(&crt)?,
                key_pem: read(&key)?,
            }
        } else {
            let serving = pki.issue_serving(names)?;
            write(&key, &serving.key_pem, 0o600)?;
            write(&crt, &serving.cert_pem, 0o644)?;
            write(&names_file, &wanted, 0o644)?;
            serving
        };
        Ok(pki)
    }

    pub fn ca_path(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }

    fn new_ca() -> Result<CertKey> {
        Self::new_ca_named("oxshift-ca")
    }

    fn new_ca_named(common_name: &str) -> Result<CertKey> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        params.distinguished_name = name(common_name, &[]);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        validity(&mut params, CA_YEARS);
        let cert = params.self_signed(&key)?;
        Ok(CertKey {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    fn issuer(&self) -> Result<Issuer<'static, KeyPair>> {
        issuer_of(&self.ca)
    }

    fn issue(&self, params: CertificateParams, years: i64) -> Result<CertKey> {
        issue_by(&self.issuer()?, params, years)
    }

    /// The front proxy's own CA and its client certificate (`front-proxy-client`), made once
    /// and kept as `front-proxy-ca.*` and `front-proxy-client.*`: what the server presents to
    /// aggregated API servers, which trust the CA it publishes for request headers only.
    pub fn front_proxy(&self) -> Result<FrontProxy> {
        let ca = self.kept_or_made("front-proxy-ca", || Self::new_ca_named("front-proxy-ca"))?;
        let client = self.kept_or_made(FRONT_PROXY_CLIENT, || {
            let mut params = CertificateParams::default();
            params.distinguished_name = name(FRONT_PROXY_CLIENT, &[]);
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
            issue_by(&issuer_of(&ca)?, params, CLIENT_YEARS)
        })?;
        Ok(FrontProxy { ca, client })
    }

    /// `<file>.crt`/`<file>.key` under the PKI directory, made by `make` when missing.
    fn kept_or_made(&self, file: &str, make: impl FnOnce() -> Result<CertKey>) -> Result<CertKey> {
        let (crt, key) = (
            self.dir.join(format!("{file}.crt")),
            self.dir.join(format!("{file}.key")),
        );
        if crt.exists() && key.exists() {
            return Ok(CertKey {
                cert_pem: read(&crt)?,
                key_pem: read(&key)?,
            });
        }
        let made = make()?;
        write(&key, &made.key_pem, 0o600)?;
        write(&crt, &made.cert_pem, 0o644)?;
        Ok(made)
    }
}

/// The common name of the front proxy's client certificate (what aggregated servers allow
/// by `requestheader-allowed-names`).
pub const FRONT_PROXY_CLIENT: &str = "front-proxy-client";

/// The front proxy's CA and client certificate.
#[derive(Clone, Debug)]
pub struct FrontProxy {
    pub ca: CertKey,
    pub client: CertKey,
}

fn issuer_of(ca: &CertKey) -> Result<Issuer<'static, KeyPair>> {
    let key = KeyPair::from_pem(&ca.key_pem)?;
    Ok(Issuer::from_ca_cert_pem(&ca.cert_pem, key)?)
}

fn issue_by(
    issuer: &Issuer<'static, KeyPair>,
    mut params: CertificateParams,
    years: i64,
) -> Result<CertKey> {
    let key = KeyPair::generate()?;
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    validity(&mut params, years);
    let cert = params.signed_by(&key, issuer)?;
    Ok(CertKey {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

impl Pki {
    fn issue_serving(&self, names: &[String]) -> Result<CertKey> {
        let mut params = CertificateParams::new(names.to_vec())?;
        params.distinguished_name = name(names.first().map_or("oxshift", String::as_str), &[]);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(params, SERVING_YEARS)
    }

    /// The client certificate of `spec`, issued once and reused.
    pub fn client(&self, spec: &ClientSpec<'_>) -> Result<CertKey> {
        let (crt, key) = (
            self.dir.join(format!("{}.crt", spec.file)),
            self.dir.join(format!("{}.key", spec.file)),
        );
        if crt.exists() && key.exists() {
            return Ok(CertKey {
                cert_pem: read(&crt)?,
                key_pem: read(&key)?,
            });
        }
        let mut params = CertificateParams::default();
        params.distinguished_name = name(spec.user, spec.groups);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let issued = self.issue(params, CLIENT_YEARS)?;
        write(&key, &issued.key_pem, 0o600)?;
        write(&crt, &issued.cert_pem, 0o644)?;
        Ok(issued)
    }

    /// The server's TLS configuration: TLS 1.3 and 1.2 with ring's AEAD suites only, HTTP/2
    /// and HTTP/1.1 by ALPN, client certificates from this CA verified when presented (a
    /// connection without one is authenticated otherwise, or not at all).
    /// Uses a certificate chain and key from files (certificates for public host names
    /// signed by another CA) instead of the generated serving certificate.
    pub fn use_serving_files(&mut self, cert: &Path, key: &Path) -> Result<()> {
        let serving = CertKey {
            cert_pem: read(cert)?,
            key_pem: read(key)?,
        };
        CertificateDer::from_pem_slice(serving.cert_pem.as_bytes()).map_err(|_| {
            PkiError::BadPem {
                path: cert.to_path_buf(),
                what: "certificate",
            }
        })?;
        PrivateKeyDer::from_pem_slice(serving.key_pem.as_bytes()).map_err(|_| {
            PkiError::BadPem {
                path: key.to_path_buf(),
                what: "private key",
            }
        })?;
        self.serving = serving;
        self.custom_serving = true;
        Ok(())
    }

    pub fn server_config(&self) -> Result<rustls::ServerConfig> {
        let ca = (!self.custom_serving).then_some(self.ca.cert_pem.as_str());
        server_config(&self.dir, &self.ca.cert_pem, &self.serving, ca)
    }

    /// A serving certificate for another server of the cluster (a node's), for `names`,
    /// issued by this CA once and kept as `<file>.crt`/`<file>.key`; reissued when the names
    /// change.
    pub fn serving_for(&self, file: &str, names: &[String]) -> Result<CertKey> {
        let (crt, key, names_file) = (
            self.dir.join(format!("{file}.crt")),
            self.dir.join(format!("{file}.key")),
            self.dir.join(format!("{file}.names")),
        );
        let wanted = names.join("\n");
        if crt.exists()
            && key.exists()
            && fs::read_to_string(&names_file).ok() == Some(wanted.clone())
        {
            return Ok(CertKey {
                cert_pem: read(&crt)?,
                key_pem: read(&key)?,
            });
        }
        let issued = self.issue_serving(names)?;
        write(&key, &issued.key_pem, 0o600)?;
        write(&crt, &issued.cert_pem, 0o644)?;
        write(&names_file, &wanted, 0o644)?;
        Ok(issued)
    }
}

/// A server's TLS configuration: TLS 1.3 and 1.2 with ring's AEAD suites only, HTTP/2 and
/// HTTP/1.1 by ALPN, client certificates from `client_ca_pem` verified when presented (a
/// connection without one is authenticated otherwise, or not at all). `chain_ca_pem`, when
/// given, is sent after the serving certificate. `origin` names where the PEM came from in
/// errors.
pub fn server_config(
    origin: &Path,
    client_ca_pem: &str,
    serving: &CertKey,
    chain_ca_pem: Option<&str>,
) -> Result<rustls::ServerConfig> {
    let provider = Arc::new(tls_provider());
    let bad = |what: &'static str| PkiError::BadPem {
        path: origin.to_path_buf(),
        what,
    };
    let mut roots = rustls::RootCertStore::empty();
    for ca in CertificateDer::pem_slice_iter(client_ca_pem.as_bytes()) {
        roots
            .add(ca.map_err(|_| bad("CA certificate"))?)
            .map_err(|e| PkiError::Tls(e.to_string()))?;
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .allow_unauthenticated()
    .build()
    .map_err(|e| PkiError::Tls(e.to_string()))?;
    let mut chain = CertificateDer::pem_slice_iter(serving.cert_pem.as_bytes())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| bad("serving certificate"))?;
    if let Some(ca) = chain_ca_pem {
        chain.push(
            CertificateDer::from_pem_slice(ca.as_bytes()).map_err(|_| bad("CA certificate"))?,
        );
    }
    let key = PrivateKeyDer::from_pem_slice(serving.key_pem.as_bytes())
        .map_err(|_| bad("serving key"))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| PkiError::Tls(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| PkiError::Tls(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    // The server's preference order, as upstream's servers use.
    config.ignore_client_order = true;
    Ok(config)
}

/// The user (CN) and groups (O) of a verified client certificate.
pub fn client_identity(cert: &CertificateDer<'_>) -> Option<(String, Vec<String>)> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let subject = parsed.subject();
    let user = subject
        .iter_common_name()
        .next()?
        .as_str()
        .ok()?
        .to_string();
    let groups = subject
        .iter_organization()
        .filter_map(|o| o.as_str().ok().map(str::to_string))
        .collect();
    Some((user, groups))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_reused_and_reissued_when_names_change() {
        let dir = tempfile::tempdir().unwrap();
        let names = vec!["127.0.0.1".to_string(), "localhost".to_string()];
        let first = Pki::ensure(dir.path(), &names).unwrap();
        let again = Pki::ensure(dir.path(), &names).unwrap();
        assert_eq!(first.ca.cert_pem, again.ca.cert_pem);
        assert_eq!(first.serving.cert_pem, again.serving.cert_pem);
        let more = [names.clone(), vec!["api.example.com".to_string()]].concat();
        let reissued = Pki::ensure(dir.path(), &more).unwrap();
        assert_eq!(first.ca.cert_pem, reissued.ca.cert_pem, "the CA stays");
        assert_ne!(first.serving.cert_pem, reissued.serving.cert_pem);
        reissued.server_config().unwrap();
        let mode = fs::metadata(dir.path().join("ca.key"))
            .unwrap()
            .permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
    }

    #[test]
    fn front_proxy_has_its_own_ca() {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::ensure(dir.path(), &["localhost".to_string()]).unwrap();
        let front = pki.front_proxy().unwrap();
        assert_ne!(front.ca.cert_pem, pki.ca.cert_pem);
        assert_eq!(
            pki.front_proxy().unwrap().client.cert_pem,
            front.client.cert_pem
        );
        let der = CertificateDer::from_pem_slice(front.client.cert_pem.as_bytes()).unwrap();
        assert_eq!(
            client_identity(&der),
            Some((FRONT_PROXY_CLIENT.to_string(), vec![]))
        );
        // Signed by the front proxy's CA, not the cluster's.
        let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
        let ca_der = CertificateDer::from_pem_slice(front.ca.cert_pem.as_bytes()).unwrap();
        let (_, ca) = x509_parser::parse_x509_certificate(&ca_der).unwrap();
        assert_eq!(cert.issuer(), ca.subject());
        assert_eq!(
            ca.subject()
                .iter_common_name()
                .next()
                .unwrap()
                .as_str()
                .unwrap(),
            "front-proxy-ca"
        );
    }

    #[test]
    fn client_certificates_carry_user_and_groups() {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::ensure(dir.path(), &["localhost".to_string()]).unwrap();
        let spec = ClientSpec {
            file: "admin",
            user: "system:admin",
            groups: &["system:masters"],
        };
        let admin = pki.client(&spec).unwrap();
        assert_eq!(
            pki.client(&spec).unwrap().cert_pem,
            admin.cert_pem,
            "reused"
        );
        let der = CertificateDer::from_pem_slice(admin.cert_pem.as_bytes()).unwrap();
        assert_eq!(
            client_identity(&der),
            Some((
                "system:admin".to_string(),
                vec!["system:masters".to_string()]
            ))
        );
    }

    #[test]
    fn custom_serving_certificates_and_modern_suites_only() {
        let dir = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        // A certificate issued by another CA, for a public name.
        let public = Pki::ensure(other.path(), &["api.example.com".to_string()]).unwrap();
        let mut pki = Pki::ensure(dir.path(), &["127.0.0.1".to_string()]).unwrap();
        pki.use_serving_files(
            &other.path().join("serving.crt"),
            &other.path().join("serving.key"),
        )
        .unwrap();
        assert_eq!(pki.serving.cert_pem, public.serving.cert_pem);
        let config = pki.server_config().unwrap();
        assert!(config.ignore_client_order);
        assert!(
            pki.use_serving_files(&dir.path().join("missing.crt"), &dir.path().join("x"))
                .is_err()
        );
        let names: Vec<String> = tls_provider()
            .cipher_suites
            .iter()
            .map(|s| format!("{:?}", s.suite()))
            .collect();
        assert_eq!(names[3], "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256");
        assert!(
            names
                .iter()
                .all(|n| !n.contains("CBC") && !n.starts_with("TLS_RSA"))
        );
    }
}
