//! Signing a payload with a PKIX private key in PEM, as `openssl dgst -sign` does: SEC1
//! (`EC PRIVATE KEY`, what `openssl ecparam -genkey` writes), PKCS#8 (`PRIVATE KEY`) or PKCS#1
//! (`RSA PRIVATE KEY`); ECDSA signatures in ASN.1 DER. P-521 is signed with RustCrypto's
//! `p521` (ring has no P-521), deterministically (RFC 6979), the others with `ring`.

use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, RsaKeyPair};

/// The signature of `payload` by the key in `pem` under `algorithm` (one of
/// [`super::keys::ALGORITHMS`]).
pub fn pkix_sign(pem: &[u8], algorithm: &str, payload: &[u8]) -> Result<Vec<u8>, String> {
    let (_, block) =
        x509_parser::pem::parse_x509_pem(pem).map_err(|e| format!("not a PEM private key: {e}"))?;
    let der = block.contents.as_slice();
    if algorithm == "ECDSA_P521_SHA512" {
        return sign_p521(&block.label, der, payload);
    }
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

/// Bytes of a P-521 private scalar in SEC1 (the field's size, 521 bits rounded up).
const P521_SCALAR_BYTES: usize = 66;

/// A P-521 signature of `payload` (SHA-512) in ASN.1 DER by the SEC1 or PKCS#8 key `der`.
fn sign_p521(label: &str, der: &[u8], payload: &[u8]) -> Result<Vec<u8>, String> {
    use p521::ecdsa::signature::Signer;
    let not_p521 = || "the key is not a key of ECDSA_P521_SHA512".to_string();
    let sec1_der = match label {
        "EC PRIVATE KEY" => der,
        _ => pkcs8_private_key(der).ok_or_else(not_p521)?,
    };
    let (private, _) = sec1(sec1_der).ok_or_else(not_p521)?;
    // A key of a smaller curve would be taken as a small P-521 scalar: its size tells.
    if private.len() != P521_SCALAR_BYTES {
        return Err(not_p521());
    }
    let key = p521::ecdsa::SigningKey::from_slice(private).map_err(|_| not_p521())?;
    let signature: p521::ecdsa::Signature = key.sign(payload);
    Ok(signature.to_der().as_bytes().to_vec())
}

/// The `privateKey` of a PKCS#8 `PrivateKeyInfo` (`SEQUENCE { version, algorithm, OCTET
/// STRING }`): for EC keys, a SEC1 `ECPrivateKey`.
fn pkcs8_private_key(der: &[u8]) -> Option<&[u8]> {
    let (tag, body, _) = tlv(der)?;
    if tag != 0x30 {
        return None;
    }
    let (_, _, rest) = tlv(body)?;
    let (_, _, rest) = tlv(rest)?;
    let (tag, private, _) = tlv(rest)?;
    (tag == 0x04).then_some(private)
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

    /// Signs with `key` under `algorithm` and verifies with `public`.
    fn signs_and_verifies(key: &[u8], public: &[u8], algorithm: &str) {
        let payload = include_bytes!("testdata/payload.json");
        let signature =
            pkix_sign(key, algorithm, payload).unwrap_or_else(|e| panic!("{algorithm}: {e}"));
        let public = parse_pkix(public, algorithm).unwrap();
        assert_eq!(public.verify(payload, &signature), Ok(()), "{algorithm}");
        assert!(public.verify(b"other", &signature).is_err(), "{algorithm}");
    }

    #[test]
    fn p384_and_p521_keys_sign_in_sec1_and_pkcs8() {
        let p384 = include_bytes!("testdata/ec-p384.pub");
        let p521 = include_bytes!("testdata/ec-p521.pub");
        signs_and_verifies(
            include_bytes!("testdata/ec-p384.key"),
            p384,
            "ECDSA_P384_SHA384",
        );
        signs_and_verifies(
            include_bytes!("testdata/ec-p384.pk8"),
            p384,
            "ECDSA_P384_SHA384",
        );
        signs_and_verifies(
            include_bytes!("testdata/ec-p521.key"),
            p521,
            "ECDSA_P521_SHA512",
        );
        signs_and_verifies(
            include_bytes!("testdata/ec-p521.pk8"),
            p521,
            "ECDSA_P521_SHA512",
        );
    }

    #[test]
    fn a_key_of_another_curve_does_not_sign_for_p521() {
        let payload = b"{}";
        for key in [
            &include_bytes!("testdata/ec-p256.key")[..],
            include_bytes!("testdata/ec-p384.key"),
            include_bytes!("testdata/ec-p384.pk8"),
        ] {
            assert_eq!(
                pkix_sign(key, "ECDSA_P521_SHA512", payload).unwrap_err(),
                "the key is not a key of ECDSA_P521_SHA512"
            );
        }
        assert!(
            pkix_sign(
                include_bytes!("testdata/ec-p521.key"),
                "ECDSA_P384_SHA384",
                payload
            )
            .is_err()
        );
        assert!(pkcs8_private_key(&[0x30, 0x00]).is_none());
    }
}
