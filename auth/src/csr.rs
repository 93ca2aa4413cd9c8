//! PKCS#10 certificate signing requests as the certificates API reads them: a PEM
//! `CERTIFICATE REQUEST` parsed and its signature checked, with Go's error words (they reach
//! users in validation messages and conditions), and signed by a CA as kube-controller-manager's
//! local signer signs one: the request's subject, names and key, the usages the request object
//! asks for, `CA:FALSE`, and a lifetime cut at the signer's own end.

use std::time::Duration;

use base64::Engine;
use rcgen::{KeyPair, KeyUsagePurpose};
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::cri_attributes::ParsedCriAttribute;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;
use yasna::Tag;
use yasna::models::ObjectIdentifier;

use crate::pki::CertKey;

/// What the certificates API and its signers read from a request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request {
    pub common_name: String,
    pub organizations: Vec<String>,
    pub dns_names: usize,
    pub emails: usize,
    pub ips: usize,
    pub uris: usize,
    /// The request itself (DER).
    pub der: Vec<u8>,
}

/// The first PEM block of `data` (Go's `pem.Decode`: text before it is skipped): its type
/// and its bytes.
fn first_pem_block(data: &[u8]) -> Option<(String, Vec<u8>)> {
    let text = std::str::from_utf8(data).ok()?;
    let start = text.find("-----BEGIN ")?;
    let rest = &text[start + "-----BEGIN ".len()..];
    let (label, rest) = rest.split_once("-----")?;
    let end_marker = format!("-----END {label}-----");
    let body_end = rest.find(&end_marker)?;
    let body: String = rest[..body_end]
        .lines()
        .filter(|l| !l.contains(':'))
        .flat_map(|l| l.chars())
        .filter(|c| !c.is_whitespace())
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .ok()?;
    Some((label.to_string(), der))
}

/// Parses `pem` (a `CERTIFICATE REQUEST` block) and checks its signature; the error is
/// Go's `ParseCSR` / `CheckSignature` text.
pub fn parse(pem: &[u8]) -> Result<Request, String> {
    let der = match first_pem_block(pem) {
        Some((label, der)) if label == "CERTIFICATE REQUEST" => der,
        _ => return Err("PEM block type must be CERTIFICATE REQUEST".into()),
    };
    let (rest, csr) = X509CertificationRequest::from_der(&der)
        .map_err(|_| "asn1: structure error: tags don't match".to_string())?;
    if !rest.is_empty() {
        return Err("asn1: syntax error: trailing data".into());
    }
    if csr.verify_signature().is_err() {
        let key_oid = csr
            .certification_request_info
            .subject_pki
            .algorithm
            .algorithm
            .to_id_string();
        return Err(match key_oid.as_str() {
            "1.2.840.10045.2.1" => "x509: ECDSA verification failure".into(),
            "1.3.101.112" => "x509: Ed25519 verification failure".into(),
            _ => "crypto/rsa: verification error".into(),
        });
    }
    let subject = &csr.certification_request_info.subject;
    let mut request = Request {
        common_name: subject
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .unwrap_or_default()
            .to_string(),
        organizations: subject
            .iter_organization()
            .filter_map(|o| o.as_str().ok().map(str::to_string))
            .collect(),
        ..Request::default()
    };
    for ext in csr.requested_extensions().into_iter().flatten() {
        if let ParsedExtension::SubjectAlternativeName(san) = ext {
            for name in &san.general_names {
                match name {
                    GeneralName::DNSName(_) => request.dns_names += 1,
                    GeneralName::RFC822Name(_) => request.emails += 1,
                    GeneralName::IPAddress(_) => request.ips += 1,
                    GeneralName::URI(_) => request.uris += 1,
                    _ => {}
                }
            }
        }
    }
    request.der = der;
    Ok(request)
}

