//! Simple signing signatures, as `skopeo copy --sign-by` and `podman push --sign-by` make
//! them: an OpenPGP signed message (usually compressed) whose literal data is the JSON claim
//! `{"critical":{"identity":{"docker-reference":…},"image":{"docker-manifest-digest":…},
//! "type":"atomic container signature"},"optional":{…}}`. The claim is read as containers/image
//! reads it: exactly these critical fields, nothing more, nothing less.

use std::io::Read;

use pgp::composed::{Message, SignedPublicKey, SignedPublicSubKey};
use pgp::types::{KeyDetails, VerifyingKey};
use serde_json::{Map, Value};

use crate::keyring::{Keyring, Signer, hex_upper, signer_of};
use crate::validity::{self, Unusable};

/// A signature larger than this is refused before it is parsed (real ones are under 1 KiB).
pub const MAX_SIGNATURE_BYTES: usize = 64 << 10;
/// The signed claim's largest size once decompressed (a compression bomb stops here).
pub const MAX_CLAIM_BYTES: usize = 64 << 10;
/// The claim type of simple signing.
pub const SIGNATURE_TYPE: &str = "atomic container signature";
/// Compressed packets nested deeper than this are refused.
const MAX_NESTING: usize = 4;

/// What a verified signature claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// `critical.identity.docker-reference`: the pull spec the image was signed as.
    pub docker_reference: String,
    /// `critical.image.docker-manifest-digest`.
    pub manifest_digest: String,
    /// `optional.creator`.
    pub creator: Option<String>,
    /// `optional.timestamp` (seconds since the epoch).
    pub timestamp: Option<i64>,
}

/// A signature that a key of the keyring made, and its claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub claim: Claim,
    pub signer: Signer,
    /// The OpenPGP signature's creation time (seconds since the epoch).
    pub signed_at: Option<i64>,
}

/// Why a signature is not accepted; the text is what a refusal says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    TooLarge,
    Malformed(String),
    NotSigned,
    UnknownSigner(Vec<String>),
    /// A trusted key made it, but was revoked or had expired (or the signature has).
    Unusable(Unusable),
    InvalidClaim(String),
}

impl std::fmt::Display for SignatureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignatureError::TooLarge => write!(
                f,
                "the signature is larger than {MAX_SIGNATURE_BYTES} bytes or its claim larger than {MAX_CLAIM_BYTES}"
            ),
            SignatureError::Malformed(e) => write!(f, "not an OpenPGP signed message: {e}"),
            SignatureError::NotSigned => write!(f, "the OpenPGP message is not signed"),
            SignatureError::UnknownSigner(ids) if ids.is_empty() => {
                write!(f, "the signature was not made by a trusted key")
            }
            SignatureError::UnknownSigner(ids) => write!(
                f,
                "the signature was made by key {}, which is not a trusted key",
                ids.join(", ")
            ),
            SignatureError::Unusable(why) => write!(f, "{why}"),
            SignatureError::InvalidClaim(e) => write!(f, "invalid signature claim: {e}"),
        }
    }
}

/// Verifies `blob` against the keys of `keyring` as of `now` (seconds since the epoch: keys
/// revoked or expired by then, or expired when they signed, do not count) and reads its
/// claim. Hostile input (huge, nested, truncated, a claim that is not JSON) ends in an
/// error, never a panic.
pub fn verify(blob: &[u8], keyring: &Keyring, now: i64) -> Result<Verified, SignatureError> {
    let (data, (signer, signed_at)) = signed_data(blob, keyring, now)?;
    let claim = parse_claim(&data)?;
    Ok(Verified {
        claim,
        signer,
        signed_at,
    })
}

/// Who signed, and when (seconds since the epoch).
pub type Signing = (Signer, Option<i64>);

/// The literal data of an OpenPGP signed message (binary or ASCII-armored, as `gpg --sign`
/// and `gpg --armor --sign` write it) verified against `keyring` as of `now`, and who signed
/// it; hostile input ends in an error, never a panic.
pub fn signed_data(
    blob: &[u8],
    keyring: &Keyring,
    now: i64,
) -> Result<(Vec<u8>, Signing), SignatureError> {
    if blob.len() > MAX_SIGNATURE_BYTES {
        return Err(SignatureError::TooLarge);
    }
    let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        verify_message(blob, keyring, now)
    }));
    checked.unwrap_or_else(|_| Err(SignatureError::Malformed("unreadable packets".into())))
}

