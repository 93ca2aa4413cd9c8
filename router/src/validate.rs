//! The certificate checks of upstream's extended route validation beyond parsing: with a CA
//! certificate given, the route's certificate must be signed by one of its certificates (the
//! CA bundle is both roots and intermediates there, so the signer must be in it); a certificate
//! that has expired or is not yet valid passes (the client decides, as for self-signed ones);
//! certificates a CA signed with SHA-1, MD5 or MD2 are refused, as HAProxy's OpenSSL would.

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

/// `field` (`spec.tls.<field>`) and the redacted value upstream's messages show for it.
#[derive(Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub redacted: &'static str,
}

pub const CERTIFICATE: Field = Field {
    name: "certificate",
    redacted: "redacted certificate data",
};
pub const CA_CERTIFICATE: Field = Field {
    name: "caCertificate",
    redacted: "redacted ca certificate data",
};
pub const DESTINATION_CA_CERTIFICATE: Field = Field {
    name: "destinationCACertificate",
    redacted: "redacted destination ca certificate data",
};

impl Field {
    pub fn invalid(&self, message: &str) -> String {
        format!(
            "spec.tls.{}: Invalid value: {:?}: {message}",
            self.name, self.redacted
        )
    }
}

/// The DER certificates of a PEM text (what does not parse is left to the callers' parsing).
fn ders(pem: &str) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .filter_map(Result::ok)
        .collect()
}

/// Refuses certificates a CA signed with a digest the router does not take (self-signed
/// ones, roots above all, may use any).
pub fn signature_algorithms(pem: &str, field: Field) -> Result<(), String> {
    for der in ders(pem) {
        let Ok((_, cert)) = X509Certificate::from_der(&der) else {
            continue;
        };
        if cert.issuer().as_raw() == cert.subject().as_raw() {
            continue;
        }
        let digest = match cert.signature_algorithm.algorithm.to_id_string().as_str() {
            // sha1WithRSAEncryption (PKCS#1 and the older OIW one), ecdsa-with-SHA1, dsa-with-sha1
            "1.2.840.113549.1.1.5"
            | "1.3.14.3.2.29"
            | "1.2.840.10045.4.1"
            | "1.2.840.10040.4.3" => "SHA1",
            "1.2.840.113549.1.1.4" => "MD5",
            "1.2.840.113549.1.1.2" => "MD2",
            _ => continue,
        };
        return Err(field.invalid(&format!(
            "router does not support CA-signed certs using {digest}"
        )));
    }
    Ok(())
}

/// The route's certificate (the first of `certificate`) against the CA bundle `ca`.
pub fn chains_to(certificate: &str, ca: &str) -> Result<(), String> {
    let unknown = || {
        CERTIFICATE
            .invalid("error verifying certificate: x509: certificate signed by unknown authority")
    };
    let Some(leaf_der) = ders(certificate).into_iter().next() else {
        return Ok(());
    };
    let Ok((_, leaf)) = X509Certificate::from_der(&leaf_der) else {
        return Ok(());
    };
    // Upstream checks the time first and lets an expired certificate through unverified.
    if !leaf.validity().is_valid() {
        return Ok(());
    }
    let cas = ders(ca);
    let signed = cas.iter().any(|der| {
        let Ok((_, ca)) = X509Certificate::from_der(der) else {
            return false;
        };
        ca.subject().as_raw() == leaf.issuer().as_raw()
            && may_sign(&ca)
            && leaf.verify_signature(Some(ca.public_key())).is_ok()
    });
    if !signed {
        return Err(unknown());
    }
    match leaf.extended_key_usage() {
        Ok(Some(eku)) if !(eku.value.any || eku.value.server_auth) => Err(CERTIFICATE.invalid(
            "error verifying certificate: x509: certificate specifies an incompatible key usage",
        )),
        _ => Ok(()),
    }
}

/// A version 3 certificate signs others only as a CA; older ones carry no such constraint.
fn may_sign(ca: &X509Certificate<'_>) -> bool {
    match ca.basic_constraints() {
        Ok(Some(constraints)) => constraints.value.ca,
        Ok(None) => ca.version() != x509_parser::x509::X509Version::V3,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, date_time_ymd,
    };

    fn ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).unwrap();
        (cert.pem(), Issuer::new(params, key))
    }

    fn leaf(
        issuer: &Issuer<'static, KeyPair>,
        edit: impl FnOnce(&mut CertificateParams),
    ) -> String {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["www.example.com".to_string()]).unwrap();
        edit(&mut params);
        params.signed_by(&key, issuer).unwrap().pem()
    }

    #[test]
    fn a_certificate_must_be_signed_by_its_ca_unless_it_has_expired() {
        // Two CAs of the same name: the name alone does not make the signer.
        let (signer_pem, signer) = ca("route-ca");
        let (other_pem, _) = ca("route-ca");
        let cert = leaf(&signer, |_| {});
        assert_eq!(chains_to(&cert, &signer_pem), Ok(()));
        assert_eq!(
            chains_to(&cert, &format!("{other_pem}{signer_pem}")),
            Ok(())
        );
        assert_eq!(
            chains_to(&cert, &other_pem),
            Err("spec.tls.certificate: Invalid value: \"redacted certificate data\": error verifying certificate: x509: certificate signed by unknown authority".into())
        );
        let expired = leaf(&signer, |p| {
            p.not_before = date_time_ymd(2000, 1, 1);
            p.not_after = date_time_ymd(2001, 1, 1);
        });
        assert_eq!(chains_to(&expired, &other_pem), Ok(()));
        let client_only = leaf(&signer, |p| {
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        });
        assert!(
            chains_to(&client_only, &signer_pem)
                .unwrap_err()
                .ends_with("certificate specifies an incompatible key usage")
        );
    }

    #[test]
    fn only_self_signed_certificates_may_use_old_digests() {
        let (ca_pem, signer) = ca("route-ca");
        assert_eq!(signature_algorithms(&ca_pem, CA_CERTIFICATE), Ok(()));
        assert_eq!(
            signature_algorithms(&leaf(&signer, |_| {}), CERTIFICATE),
            Ok(())
        );
    }
}