/// Go's check of a CSR's `status.certificate`: PEM `CERTIFICATE` blocks without headers
/// only, each a certificate, at least one.
pub fn check_certificates(pem: &[u8]) -> Result<(), String> {
    if pem.is_empty() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(pem);
    let mut blocks = 0;
    let mut rest: &str = &text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + "-----BEGIN ".len()..];
        let Some((label, body)) = after.split_once("-----") else {
            break;
        };
        let end = format!("-----END {label}-----");
        let Some(stop) = body.find(&end) else {
            break;
        };
        if label != "CERTIFICATE" {
            return Err(format!(
                "only CERTIFICATE PEM blocks are allowed, found {label:?}"
            ));
        }
        let block = &body[..stop];
        if block.lines().any(|l| l.contains(':')) {
            return Err("no PEM block headers are permitted".into());
        }
        let b64: String = block.chars().filter(|c| !c.is_whitespace()).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| "x509: malformed certificate".to_string())?;
        x509_parser::parse_x509_certificate(&der)
            .map_err(|_| "x509: malformed certificate".to_string())?;
        blocks += 1;
        rest = &body[stop + end.len()..];
    }
    match blocks {
        0 => Err("must contain at least one CERTIFICATE PEM block".into()),
        _ => Ok(()),
    }
}

/// Go's `%#v` of a byte slice (`[]byte{0x2d, 0x2d}`), as validation messages show a
/// request's bytes.
pub fn go_bytes(data: &[u8]) -> String {
    let items: Vec<String> = data.iter().map(|b| format!("0x{b:x}")).collect();
    format!("[]byte{{{}}}", items.join(", "))
}

/// What a signed certificate may be used for: the API's usage names as key usages and
/// extended key usage OIDs (in Go's order, which its signer sorts them by). Unknown names are
/// refused with the local signer's message.
fn usages(names: &[String]) -> Result<(Vec<KeyUsagePurpose>, Vec<Vec<u64>>), String> {
    const PKIX: [u64; 8] = [1, 3, 6, 1, 5, 5, 7, 3];
    let pkix = |n: u64| [&PKIX[..], &[n]].concat();
    let mut key = Vec::new();
    let mut extended: Vec<(u8, Vec<u64>)> = Vec::new();
    let mut unknown = Vec::new();
    for name in names {
        let k = match name.as_str() {
            "signing" | "digital signature" => Some(KeyUsagePurpose::DigitalSignature),
            "content commitment" => Some(KeyUsagePurpose::ContentCommitment),
            "key encipherment" => Some(KeyUsagePurpose::KeyEncipherment),
            "key agreement" => Some(KeyUsagePurpose::KeyAgreement),
            "data encipherment" => Some(KeyUsagePurpose::DataEncipherment),
            "cert sign" => Some(KeyUsagePurpose::KeyCertSign),
            "crl sign" => Some(KeyUsagePurpose::CrlSign),
            "encipher only" => Some(KeyUsagePurpose::EncipherOnly),
            "decipher only" => Some(KeyUsagePurpose::DecipherOnly),
            _ => None,
        };
        if let Some(k) = k {
            if !key.contains(&k) {
                key.push(k);
            }
            continue;
        }
        let e = match name.as_str() {
            "any" => (0, vec![2, 5, 29, 37, 0]),
            "server auth" => (1, pkix(1)),
            "client auth" => (2, pkix(2)),
            "code signing" => (3, pkix(3)),
            "email protection" | "s/mime" => (4, pkix(4)),
            "ipsec end system" => (5, pkix(5)),
            "ipsec tunnel" => (6, pkix(6)),
            "ipsec user" => (7, pkix(7)),
            "timestamping" => (8, pkix(8)),
            "ocsp signing" => (9, pkix(9)),
            "microsoft sgc" => (10, vec![1, 3, 6, 1, 4, 1, 311, 10, 3, 3]),
            "netscape sgc" => (11, vec![2, 16, 840, 1, 113730, 4, 1]),
            _ => {
                unknown.push(format!("{name:?}"));
                continue;
            }
        };
        if !extended.iter().any(|(order, _)| *order == e.0) {
            extended.push(e);
        }
    }
    if !unknown.is_empty() {
        return Err(format!(
            "unrecognized usage values: [{}]",
            unknown.join(" ")
        ));
    }
    extended.sort_by_key(|(order, _)| *order);
    Ok((key, extended.into_iter().map(|(_, e)| e).collect()))
}

