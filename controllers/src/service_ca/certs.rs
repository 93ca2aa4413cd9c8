//! The service CA's certificates (ECDSA P-256, via rcgen): the signer, named as upstream's
//! `openshift-service-serving-signer@<unix seconds>`, and serving certificates for a
//! service's DNS names signed by it.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};

/// The signer's validity (upstream's 26 months).
const CA_DAYS: u64 = 790;
/// A serving certificate's validity (upstream's two years).
pub const SERVING_DAYS: u64 = 730;

/// A certificate and its private key, both PEM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertKey {
    pub cert_pem: String,
    pub key_pem: String,
}

/// The signer's common name, also the value of `serving-cert-signed-by`.
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

fn validity(params: &mut CertificateParams, now_unix: i64, days: u64) {
    let now = rcgen::date_time_ymd(1970, 1, 1)
        + std::time::Duration::from_secs(now_unix.max(0).unsigned_abs());
    // An hour of slack for clocks a little behind.
    params.not_before = now - std::time::Duration::from_secs(3600);
    params.not_after = now + std::time::Duration::from_secs(days * 24 * 3600);
}

fn common_name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

/// A new self-signed signer.
pub fn new_signer(now_unix: i64) -> Result<CertKey, rcgen::Error> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::default();
    params.distinguished_name = common_name(&signer_name(now_unix));
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    validity(&mut params, now_unix, CA_DAYS);
    let cert = params.self_signed(&key)?;
    Ok(CertKey {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// A serving certificate for `names` (the first is its common name) signed by `signer`.
pub fn issue_serving(
    signer: &CertKey,
    names: &[String],
    now_unix: i64,
) -> Result<CertKey, rcgen::Error> {
    let issuer = Issuer::from_ca_cert_pem(&signer.cert_pem, KeyPair::from_pem(&signer.key_pem)?)?;
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(names.to_vec())?;
    params.distinguished_name = common_name(names.first().map_or("", String::as_str));
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    validity(&mut params, now_unix, SERVING_DAYS);
    let cert = params.signed_by(&key, &issuer)?;
    Ok(CertKey {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// The common name of a certificate, if it parses (the signer's name read back).
pub fn common_name_of(cert_pem: &str) -> Option<String> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes()).ok()?;
    let cert = pem.parse_x509().ok()?;
    let cn = cert.subject().iter_common_name().next()?;
    cn.as_str().ok().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serving_certificates_name_the_service_and_are_signed_by_the_signer() {
        let signer = new_signer(1_700_000_000).unwrap();
        assert_eq!(
            common_name_of(&signer.cert_pem).as_deref(),
            Some("openshift-service-serving-signer@1700000000")
        );
        let names = service_names("web", "shop");
        assert_eq!(names, ["web.shop.svc", "web.shop.svc.cluster.local"]);
        let serving = issue_serving(&signer, &names, 1_700_000_000).unwrap();
        let (_, pem) = x509_parser::pem::parse_x509_pem(serving.cert_pem.as_bytes()).unwrap();
        let cert = pem.parse_x509().unwrap();
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
        let (_, ca_pem) = x509_parser::pem::parse_x509_pem(signer.cert_pem.as_bytes()).unwrap();
        let ca = ca_pem.parse_x509().unwrap();
        assert_eq!(cert.issuer(), ca.subject());
        cert.verify_signature(Some(ca.public_key())).unwrap();
        let other = new_signer(1_700_000_001).unwrap();
        assert_ne!(other.cert_pem, signer.cert_pem);
    }

    #[test]
    fn a_broken_signer_is_an_error_not_a_panic() {
        let broken = CertKey {
            cert_pem: "junk".into(),
            key_pem: "junk".into(),
        };
        assert!(issue_serving(&broken, &service_names("a", "b"), 0).is_err());
        assert_eq!(common_name_of("junk"), None);
    }
}