/// The literal data of an OpenPGP signed message, not verified: what it claims to carry.
pub fn unverified_data(blob: &[u8]) -> Result<Vec<u8>, SignatureError> {
    if blob.len() > MAX_SIGNATURE_BYTES {
        return Err(SignatureError::TooLarge);
    }
    let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        open(blob).map(|(_, data)| data)
    }));
    checked.unwrap_or_else(|_| Err(SignatureError::Malformed("unreadable packets".into())))
}

/// Whether `blob` is ASCII-armored.
pub fn is_armored(blob: &[u8]) -> bool {
    blob.iter()
        .position(|b| !b.is_ascii_whitespace())
        .is_some_and(|i| blob[i..].starts_with(b"-----BEGIN PGP"))
}

/// The signed message of `blob` read to its end (its signature packets reached), and its
/// literal data.
fn open(blob: &[u8]) -> Result<(Message<'_>, Vec<u8>), SignatureError> {
    let malformed = |e: &dyn std::fmt::Display| SignatureError::Malformed(e.to_string());
    let mut message = if is_armored(blob) {
        Message::from_armor(blob).map(|(m, _)| m)
    } else {
        Message::from_bytes(blob)
    }
    .map_err(|e| malformed(&e))?;
    for _ in 0..MAX_NESTING {
        if !message.is_compressed() {
            break;
        }
        message = message.decompress().map_err(|e| malformed(&e))?;
    }
    if !message.is_signed() {
        return Err(SignatureError::NotSigned);
    }
    let mut data = Vec::new();
    (&mut message)
        .take(MAX_CLAIM_BYTES as u64 + 1)
        .read_to_end(&mut data)
        .map_err(|e| malformed(&e))?;
    if data.len() > MAX_CLAIM_BYTES {
        return Err(SignatureError::TooLarge);
    }
    // The signature packet follows the data: reading on to the end reaches it.
    let mut rest = [0u8; 1];
    if message.read(&mut rest).map_err(|e| malformed(&e))? != 0 {
        return Err(SignatureError::TooLarge);
    }
    Ok((message, data))
}

/// The literal data of the signed message and who signed it.
fn verify_message(
    blob: &[u8],
    keyring: &Keyring,
    now: i64,
) -> Result<(Vec<u8>, Signing), SignatureError> {
    let (message, data) = open(blob)?;
    let mut unusable = None;
    for key in keyring.keys() {
        for (verifying, fingerprint, key_id, subkey) in signing_keys(key) {
            let Ok(signature) = message.verify(verifying) else {
                continue;
            };
            if let Err(why) = validity::check(key, subkey, signature, now) {
                unusable.get_or_insert(why);
                continue;
            }
            let signed_at = signature.created().map(|t| i64::from(t.as_secs()));
            return Ok((data, (signer_of(key, &fingerprint, &key_id), signed_at)));
        }
    }
    if let Some(why) = unusable {
        return Err(SignatureError::Unusable(why));
    }
    let issuers = match &message {
        Message::Signed { reader, .. } => reader
            .signature(0)
            .map(|s| {
                let mut ids: Vec<String> = s
                    .issuer_fingerprint()
                    .iter()
                    .map(|f| hex_upper(f.as_bytes()))
                    .collect();
                if ids.is_empty() {
                    ids = s
                        .issuer_key_id()
                        .iter()
                        .map(|k| hex_upper(k.as_ref()))
                        .collect();
                }
                ids
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    Err(SignatureError::UnknownSigner(issuers))
}

/// A key that may have made a signature: its fingerprint, key ID, and the subkey it is.
type SigningKey<'a> = (
    &'a dyn VerifyingKey,
    Vec<u8>,
    Vec<u8>,
    Option<&'a SignedPublicSubKey>,
);

/// The primary key and every subkey bound to it by a valid binding signature, with their
/// fingerprints and key IDs.
fn signing_keys(key: &SignedPublicKey) -> Vec<SigningKey<'_>> {
    let mut out: Vec<SigningKey<'_>> = vec![(
        key,
        key.primary_key.fingerprint().as_bytes().to_vec(),
        key.primary_key.legacy_key_id().as_ref().to_vec(),
        None,
    )];
    for sub in &key.public_subkeys {
        if sub.verify_bindings(&key.primary_key).is_ok() {
            out.push((
                sub,
                sub.key.fingerprint().as_bytes().to_vec(),
                sub.key.legacy_key_id().as_ref().to_vec(),
                Some(sub),
            ));
        }
    }
    out
}