/// How long ago a certificate starts, and what counts as short-lived (upstream's signer:
/// five minutes of backdating, roughly 1% of eight hours).
const BACKDATE: i64 = 5 * 60;
const SHORT: Duration = Duration::from_secs(8 * 3600);

/// Signs `request` with `ca` for `ttl` from `now_unix`, with the `usages` the request object
/// asks for. Long-lived certificates end `ttl` minus the backdating after `now`, short-lived
/// ones `ttl` after it; none outlives the CA. The request's subject, key and names are
/// copied as they are (every `O`, in order), its other extensions dropped.
pub fn sign(
    ca: &CertKey,
    request: &Request,
    usage_names: &[String],
    ttl: Duration,
    now_unix: i64,
) -> Result<String, String> {
    let (_, ca_der) = first_pem_block(ca.cert_pem.as_bytes()).ok_or("the CA does not parse")?;
    let (_, ca_cert) =
        x509_parser::parse_x509_certificate(&ca_der).map_err(|_| "the CA does not parse")?;
    let ca_end = ca_cert.validity().not_after.timestamp();
    if now_unix >= ca_end {
        return Err(format!(
            "refusing to sign a certificate that expired in the past: NotAfter={}",
            go_time(ca_end)
        ));
    }
    let (_, csr) = X509CertificationRequest::from_der(&request.der)
        .map_err(|_| "asn1: structure error: tags don't match".to_string())?;
    let (key_usages, extended) = usages(usage_names)?;
    let key = KeyPair::from_pem(&ca.key_pem).map_err(|e| e.to_string())?;
    let algorithm = signature_algorithm(&key)?;
    let ttl_secs = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2);
    let end = match ttl < SHORT {
        true => now_unix + ttl_secs,
        false => now_unix + ttl_secs - BACKDATE,
    };
    let validity = (now_unix - BACKDATE, end.min(ca_end));
    let authority_key_id = ca_cert
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0.to_vec()),
            _ => None,
        });
    let names = csr
        .certification_request_info
        .iter_attributes()
        .filter_map(|a| match a.parsed_attribute() {
            ParsedCriAttribute::ExtensionRequest(r) => Some(r),
            _ => None,
        })
        .flat_map(|r| r.extensions.iter())
        .find(|e| e.oid.to_id_string() == "2.5.29.17")
        .map(|e| e.value.to_vec());
    let mut serial = [0u8; 16];
    rand::Rng::fill(&mut rand::rng(), &mut serial[..]);
    serial[0] &= 0x7f;
    let tbs = yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_tagged(Tag::context(0), |w| w.write_u8(2));
            w.next().write_bigint_bytes(&serial, true);
            write_algorithm(w.next(), algorithm);
            w.next().write_der(ca_cert.subject().as_raw());
            w.next().write_sequence(|w| {
                write_time(w.next(), validity.0);
                write_time(w.next(), validity.1);
            });
            w.next()
                .write_der(csr.certification_request_info.subject.as_raw());
            w.next()
                .write_der(csr.certification_request_info.subject_pki.raw);
            w.next().write_tagged(Tag::context(3), |w| {
                w.write_sequence(|w| {
                    if !key_usages.is_empty() {
                        let (bits, len) = key_usage_bits(&key_usages);
                        let value = yasna::construct_der(|w| w.write_bitvec_bytes(&bits, len));
                        write_extension(w.next(), &[2, 5, 29, 15], true, &value);
                    }
                    if !extended.is_empty() {
                        let value = yasna::construct_der(|w| {
                            w.write_sequence(|w| {
                                for oid in &extended {
                                    w.next().write_oid(&ObjectIdentifier::from_slice(oid));
                                }
                            })
                        });
                        write_extension(w.next(), &[2, 5, 29, 37], false, &value);
                    }
                    let no_ca = yasna::construct_der(|w| w.write_sequence(|_| {}));
                    write_extension(w.next(), &[2, 5, 29, 19], true, &no_ca);
                    if let Some(id) = &authority_key_id {
                        let value = yasna::construct_der(|w| {
                            w.write_sequence(|w| {
                                w.next()
                                    .write_tagged_implicit(Tag::context(0), |w| w.write_bytes(id))
                            })
                        });
                        write_extension(w.next(), &[2, 5, 29, 35], false, &value);
                    }
                    if let Some(names) = &names {
                        write_extension(w.next(), &[2, 5, 29, 17], false, names);
                    }
                })
            });
        })
    });
    let signature = rcgen::SigningKey::sign(&key, &tbs).map_err(|e| e.to_string())?;
    let der = yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_der(&tbs);
            write_algorithm(w.next(), algorithm);
            w.next().write_bitvec_bytes(&signature, signature.len() * 8);
        })
    });
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    Ok(pem)
}

