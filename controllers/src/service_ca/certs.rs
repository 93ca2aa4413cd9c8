//! The service CA's certificates (ECDSA P-256, via rcgen): the signer, named as upstream's
//! `openshift-service-serving-signer@<unix seconds>`, its rotation (a new signer before the
//! current one has less than the minimum trust left, cross-signed by the old one, both in
//! the bundle until the old one expires), and serving certificates for a service's DNS names.

use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};

const DAY: u64 = 24 * 3600;

/// How long certificates live and how early they are replaced; upstream's by default, shorter
/// in tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifetimes {
    /// A signer's validity (upstream's 26 months).
    pub ca: Duration,
    /// A signer with less validity left is rotated (upstream's 13 months); the signer it
    /// replaces stays trusted for about as long.
    pub ca_minimum_trust: Duration,
    /// A serving certificate's validity (upstream's two years).
    pub serving: Duration,
    /// A serving certificate with less validity left is made again (upstream's hour).
    pub serving_minimum_left: Duration,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Lifetimes {
            ca: Duration::from_secs(790 * DAY),
            ca_minimum_trust: Duration::from_secs(395 * DAY),
            serving: Duration::from_secs(730 * DAY),
            serving_minimum_left: Duration::from_secs(3600),
        }
    }
}

/// A certificate and its private key, both PEM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertKey {
    pub cert_pem: String,
    pub key_pem: String,
}

/// The signer and what a rotation keeps of the signers before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signer {
    pub ca: CertKey,
    /// Earlier signers' certificates, still trusted until they expire.
    pub previous: Vec<String>,
    /// The signer's certificate signed by the previous signer (same name and key): ending
    /// serving certificates' chains, so that clients trusting only the previous signer still
    /// verify them.
    pub intermediate: Option<String>,
}

impl Signer {
    /// The signer's name (its common name), the value of `serving-cert-signed-by`.
    pub fn name(&self) -> Option<String> {
        common_name_of(&self.ca.cert_pem)
    }

    /// What clients trust: the signer and the earlier signers not yet expired.
    pub fn bundle(&self, now_unix: i64) -> String {
        let mut bundle = self.ca.cert_pem.clone();
        for cert in &self.previous {
            if not_after(cert).is_some_and(|end| end > now_unix) {
                bundle.push_str(cert);
            }
        }
        bundle
    }

    /// When the signer is due for rotation (less than the minimum trust left).
    pub fn rotation_due_at(&self, lifetimes: &Lifetimes) -> i64 {
        not_after(&self.ca.cert_pem).unwrap_or(0) - secs(lifetimes.ca_minimum_trust)
    }

    /// When the bundle next changes by itself: the first earlier signer to expire.
    pub fn next_expiry_of_previous(&self, now_unix: i64) -> Option<i64> {
        self.previous
            .iter()
            .filter_map(|c| not_after(c))
            .filter(|end| *end > now_unix)
            .min()
    }