/// An object with exactly `fields` (containers/image's paranoid reading).
fn exact<'a>(
    v: &'a Value,
    what: &str,
    fields: &[&str],
) -> Result<&'a Map<String, Value>, SignatureError> {
    let map = v
        .as_object()
        .ok_or_else(|| SignatureError::InvalidClaim(format!("{what} is not a JSON object")))?;
    for field in fields {
        if !map.contains_key(*field) {
            return Err(SignatureError::InvalidClaim(format!(
                "{what} has no field \"{field}\""
            )));
        }
    }
    if let Some(extra) = map.keys().find(|k| !fields.contains(&k.as_str())) {
        return Err(SignatureError::InvalidClaim(format!(
            "{what} has an unknown field \"{extra}\""
        )));
    }
    Ok(map)
}

fn string<'a>(v: &'a Value, what: &str) -> Result<&'a str, SignatureError> {
    v.as_str()
        .ok_or_else(|| SignatureError::InvalidClaim(format!("{what} is not a string")))
}

/// Reads the claim: `critical` and `optional`, the critical fields exact, the type simple
/// signing's, the digest a digest.
pub fn parse_claim(data: &[u8]) -> Result<Claim, SignatureError> {
    let doc: Value = serde_json::from_slice(data)
        .map_err(|e| SignatureError::InvalidClaim(format!("not JSON: {e}")))?;
    let top = exact(&doc, "the claim", &["critical", "optional"])?;
    let critical = exact(&top["critical"], "critical", &["type", "image", "identity"])?;
    let kind = string(&critical["type"], "critical.type")?;
    if kind != SIGNATURE_TYPE {
        return Err(SignatureError::InvalidClaim(format!(
            "unrecognized signature type {kind:?}"
        )));
    }
    let image = exact(
        &critical["image"],
        "critical.image",
        &["docker-manifest-digest"],
    )?;
    let digest = string(
        &image["docker-manifest-digest"],
        "critical.image.docker-manifest-digest",
    )?;
    if !images::digest::is_digest(digest) {
        return Err(SignatureError::InvalidClaim(format!(
            "{digest:?} is not a manifest digest"
        )));
    }
    let identity = exact(
        &critical["identity"],
        "critical.identity",
        &["docker-reference"],
    )?;
    let reference = string(
        &identity["docker-reference"],
        "critical.identity.docker-reference",
    )?;
    let optional = top["optional"]
        .as_object()
        .ok_or_else(|| SignatureError::InvalidClaim("optional is not a JSON object".into()))?;
    let creator = match optional.get("creator") {
        None => None,
        Some(v) => Some(string(v, "optional.creator")?.to_string()),
    };
    let timestamp = match optional.get("timestamp") {
        None => None,
        Some(v) => Some(v.as_i64().ok_or_else(|| {
            SignatureError::InvalidClaim("optional.timestamp is not an integer".into())
        })?),
    };
    Ok(Claim {
        docker_reference: reference.to_string(),
        manifest_digest: digest.to_string(),
        creator,
        timestamp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:f20c43161d73848408ef247f0ec7111b19fe58ffebc0cbcaa0d2c8bda4967268";
    /// 2026-12-01: the test keys were made earlier and, unless they say otherwise, never expire.
    const NOW: i64 = 1_796_083_200;

    fn signer() -> Keyring {
        Keyring::parse(include_bytes!("testdata/signer.gpg")).unwrap()
    }

    #[test]
    fn a_skopeo_signature_verifies_with_rsa_and_ed25519_keys() {
        let v = verify(include_bytes!("testdata/rsa.sig"), &signer(), NOW).unwrap();
        assert_eq!(v.claim.docker_reference, "registry.example.com/team/app:v1");
        assert_eq!(v.claim.manifest_digest, DIGEST);
        assert_eq!(v.claim.creator.as_deref(), Some("atomic 5.23.1"));
        assert_eq!(v.claim.timestamp, Some(1796531307));
        assert_eq!(
            v.signer.fingerprint,
            "A2DAC07C2BAB36D2C46229654B3F6E254AD20037"
        );
        assert_eq!(v.signer.user_id, "Trust Test <signer@example.com>");
        let ed = Keyring::parse(include_bytes!("testdata/ed.asc")).unwrap();
        let v = verify(include_bytes!("testdata/ed25519.sig"), &ed, NOW).unwrap();
        assert_eq!(
            v.signer.fingerprint,
            "7C6DDE87B11DCB7BDAE0A019B3E896C96B3DBA8C"
        );
    }

    #[test]
    fn another_key_is_refused_and_named() {
        let err = verify(include_bytes!("testdata/other.sig"), &signer(), NOW).unwrap_err();
        assert_eq!(
            err,
            SignatureError::UnknownSigner(vec!["74E3F97D53A461E592267F34454EF2AF82496B40".into()])
        );
        let mut both = signer();
        both.extend(Keyring::parse(include_bytes!("testdata/other.gpg")).unwrap());
        assert!(verify(include_bytes!("testdata/other.sig"), &both, NOW).is_ok());
    }

    #[test]
    fn claims_are_read_paranoidly() {
        let err = verify(
            include_bytes!("testdata/extra-critical.sig"),
            &signer(),
            NOW,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid signature claim: critical has an unknown field \"surprise\""
        );
        let err = verify(include_bytes!("testdata/not-json.sig"), &signer(), NOW).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid signature claim: not JSON"),
            "{err}"
        );
        let claim = |c: &str| parse_claim(c.as_bytes()).map_err(|e| e.to_string());
        assert!(claim(r#"{"critical":{"type":"x","image":{"docker-manifest-digest":"sha256:00"},"identity":{"docker-reference":"a"}},"optional":{}}"#).unwrap_err().contains("unrecognized signature type"));
        assert!(claim(r#"{"critical":{"type":"atomic container signature","image":{"docker-manifest-digest":"nope"},"identity":{"docker-reference":"a"}},"optional":{}}"#).unwrap_err().contains("is not a manifest digest"));
        assert!(
            claim(r#"{"critical":{}}"#)
                .unwrap_err()
                .contains("no field \"optional\"")
        );
    }

    #[test]
    fn hostile_bytes_end_in_errors() {
        let good = include_bytes!("testdata/rsa.sig");
        for cut in [0, 1, 10, good.len() / 2, good.len() - 1] {
            assert!(
                verify(&good[..cut], &signer(), NOW).is_err(),
                "cut at {cut}"
            );
        }
        let mut flipped = good.to_vec();
        let last = flipped.len() - 5;
        flipped[last] ^= 0xff;
        assert!(verify(&flipped, &signer(), NOW).is_err());
        assert_eq!(
            verify(&vec![0xa3; MAX_SIGNATURE_BYTES + 1], &signer(), NOW),
            Err(SignatureError::TooLarge)
        );
        for junk in [&b"hello world"[..], &[0xff; 64], &[0x90, 0x0d]] {
            assert!(verify(junk, &signer(), NOW).is_err());
        }
    }

    fn keyring(bytes: &[u8]) -> Keyring {
        Keyring::parse(bytes).unwrap()
    }

    /// 2024-07-01 and 2025-06-01: before and after the expiring keys' end (2024-12-31).
    const BEFORE: i64 = 1_719_878_400;
    const AFTER: i64 = 1_748_736_000;

    #[test]
    fn an_expired_key_no_longer_vouches() {
        let keys = keyring(include_bytes!("testdata/expiring.gpg"));
        let sig = include_bytes!("testdata/expiring.sig");
        let v = verify(sig, &keys, BEFORE).unwrap();
        assert_eq!(v.claim.manifest_digest, DIGEST);
        let err = verify(sig, &keys, AFTER).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the signature was made by key 4D72E31124CAECEA7F0EC4BC34A1B2BA56ACF7A7, which expired on 2024-12-31T00:00:00Z"
        );
    }

    #[test]
    fn an_expired_signing_subkey_no_longer_vouches() {
        let keys = keyring(include_bytes!("testdata/subkey.gpg"));
        let sig = include_bytes!("testdata/subkey.sig");
        let v = verify(sig, &keys, BEFORE).unwrap();
        assert_eq!(v.signer.user_id, "Subkey <subkey@example.com>");
        let err = verify(sig, &keys, AFTER).unwrap_err().to_string();
        assert!(
            err.ends_with("which expired on 2024-12-31T00:00:00Z")
                && !err.contains("EA4A303C31F2DB7951E5862772D35D2E1122A2B0"),
            "the subkey, not the primary key, is named: {err}"
        );
    }

    #[test]
    fn a_revoked_key_no_longer_vouches() {
        let keys = keyring(include_bytes!("testdata/revoked.gpg"));
        let err = verify(include_bytes!("testdata/revoked.sig"), &keys, BEFORE).unwrap_err();
        assert!(
            matches!(err, SignatureError::Unusable(Unusable::Revoked { .. })),
            "{err:?}"
        );
        assert!(
            err.to_string().starts_with(
                "the signature was made by key 6900053B7CA7F2CDF8C80FBD82965404FC9CD5D1, which was revoked"
            ),
            "{err}"
        );
    }

    #[test]
    fn a_signature_made_after_the_keys_expiry_is_refused_as_such() {
        assert_eq!(
            Unusable::SignedAfterExpiry {
                key: "AB".into(),
                at: 1_735_603_200,
                signed: 1_748_736_000
            }
            .to_string(),
            "the signature was made on 2025-06-01T00:00:00Z by key AB, after the key expired on 2024-12-31T00:00:00Z"
        );
    }
}