/// The signature algorithm of the CA's key: its OID, and whether it carries NULL parameters.
fn signature_algorithm(key: &KeyPair) -> Result<(&'static [u64], bool), String> {
    let alg = key.algorithm();
    if alg == &rcgen::PKCS_ECDSA_P256_SHA256 {
        Ok((&[1, 2, 840, 10045, 4, 3, 2], false))
    } else if alg == &rcgen::PKCS_ECDSA_P384_SHA384 {
        Ok((&[1, 2, 840, 10045, 4, 3, 3], false))
    } else if alg == &rcgen::PKCS_ED25519 {
        Ok((&[1, 3, 101, 112], false))
    } else if alg == &rcgen::PKCS_RSA_SHA256 {
        Ok((&[1, 2, 840, 113549, 1, 1, 11], true))
    } else {
        Err("the CA's key algorithm cannot sign certificates here".into())
    }
}

fn write_algorithm(w: yasna::DERWriter<'_>, (oid, null): (&[u64], bool)) {
    w.write_sequence(|w| {
        w.next().write_oid(&ObjectIdentifier::from_slice(oid));
        if null {
            w.next().write_null();
        }
    });
}

/// UTCTime until 2049, GeneralizedTime after, as RFC 5280 (and Go) write validity.
fn write_time(w: yasna::DERWriter<'_>, unix: i64) {
    let dt = rcgen::date_time_ymd(1970, 1, 1) + Duration::from_secs(unix.max(0) as u64);
    match dt.year() < 2050 {
        true => w.write_utctime(&yasna::models::UTCTime::from_datetime(dt)),
        false => w.write_generalized_time(&yasna::models::GeneralizedTime::from_datetime(dt)),
    }
}

fn write_extension(w: yasna::DERWriter<'_>, oid: &[u64], critical: bool, value: &[u8]) {
    w.write_sequence(|w| {
        w.next().write_oid(&ObjectIdentifier::from_slice(oid));
        if critical {
            w.next().write_bool(true);
        }
        w.next().write_bytes(value);
    });
}

/// The keyUsage BIT STRING: bit 0 is digitalSignature; trailing zero bits are not written.
fn key_usage_bits(usages: &[KeyUsagePurpose]) -> (Vec<u8>, usize) {
    let mut bits: u16 = 0;
    for usage in usages {
        let bit = match usage {
            KeyUsagePurpose::DigitalSignature => 0,
            KeyUsagePurpose::ContentCommitment => 1,
            KeyUsagePurpose::KeyEncipherment => 2,
            KeyUsagePurpose::DataEncipherment => 3,
            KeyUsagePurpose::KeyAgreement => 4,
            KeyUsagePurpose::KeyCertSign => 5,
            KeyUsagePurpose::CrlSign => 6,
            KeyUsagePurpose::EncipherOnly => 7,
            KeyUsagePurpose::DecipherOnly => 8,
        };
        bits |= 1 << (15 - bit);
    }
    let len = 16 - bits.trailing_zeros() as usize;
    (bits.to_be_bytes()[..len.div_ceil(8)].to_vec(), len)
}

