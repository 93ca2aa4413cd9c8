//! An attestor's public keys and the signatures they verify: OpenPGP keys (a detached
//! signature over the payload, or a signed message carrying the payload as GKE's PGP
//! attestations are, `gpg --armor --sign`; binary or armored) and PKIX keys (a PEM
//! `SubjectPublicKeyInfo`, ECDSA P-256/P-384/P-521 or RSA, the signature as `openssl dgst
//! -sign` writes it: ASN.1 DER for ECDSA). P-521 is verified with RustCrypto's `p521`, the
//! others with `ring`.

use std::io::Cursor;

use pgp::composed::{Deserializable, DetachedSignature};
use ring::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::keyring::Keyring;
use crate::simple_signing::{SignatureError, is_armored, signed_data};

/// The PKIX signature algorithms an attestor's key may name (Binary Authorization's).
pub const ALGORITHMS: &[&str] = &[
    "ECDSA_P256_SHA256",
    "ECDSA_P384_SHA384",
    "ECDSA_P521_SHA512",
    "RSA_PSS_2048_SHA256",
    "RSA_PSS_3072_SHA256",
    "RSA_PSS_4096_SHA256",
    "RSA_PSS_4096_SHA512",
    "RSA_SIGN_PKCS1_2048_SHA256",
    "RSA_SIGN_PKCS1_3072_SHA256",
    "RSA_SIGN_PKCS1_4096_SHA256",
    "RSA_SIGN_PKCS1_4096_SHA512",
];
/// A signature larger than this is refused before it is parsed.
pub const MAX_SIGNATURE_BYTES: usize = 16 << 10;

const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const P256: &str = "1.2.840.10045.3.1.7";
const P384: &str = "1.3.132.0.34";
const P521: &str = "1.3.132.0.35";

/// One key of an attestor, ready to verify.
#[derive(Debug, Clone)]
pub enum PublicKey {
    Pgp(Keyring),
    Pkix {
        algorithm: &'static str,
        /// The `subjectPublicKey` bits: an EC point or a DER `RSAPublicKey`.
        key: Vec<u8>,
    },
}

/// An ASCII-armored (or binary) OpenPGP public key, and its ID: the primary key's
/// fingerprint in upper-case hex, as Binary Authorization names PGP keys.
pub fn parse_pgp(data: &[u8]) -> Result<(PublicKey, String), String> {
    let keyring = Keyring::parse(data)?;
    let id = keyring
        .fingerprints()
        .into_iter()
        .next()
        .unwrap_or_default();
    Ok((PublicKey::Pgp(keyring), id))
}

/// A PEM public key (`-----BEGIN PUBLIC KEY-----`) for `algorithm`; the key's type and curve
/// must be the algorithm's.
pub fn parse_pkix(pem: &[u8], algorithm: &str) -> Result<PublicKey, String> {
    let algorithm = ALGORITHMS
        .iter()
        .find(|a| **a == algorithm)
        .ok_or_else(|| format!("unknown signature algorithm {algorithm:?}"))?;
    let (_, block) =
        x509_parser::pem::parse_x509_pem(pem).map_err(|e| format!("not a PEM public key: {e}"))?;
    if block.label != "PUBLIC KEY" {
        return Err(format!(
            "the PEM block is a {:?}, not a \"PUBLIC KEY\"",
            block.label
        ));
    }
    let (_, spki) = SubjectPublicKeyInfo::from_der(&block.contents)
        .map_err(|e| format!("not a SubjectPublicKeyInfo: {e}"))?;
    let kind = spki.algorithm.algorithm.to_id_string();
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|o| o.to_id_string());
    let wanted = match *algorithm {
        "ECDSA_P256_SHA256" => (EC_PUBLIC_KEY, Some(P256)),
        "ECDSA_P384_SHA384" => (EC_PUBLIC_KEY, Some(P384)),
        "ECDSA_P521_SHA512" => (EC_PUBLIC_KEY, Some(P521)),
        _ => (RSA_ENCRYPTION, None),
    };
    if kind != wanted.0 || (wanted.1.is_some() && curve.as_deref() != wanted.1) {
        return Err(format!("the key is not a key of {algorithm}"));
    }
    Ok(PublicKey::Pkix {
        algorithm,
        key: spki.subject_public_key.data.to_vec(),
    })
}

