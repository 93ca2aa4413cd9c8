//! Signing a payload with a PKIX private key in PEM, as `openssl dgst -sign` does: SEC1
//! (`EC PRIVATE KEY`, what `openssl ecparam -genkey` writes), PKCS#8 (`PRIVATE KEY`) or PKCS#1
//! (`RSA PRIVATE KEY`); ECDSA signatures in ASN.1 DER.

use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, RsaKeyPair};

/// The signature of `payload` by the key in `pem` under `algorithm` (one of
/// [`super::keys::ALGORITHMS`]).
pub fn pkix_sign(pem: &[u8], algorithm: &str, payload: &[u8]) -> Result<Vec<u8>, String> {
    let (_, block) =
        x509_parser::pem::parse_x509_pem(pem).map_err(|e| format!("not a PEM private key: {e}"))?;
    let der = block.contents.as_slice();
    let rng = SystemRandom::new();
    let ecdsa = match algorithm {
        "ECDSA_P256_SHA256" => Some(&signature::ECDSA_P256_SHA256_ASN1_SIGNING),
        "ECDSA_P384_SHA384" => Some(&signature::ECDSA_P384_SHA384_ASN1_SIGNING),
        _ => None,
    };
    if let Some(alg) = ecdsa {
        let pair = match block.label.as_str() {
            "EC PRIVATE KEY" => {
                let (private, public) = sec1(der).ok_or("not a SEC1 EC private key")?;
                EcdsaKeyPair::from_private_key_and_public_key(alg, private, public, &rng)
            }
            _ => EcdsaKeyPair::from_pkcs8(alg, der, &rng),
        }
        .map_err(|e| format!("the key is not a key of {algorithm}: {e}"))?;
        return pair
            .sign(&rng, payload)
            .map(|s| s.as_ref().to_vec())
            .map_err(|e| format!("signing failed: {e}"));
    }
    let padding: &'static dyn signature::RsaEncoding = match algorithm {
        "RSA_PSS_4096_SHA512" => &signature::RSA_PSS_SHA512,
        "RSA_SIGN_PKCS1_4096_SHA512" => &signature::RSA_PKCS1_SHA512,
        a if a.starts_with("RSA_PSS") => &signature::RSA_PSS_SHA256,
        a if a.starts_with("RSA_SIGN_PKCS1") => &signature::RSA_PKCS1_SHA256,
        a => return Err(format!("unknown signature algorithm {a:?}")),
    };
    let pair = match block.label.as_str() {
        "RSA PRIVATE KEY" => RsaKeyPair::from_der(der),
        _ => RsaKeyPair::from_pkcs8(der),
    }
    .map_err(|e| format!("the key is not a key of {algorithm}: {e}"))?;
    let mut out = vec![0u8; pair.public().modulus_len()];
    pair.sign(padding, &rng, payload, &mut out)
        .map_err(|e| format!("signing failed: {e}"))?;
    Ok(out)
}

/// The private scalar and the public point of a SEC1 `ECPrivateKey`
/// (`SEQUENCE { version, OCTET STRING, [0] curve, [1] BIT STRING }`).
fn sec1(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (tag, body, _) = tlv(der)?;
    if tag != 0x30 {
        return None;
    }
    let (_, _, rest) = tlv(body)?;
    let (tag, private, mut rest) = tlv(rest)?;
    if tag != 0x04 {
        return None;
    }
    while !rest.is_empty() {
        let (tag, inner, next) = tlv(rest)?;
        if tag == 0xa1 {
            let (tag, bits, _) = tlv(inner)?;
            // A BIT STRING's first byte counts its unused bits (0 here).
            return (tag == 0x03).then(|| (private, bits.get(1..).unwrap_or_default()));
        }
        rest = next;
    }
    None
}

/// One DER tag, its contents and what follows.
fn tlv(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *der.first()?;
    let first = *der.get(1)?;
    let (len, start) = match first {
        n if n < 0x80 => (usize::from(n), 2usize),
        0x81 => (usize::from(*der.get(2)?), 3),
        0x82 => (
            (usize::from(*der.get(2)?) << 8) | usize::from(*der.get(3)?),
            4,
        ),
        _ => return None,
    };
    let end = len.checked_add(start)?;
    Some((tag, der.get(start..end)?, der.get(end..)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attestation::keys::parse_pkix;

    #[test]
    fn a_sec1_key_signs_what_its_public_key_verifies() {
        let payload = include_bytes!("testdata/payload.json");
        let signature = pkix_sign(
            include_bytes!("testdata/ec-p256.key"),
            "ECDSA_P256_SHA256",
            payload,
        )
        .unwrap();
        let key = parse_pkix(include_bytes!("testdata/ec-p256.pub"), "ECDSA_P256_SHA256").unwrap();
        assert_eq!(key.verify(payload, &signature), Ok(()));
        assert!(
            pkix_sign(
                include_bytes!("testdata/ec-p256.key"),
                "ECDSA_P384_SHA384",
                payload
            )
            .is_err()
        );
        assert!(pkix_sign(b"nope", "ECDSA_P256_SHA256", payload).is_err());
        assert!(sec1(&[0x30, 0x85]).is_none());
    }
}