/// A certificate's end (Unix seconds).
pub fn ca_not_after(cert_pem: &str) -> Option<i64> {
    let (_, der) = first_pem_block(cert_pem.as_bytes())?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der).ok()?;
    Some(cert.validity().not_after.timestamp())
}

/// Go's default time format, UTC.
fn go_time(unix: i64) -> String {
    let dt = rcgen::date_time_ymd(1970, 1, 1) + Duration::from_secs(unix.max(0) as u64);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} +0000 UTC",
        dt.year(),
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, DistinguishedName, DnType};

    fn request_pem(cn: &str, orgs: &[&str]) -> String {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, cn);
        // rcgen keeps one value per type: a second O under its OID spelled as a custom type.
        let types = [
            DnType::OrganizationName,
            DnType::CustomDnType(vec![2, 5, 4, 10]),
        ];
        for (o, t) in orgs.iter().zip(types) {
            dn.push(t, *o);
        }
        params.distinguished_name = dn;
        params.serialize_request(&key).unwrap().pem().unwrap()
    }

    #[test]
    fn requests_parse_with_gos_words() {
        let pem = request_pem("bob", &["dev", "ops"]);
        let r = parse(pem.as_bytes()).unwrap();
        assert_eq!(r.common_name, "bob");
        assert_eq!(r.organizations, ["dev", "ops"]);
        assert_eq!(
            parse(b"garbage").unwrap_err(),
            "PEM block type must be CERTIFICATE REQUEST"
        );
        let cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert_eq!(
            parse(cert.as_bytes()).unwrap_err(),
            "PEM block type must be CERTIFICATE REQUEST"
        );
        // One bit of the signature flipped.
        let (_, mut der) = first_pem_block(pem.as_bytes()).unwrap();
        let last = der.len() - 1;
        der[last] ^= 1;
        let bad = format!(
            "-----BEGIN CERTIFICATE REQUEST-----\n{}\n-----END CERTIFICATE REQUEST-----\n",
            base64::engine::general_purpose::STANDARD.encode(&der)
        );
        assert_eq!(
            parse(bad.as_bytes()).unwrap_err(),
            "x509: ECDSA verification failure"
        );
        assert_eq!(go_bytes(b"ga"), "[]byte{0x67, 0x61}");
    }

    #[test]
    fn signed_certificates_carry_the_subject_usages_and_lifetime() {
        let dir = tempfile::tempdir().unwrap();
        let pki = crate::pki::Pki::ensure(dir.path(), &["localhost".to_string()]).unwrap();
        let r = parse(request_pem("bob", &["dev", "ops"]).as_bytes()).unwrap();
        let now = 1_800_000_000;
        let usages = ["client auth".to_string(), "digital signature".to_string()];
        let pem = sign(&pki.ca, &r, &usages, Duration::from_secs(3600), now).unwrap();
        let (_, der) = first_pem_block(pem.as_bytes()).unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
        assert_eq!(cert.validity().not_before.timestamp(), now - 300);
        assert_eq!(cert.validity().not_after.timestamp(), now + 3600);
        let client = rustls::pki_types::CertificateDer::from(der.clone());
        assert_eq!(
            crate::pki::client_identity(&client),
            Some((
                "bob".to_string(),
                vec!["dev".to_string(), "ops".to_string()]
            ))
        );
        let eku = cert.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.client_auth && !eku.server_auth);
        assert!(!cert.is_ca());
        // A long-lived one is backdated at both ends.
        let year = Duration::from_secs(365 * 86400);
        let pem = sign(&pki.ca, &r, &usages, year, now).unwrap();
        let (_, der) = first_pem_block(pem.as_bytes()).unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
        assert_eq!(
            cert.validity().not_after.timestamp(),
            now + 365 * 86400 - 300
        );
        assert_eq!(
            sign(&pki.ca, &r, &["bogus".to_string()], year, now).unwrap_err(),
            "unrecognized usage values: [\"bogus\"]"
        );
    }
}
