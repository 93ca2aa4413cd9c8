//! Whether a key may still vouch for a signature, as GnuPG judges it when containers/image
//! verifies through it: a key (or signing subkey) that is revoked, that has expired, or that
//! had expired when the signature was made does not, nor does a signature past its own
//! expiry. Expiry comes from the newest self-signature (a key renewed later counts as
//! renewed); only revocations the key itself signed count.

use pgp::composed::{SignedPublicKey, SignedPublicSubKey};
use pgp::packet::{Signature, SignatureType};
use pgp::types::{KeyDetails, Tag};

use crate::keyring::hex_upper;

/// Why a key that verified a signature does not make it trusted; the text is the refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    Revoked { key: String, reason: Option<String> },
    Expired { key: String, at: i64 },
    SignedAfterExpiry { key: String, at: i64, signed: i64 },
    SignatureExpired { at: i64 },
}

/// Seconds since the epoch as RFC 3339 (UTC).
pub(crate) fn rfc3339(secs: i64) -> String {
    jiff::Timestamp::from_second(secs).map_or_else(|_| secs.to_string(), |t| t.to_string())
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unusable::Revoked { key, reason: None } => {
                write!(f, "the signature was made by key {key}, which was revoked")
            }
            Unusable::Revoked {
                key,
                reason: Some(r),
            } => write!(
                f,
                "the signature was made by key {key}, which was revoked: {r}"
            ),
            Unusable::Expired { key, at } => write!(
                f,
                "the signature was made by key {key}, which expired on {}",
                rfc3339(*at)
            ),
            Unusable::SignedAfterExpiry { key, at, signed } => write!(
                f,
                "the signature was made on {} by key {key}, after the key expired on {}",
                rfc3339(*signed),
                rfc3339(*at)
            ),
            Unusable::SignatureExpired { at } => {
                write!(f, "the signature expired on {}", rfc3339(*at))
            }
        }
    }
}

/// Judges `signature`, verified by `key` (through `subkey` when a subkey made it), at `now`
/// (seconds since the epoch).
pub fn check(
    key: &SignedPublicKey,
    subkey: Option<&SignedPublicSubKey>,
    signature: &Signature,
    now: i64,
) -> Result<(), Unusable> {
    let signed = signature.created().map(|t| i64::from(t.as_secs()));
    if let (Some(signed), Some(life)) = (signed, signature.signature_expiration_time())
        && life.as_secs() != 0
    {
        let at = signed + i64::from(life.as_secs());
        if now >= at {
            return Err(Unusable::SignatureExpired { at });
        }
    }
    let primary = hex_upper(key.primary_key.fingerprint().as_bytes());
    if let Some(reason) = primary_revocation(key) {
        return Err(Unusable::Revoked {
            key: primary,
            reason,
        });
    }
    let created = i64::from(key.primary_key.created_at().as_secs());
    if let Some(at) = newest(primary_self_signatures(key)).and_then(|s| expiry(s, created)) {
        expired(primary, at, signed, now)?;
    }
    if let Some(sub) = subkey {
        let name = hex_upper(sub.key.fingerprint().as_bytes());
        if let Some(reason) = subkey_revocation(key, sub) {
            return Err(Unusable::Revoked { key: name, reason });
        }
        let created = i64::from(sub.key.created_at().as_secs());
        let bindings = sub
            .signatures
            .iter()
            .filter(|s| s.typ() == Some(SignatureType::SubkeyBinding));
        if let Some(at) = newest(bindings).and_then(|s| expiry(s, created)) {
            expired(name, at, signed, now)?;
        }
    }
    Ok(())
}

/// When `key` and its subkeys expire (those that do).
pub fn expiries(key: &SignedPublicKey) -> Vec<i64> {
    let created = i64::from(key.primary_key.created_at().as_secs());
    let primary = newest(primary_self_signatures(key)).and_then(|s| expiry(s, created));
    let subkeys = key.public_subkeys.iter().filter_map(|sub| {
        let created = i64::from(sub.key.created_at().as_secs());
        let bindings = sub
            .signatures
            .iter()
            .filter(|s| s.typ() == Some(SignatureType::SubkeyBinding));
        newest(bindings).and_then(|s| expiry(s, created))
    });
    primary.into_iter().chain(subkeys).collect()
}

fn expired(key: String, at: i64, signed: Option<i64>, now: i64) -> Result<(), Unusable> {
    match signed {
        Some(signed) if signed >= at => Err(Unusable::SignedAfterExpiry { key, at, signed }),
        _ if now >= at => Err(Unusable::Expired { key, at }),
        _ => Ok(()),
    }
}

/// When a key created at `created` expires by `signature` (a zero or absent lifetime: never).
fn expiry(signature: &Signature, created: i64) -> Option<i64> {
    let life = signature.key_expiration_time()?.as_secs();
    (life != 0).then(|| created + i64::from(life))
}

fn newest<'a>(signatures: impl Iterator<Item = &'a Signature>) -> Option<&'a Signature> {
    signatures.max_by_key(|s| s.created().map(|t| t.as_secs()))
}

/// The primary key's own certifications of its user IDs and its direct-key signatures that
/// verify.
fn primary_self_signatures(key: &SignedPublicKey) -> impl Iterator<Item = &Signature> {
    let primary = &key.primary_key;
    let certifications = key.details.users.iter().flat_map(move |u| {
        u.signatures
            .iter()
            .filter(move |s| s.verify_certification(primary, Tag::UserId, &u.id).is_ok())
    });
    let direct = key
        .details
        .direct_signatures
        .iter()
        .filter(move |s| s.verify_key(primary).is_ok());
    certifications.chain(direct)
}

fn reason_of(signature: &Signature) -> Option<String> {
    signature
        .revocation_reason_string()
        .map(|r| String::from_utf8_lossy(r).trim().to_string())
        .filter(|r| !r.is_empty())
}

/// A revocation of the primary key that the key signed: its reason, if it gives one.
fn primary_revocation(key: &SignedPublicKey) -> Option<Option<String>> {
    key.details
        .revocation_signatures
        .iter()
        .find(|s| s.verify_key(&key.primary_key).is_ok())
        .map(reason_of)
}

/// A revocation of `sub` that the primary key signed.
fn subkey_revocation(key: &SignedPublicKey, sub: &SignedPublicSubKey) -> Option<Option<String>> {
    sub.signatures
        .iter()
        .filter(|s| s.typ() == Some(SignatureType::SubkeyRevocation))
        .find(|s| s.verify_subkey_binding(&key.primary_key, &sub.key).is_ok())
        .map(reason_of)
}