impl PublicKey {
    /// Verifies `signature` over `payload`; the error says why it does not verify.
    pub fn verify(&self, payload: &[u8], signature: &[u8]) -> Result<(), String> {
        if signature.len() > MAX_SIGNATURE_BYTES {
            return Err(format!(
                "the signature is larger than {MAX_SIGNATURE_BYTES} bytes"
            ));
        }
        match self {
            PublicKey::Pgp(keyring) => {
                let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    verify_pgp(keyring, payload, signature)
                }));
                checked.unwrap_or_else(|_| Err("unreadable OpenPGP signature packets".into()))
            }
            PublicKey::Pkix { algorithm, key } => {
                let verified = match *algorithm {
                    "ECDSA_P521_SHA512" => verify_p521(key, payload, signature),
                    _ => UnparsedPublicKey::new(ring_algorithm(algorithm), key)
                        .verify(payload, signature)
                        .is_ok(),
                };
                verified.then_some(()).ok_or_else(|| {
                    format!("the signature does not verify with the {algorithm} key")
                })
            }
        }
    }
}

/// An ECDSA P-521 signature (DER) over `payload` hashed with SHA-512, by the SEC1 point `key`.
fn verify_p521(key: &[u8], payload: &[u8], signature: &[u8]) -> bool {
    use p521::ecdsa::signature::Verifier;
    let (Ok(key), Ok(signature)) = (
        p521::ecdsa::VerifyingKey::from_sec1_bytes(key),
        p521::ecdsa::Signature::from_der(signature),
    ) else {
        return false;
    };
    key.verify(payload, &signature).is_ok()
}

fn verify_pgp(keyring: &Keyring, payload: &[u8], signature: &[u8]) -> Result<(), String> {
    let armored = is_armored(signature);
    if is_message(signature, armored) {
        return verify_pgp_message(keyring, payload, signature);
    }
    let detached = if armored {
        DetachedSignature::from_armor_single(Cursor::new(signature)).map(|(s, _)| s)
    } else {
        DetachedSignature::from_bytes(Cursor::new(signature))
    }
    .map_err(|e| format!("not an OpenPGP signature: {e}"))?;
    for key in keyring.keys() {
        if detached.verify(key, payload).is_ok() {
            return Ok(());
        }
        for sub in &key.public_subkeys {
            if sub.verify_bindings(&key.primary_key).is_ok()
                && detached.verify(sub, payload).is_ok()
            {
                return Ok(());
            }
        }
    }
    Err("the OpenPGP signature does not verify with the attestor's key".into())
}

/// Whether an OpenPGP signature is a signed message (`gpg --sign`) rather than a detached
/// signature (`gpg --detach-sign`): by its armor's header, or by its first packet's tag
/// (a detached signature starts with a signature packet, tag 2).
pub fn is_message(signature: &[u8], armored: bool) -> bool {
    if armored {
        let text = String::from_utf8_lossy(&signature[..signature.len().min(128)]);
        return text.trim_start().starts_with("-----BEGIN PGP MESSAGE-----");
    }
    match signature.first() {
        Some(b) if b & 0x40 != 0 => b & 0x3f != 2,
        Some(b) => (b >> 2) & 0x0f != 2,
        None => false,
    }
}

/// A signed message whose literal data must be `payload` (when the attestation gives a
/// payload, or was read from this message).
fn verify_pgp_message(keyring: &Keyring, payload: &[u8], message: &[u8]) -> Result<(), String> {
    let now = jiff::Timestamp::now().as_second();
    let (data, _) = signed_data(message, keyring, now).map_err(|e| match e {
        SignatureError::UnknownSigner(_) => {
            "the OpenPGP message was not signed with the attestor's key".to_string()
        }
        e => e.to_string(),
    })?;
    if data != payload {
        return Err("the OpenPGP message carries another payload than the attestation's".into());
    }
    Ok(())
}

fn ring_algorithm(name: &str) -> &'static dyn VerificationAlgorithm {
    match name {
        "ECDSA_P256_SHA256" => &signature::ECDSA_P256_SHA256_ASN1,
        "ECDSA_P384_SHA384" => &signature::ECDSA_P384_SHA384_ASN1,
        "RSA_PSS_4096_SHA512" => &signature::RSA_PSS_2048_8192_SHA512,
        "RSA_SIGN_PKCS1_4096_SHA512" => &signature::RSA_PKCS1_2048_8192_SHA512,
        n if n.starts_with("RSA_PSS") => &signature::RSA_PSS_2048_8192_SHA256,
        _ => &signature::RSA_PKCS1_2048_8192_SHA256,
    }
}

#[cfg(test)]
mod tests;