    /// A new signer replacing this one: cross-signed by it, this one kept in the bundle
    /// (signers already expired are dropped).
    pub fn rotated(&self, now_unix: i64, lifetimes: &Lifetimes) -> Result<Signer, rcgen::Error> {
        let issuer =
            Issuer::from_ca_cert_pem(&self.ca.cert_pem, KeyPair::from_pem(&self.ca.key_pem)?)?;
        let key = KeyPair::generate()?;
        let mut params = ca_params(now_unix);
        validity(&mut params, now_unix, lifetimes.ca);
        let next = CertKey {
            cert_pem: params.self_signed(&key)?.pem(),
            key_pem: key.serialize_pem(),
        };
        // The same name and key signed by this signer, valid as long as it is.
        params.use_authority_key_identifier_extension = true;
        if let Some(end) = not_after(&self.ca.cert_pem) {
            params.not_after =
                rcgen::date_time_ymd(1970, 1, 1) + Duration::from_secs(end.max(0).unsigned_abs());
        }
        let intermediate = params.signed_by(&key, &issuer)?.pem();
        let mut previous = vec![self.ca.cert_pem.clone()];
        previous.extend(
            self.previous
                .iter()
                .filter(|c| not_after(c).is_some_and(|end| end > now_unix))
                .cloned(),
        );
        Ok(Signer {
            ca: next,
            previous,
            intermediate: Some(intermediate),
        })
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// The signer's common name at `now_unix`.
pub fn signer_name(now_unix: i64) -> String {
    format!("openshift-service-serving-signer@{now_unix}")
}

/// The names a service's serving certificate is for.
pub fn service_names(service: &str, namespace: &str) -> Vec<String> {
    vec![
        format!("{service}.{namespace}.svc"),
        format!("{service}.{namespace}.svc.cluster.local"),
    ]
}

/// Sets a certificate's validity from `now_unix` for `lifetime`.
fn validity(params: &mut CertificateParams, now_unix: i64, lifetime: Duration) {
    let now =
        rcgen::date_time_ymd(1970, 1, 1) + Duration::from_secs(now_unix.max(0).unsigned_abs());
    // An hour of slack for clocks a little behind.
    params.not_before = now - Duration::from_secs(3600);
    params.not_after = now + lifetime;
}

fn common_name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

fn ca_params(now_unix: i64) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = common_name(&signer_name(now_unix));
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

/// A new self-signed signer.
pub fn new_signer(now_unix: i64, lifetimes: &Lifetimes) -> Result<CertKey, rcgen::Error> {
    let key = KeyPair::generate()?;
    let mut params = ca_params(now_unix);
    validity(&mut params, now_unix, lifetimes.ca);
    let cert = params.self_signed(&key)?;
    Ok(CertKey {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// A serving certificate for `names` (the first is its common name) signed by `signer`: the
/// chain ends with the signer (as upstream's), or after a rotation with its certificate
/// cross-signed by the previous signer.
pub fn issue_serving(
    signer: &Signer,
    names: &[String],
    now_unix: i64,
    lifetimes: &Lifetimes,
) -> Result<CertKey, rcgen::Error> {
    let issuer =
        Issuer::from_ca_cert_pem(&signer.ca.cert_pem, KeyPair::from_pem(&signer.ca.key_pem)?)?;
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(names.to_vec())?;
    params.distinguished_name = common_name(names.first().map_or("", String::as_str));
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    validity(&mut params, now_unix, lifetimes.serving);
    let cert = params.signed_by(&key, &issuer)?;
    // After a rotation the cross-signed certificate stands in for the signer's own: a client
    // trusting the signer needs neither, one trusting only the previous signer needs it, and
    // a self-signed certificate beside it would lead some verifiers (OpenSSL's) astray.
    let issuer_cert = signer.intermediate.as_ref().unwrap_or(&signer.ca.cert_pem);
    let chain = format!("{}{issuer_cert}", cert.pem());
    Ok(CertKey {
        cert_pem: chain,
        key_pem: key.serialize_pem(),
    })
}

fn parsed<T>(
    cert_pem: &str,
    read: impl FnOnce(&x509_parser::certificate::X509Certificate<'_>) -> Option<T>,
) -> Option<T> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes()).ok()?;
    let cert = pem.parse_x509().ok()?;
    read(&cert)
}

/// The common name of a (first) certificate, if it parses (the signer's name read back).
pub fn common_name_of(cert_pem: &str) -> Option<String> {
    parsed(cert_pem, |cert| {
        let cn = cert.subject().iter_common_name().next()?;
        cn.as_str().ok().map(str::to_string)
    })
}

/// The issuer's common name of a (first) certificate.
pub fn issuer_of(cert_pem: &str) -> Option<String> {
    parsed(cert_pem, |cert| {
        let cn = cert.issuer().iter_common_name().next()?;
        cn.as_str().ok().map(str::to_string)
    })
}

/// When a (first) certificate expires (unix seconds).
pub fn not_after(cert_pem: &str) -> Option<i64> {
    parsed(cert_pem, |cert| Some(cert.validity().not_after.timestamp()))
}

/// The certificates of a PEM text, each as PEM.
pub fn certificates(pem: &str) -> Vec<String> {
    const END: &str = "-----END CERTIFICATE-----";
    pem.split_inclusive(END)
        .filter_map(|block| {
            let start = block.find("-----BEGIN CERTIFICATE-----")?;
            block
                .ends_with(END)
                .then(|| format!("{}\n", &block[start..]))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_parser::certificate::X509Certificate;
    use x509_parser::prelude::FromDer;

    fn der(pem: &str) -> Vec<u8> {
        x509_parser::pem::parse_x509_pem(pem.as_bytes())
            .unwrap()
            .1
            .contents
    }

    fn signer(now: i64, lifetimes: &Lifetimes) -> Signer {
        Signer {
            ca: new_signer(now, lifetimes).unwrap(),
            previous: Vec::new(),
            intermediate: None,
        }
    }

    #[test]
    fn serving_certificates_name_the_service_and_are_signed_by_the_signer() {
        let lifetimes = Lifetimes::default();
        let signer = signer(1_700_000_000, &lifetimes);
        assert_eq!(
            signer.name().as_deref(),
            Some("openshift-service-serving-signer@1700000000")
        );
        let names = service_names("web", "shop");
        assert_eq!(names, ["web.shop.svc", "web.shop.svc.cluster.local"]);
        let serving = issue_serving(&signer, &names, 1_700_000_000, &lifetimes).unwrap();
        // The chain: the certificate, then the signer.
        let chain = certificates(&serving.cert_pem);
        assert_eq!(chain.len(), 2);
        assert_eq!(chain[1], signer.ca.cert_pem);
        let leaf_der = der(&serving.cert_pem);
        let (_, cert) = X509Certificate::from_der(&leaf_der).unwrap();
        let sans: Vec<String> = cert
            .subject_alternative_name()
            .unwrap()
            .unwrap()
            .value
            .general_names
            .iter()
            .filter_map(|n| match n {
                x509_parser::extensions::GeneralName::DNSName(s) => Some(s.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(sans, names);
        assert_eq!(
            common_name_of(&serving.cert_pem).as_deref(),
            Some("web.shop.svc")
        );
        assert_eq!(issuer_of(&serving.cert_pem), signer.name());
        assert_eq!(
            not_after(&serving.cert_pem),
            Some(1_700_000_000 + 730 * 24 * 3600)
        );
        let ca_der = der(&signer.ca.cert_pem);
        let (_, ca) = X509Certificate::from_der(&ca_der).unwrap();
        assert_eq!(cert.issuer(), ca.subject());
        cert.verify_signature(Some(ca.public_key())).unwrap();
    }

    /// Short lifetimes, as tests configure them: a signer of 100 s rotated with 40 s left.
    #[test]
    fn a_signer_rotates_before_expiry_and_the_old_one_stays_trusted_until_it_expires() {
        let lifetimes = Lifetimes {
            ca: Duration::from_secs(100),
            ca_minimum_trust: Duration::from_secs(40),
            serving: Duration::from_secs(50),
            serving_minimum_left: Duration::from_secs(10),
        };
        let t0 = 1_700_000_000;
        let old = signer(t0, &lifetimes);
        assert_eq!(old.rotation_due_at(&lifetimes), t0 + 60);
        let names = service_names("web", "shop");
        let old_serving = issue_serving(&old, &names, t0, &lifetimes).unwrap();

        let new = old.rotated(t0 + 61, &lifetimes).unwrap();
        assert_ne!(new.name(), old.name());
        assert_eq!(new.previous, vec![old.ca.cert_pem.clone()]);
        // The bundle holds both until the old one expires, then the new one only.
        assert_eq!(
            certificates(&new.bundle(t0 + 61)),
            vec![new.ca.cert_pem.clone(), old.ca.cert_pem.clone()]
        );
        assert_eq!(new.next_expiry_of_previous(t0 + 61), Some(t0 + 100));
        assert_eq!(new.bundle(t0 + 100), new.ca.cert_pem);
        assert_eq!(new.next_expiry_of_previous(t0 + 100), None);

        // The cross-signed certificate: the new signer's name and key, the old one's
        // signature, valid until the old one expires.
        let intermediate = new.intermediate.clone().unwrap();
        assert_eq!(common_name_of(&intermediate), new.name());
        assert_eq!(issuer_of(&intermediate), old.name());
        assert_eq!(not_after(&intermediate), Some(t0 + 100));
        let (old_der, new_der, cross_der) = (
            der(&old.ca.cert_pem),
            der(&new.ca.cert_pem),
            der(&intermediate),
        );
        let (_, old_ca) = X509Certificate::from_der(&old_der).unwrap();
        let (_, new_ca) = X509Certificate::from_der(&new_der).unwrap();
        let (_, cross) = X509Certificate::from_der(&cross_der).unwrap();
        cross.verify_signature(Some(old_ca.public_key())).unwrap();
        assert_eq!(cross.public_key().raw, new_ca.public_key().raw);

        // New serving certificates carry it; the old ones still verify against the old signer
        // in the bundle.
        let new_serving = issue_serving(&new, &names, t0 + 61, &lifetimes).unwrap();
        let chain = certificates(&new_serving.cert_pem);
        assert_eq!(chain.len(), 2);
        assert_eq!(chain[1], intermediate);
        assert_eq!(issuer_of(&new_serving.cert_pem), new.name());
        assert_eq!(issuer_of(&old_serving.cert_pem), old.name());

        // A second rotation keeps the first signer only while it is still valid.
        let third = new.rotated(t0 + 101, &lifetimes).unwrap();
        assert_eq!(third.previous, vec![new.ca.cert_pem.clone()]);
    }

    #[test]
    fn a_broken_signer_is_an_error_not_a_panic() {
        let broken = Signer {
            ca: CertKey {
                cert_pem: "junk".into(),
                key_pem: "junk".into(),
            },
            previous: Vec::new(),
            intermediate: None,
        };
        let lifetimes = Lifetimes::default();
        assert!(issue_serving(&broken, &service_names("a", "b"), 0, &lifetimes).is_err());
        assert!(broken.rotated(0, &lifetimes).is_err());
        assert_eq!(common_name_of("junk"), None);
        assert_eq!(not_after("junk"), None);
        assert!(certificates("junk").is_empty());
    }
}
