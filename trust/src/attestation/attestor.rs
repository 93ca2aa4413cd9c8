//! An `Attestor`'s `spec`: the public keys whose signatures it vouches by. Each key is an
//! ASCII-armored OpenPGP key (its ID is its fingerprint), a PKIX key in PEM with its
//! signature algorithm (its ID given, or `ni:///sha-256;…` of the key as Binary
//! Authorization derives it), or a `keyRef` to a ConfigMap or Secret of `openshift-config`
//! holding either (read when an attestation is verified; its ID given).

use base64::Engine;
use serde_json::Value;

use super::keys::{self, ALGORITHMS, PublicKey};
use crate::policy::{KeyRef, Problem, Problems, read_key_ref};

/// An attestor's key, read or still to be read.
#[derive(Debug, Clone)]
pub struct AttestorKey {
    pub id: String,
    pub source: KeySource,
}

#[derive(Debug, Clone)]
pub enum KeySource {
    Inline(PublicKey),
    /// A key kept in a ConfigMap or Secret; `algorithm` set for a PKIX key.
    Ref {
        key_ref: KeyRef,
        algorithm: Option<String>,
    },
}

/// Reads `spec.publicKeys`; all problems at once.
pub fn parse(spec: &Value) -> Result<Vec<AttestorKey>, Vec<Problem>> {
    let mut p = Problems::default();
    let Some(o) = p.object(spec, "spec") else {
        return Err(p.0);
    };
    p.only(o, "spec", &["description", "publicKeys"]);
    let mut out: Vec<AttestorKey> = Vec::new();
    match o.get("publicKeys").and_then(Value::as_array) {
        Some(list) if !list.is_empty() => {
            for (i, v) in list.iter().enumerate() {
                let path = format!("spec.publicKeys[{i}]");
                if let Some(key) = public_key(v, &path, &mut p) {
                    if out.iter().any(|k| k.id.eq_ignore_ascii_case(&key.id)) {
                        p.invalid(&format!("{path}.id"), &key.id, "duplicate key ID");
                    }
                    out.push(key);
                }
            }
        }
        Some(_) => p.required(
            "spec.publicKeys",
            "an attestor needs at least one public key",
        ),
        None => p.required(
            "spec.publicKeys",
            "an attestor needs at least one public key",
        ),
    }
    if p.0.is_empty() { Ok(out) } else { Err(p.0) }
}

fn public_key(v: &Value, path: &str, p: &mut Problems) -> Option<AttestorKey> {
    let o = p.object(v, path)?;
    const SOURCES: [&str; 3] = ["asciiArmoredPgpPublicKey", "pkixPublicKey", "keyRef"];
    p.only(
        o,
        path,
        &["id", "comment", SOURCES[0], SOURCES[1], SOURCES[2]],
    );
    let given: Vec<&str> = SOURCES.into_iter().filter(|s| o.contains_key(*s)).collect();
    let id = o
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    match given.as_slice() {
        [] => {
            p.required(
                path,
                "one of asciiArmoredPgpPublicKey, pkixPublicKey and keyRef is required",
            );
            None
        }
        ["asciiArmoredPgpPublicKey"] => {
            let armored = p.string(o, path, "asciiArmoredPgpPublicKey")?;
            let field = format!("{path}.asciiArmoredPgpPublicKey");
            match keys::parse_pgp(armored.as_bytes()) {
                Err(e) => {
                    p.invalid(&field, &shown(armored), &e);
                    None
                }
                Ok((_, fingerprint))
                    if id.is_some_and(|i| !i.eq_ignore_ascii_case(&fingerprint)) =>
                {
                    p.invalid(
                        &format!("{path}.id"),
                        id.unwrap_or_default(),
                        &format!("the ID of an OpenPGP key is its fingerprint, {fingerprint}"),
                    );
                    None
                }
                Ok((key, fingerprint)) => Some(AttestorKey {
                    id: fingerprint,
                    source: KeySource::Inline(key),
                }),
            }
        }
        ["pkixPublicKey"] => {
            let path = format!("{path}.pkixPublicKey");
            let pkix = p.object(&o["pkixPublicKey"], &path)?;
            p.only(pkix, &path, &["publicKeyPem", "signatureAlgorithm"]);
            let pem = p.string(pkix, &path, "publicKeyPem");
            let algorithm = algorithm(pkix.get("signatureAlgorithm"), &path, p, true);
            let (pem, algorithm) = (pem?, algorithm??);
            match keys::parse_pkix(pem.as_bytes(), &algorithm) {
                Err(e) => {
                    p.invalid(&format!("{path}.publicKeyPem"), &shown(pem), &e);
                    None
                }
                Ok(key) => Some(AttestorKey {
                    id: id.map_or_else(|| pkix_id(pem.as_bytes()), str::to_string),
                    source: KeySource::Inline(key),
                }),
            }
        }
        ["keyRef"] => {
            let ref_path = format!("{path}.keyRef");
            let key_ref = read_key_ref(&o["keyRef"], &ref_path, p, &["signatureAlgorithm"]);
            let algorithm = algorithm(o["keyRef"].get("signatureAlgorithm"), &ref_path, p, false);
            let Some(id) = id else {
                p.required(
                    &format!("{path}.id"),
                    "a key kept in a ConfigMap or Secret needs its ID",
                );
                return None;
            };
            Some(AttestorKey {
                id: id.to_string(),
                source: KeySource::Ref {
                    key_ref: key_ref?,
                    algorithm: algorithm?,
                },
            })
        }
        _ => {
            p.invalid(
                path,
                &given.join(", "),
                "only one of asciiArmoredPgpPublicKey, pkixPublicKey and keyRef may be set",
            );
            None
        }
    }
}

/// `signatureAlgorithm`: Some(None) when absent and optional.
fn algorithm(
    v: Option<&Value>,
    path: &str,
    p: &mut Problems,
    required: bool,
) -> Option<Option<String>> {
    let field = format!("{path}.signatureAlgorithm");
    match v {
        None | Some(Value::Null) if !required => Some(None),
        None | Some(Value::Null) => {
            p.required(&field, "");
            None
        }
        Some(Value::String(a)) if ALGORITHMS.contains(&a.as_str()) => Some(Some(a.clone())),
        Some(other) => {
            p.not_supported(
                &field,
                other.as_str().unwrap_or(&other.to_string()),
                ALGORITHMS,
            );
            None
        }
    }
}

/// The key kept in a ConfigMap or Secret: a PEM public key when `algorithm` is set, else an
/// OpenPGP key.
pub fn read_ref_key(data: &[u8], algorithm: Option<&str>) -> Result<PublicKey, String> {
    match algorithm {
        Some(a) => keys::parse_pkix(data, a),
        None => keys::parse_pgp(data).map(|(k, _)| k),
    }
}

/// Binary Authorization's ID of a PKIX key: `ni:///sha-256;` and the unpadded base64url
/// SHA-256 of its DER `SubjectPublicKeyInfo` (RFC 6920).
pub fn pkix_id(pem: &[u8]) -> String {
    let der = x509_parser::pem::parse_x509_pem(pem)
        .map(|(_, block)| block.contents)
        .unwrap_or_default();
    let digest = ring::digest::digest(&ring::digest::SHA256, &der);
    format!(
        "ni:///sha-256;{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
    )
}

/// A long value, shortened for a message.
fn shown(v: &str) -> String {
    match v.len() {
        0..=40 => v.to_string(),
        n => format!("<{n} bytes>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_of_each_kind_read_with_their_ids() {
        let keys = parse(&json!({"publicKeys": [
            {"asciiArmoredPgpPublicKey": include_str!("testdata/attestor.asc")},
            {"pkixPublicKey": {"publicKeyPem": include_str!("testdata/ec-p256.pub"), "signatureAlgorithm": "ECDSA_P256_SHA256"}},
            {"id": "kept", "keyRef": {"kind": "ConfigMap", "name": "attestor-keys", "key": "ci.pem", "signatureAlgorithm": "ECDSA_P256_SHA256"}},
        ]}))
        .unwrap();
        assert_eq!(keys[0].id, "B081B246C72E72814071E310C31EEB6BFBC6C8BE");
        assert!(keys[1].id.starts_with("ni:///sha-256;"), "{}", keys[1].id);
        assert_eq!(keys[1].id.len(), "ni:///sha-256;".len() + 43);
        assert!(
            matches!(&keys[2].source, KeySource::Ref { algorithm: Some(a), .. } if a == "ECDSA_P256_SHA256")
        );
    }

    #[test]
    fn bad_keys_are_refused_with_their_paths() {
        let problems = parse(&json!({"publicKeys": [
            {"asciiArmoredPgpPublicKey": "nope"},
            {"pkixPublicKey": {"publicKeyPem": include_str!("testdata/ec-p256.pub"), "signatureAlgorithm": "RSA_PSS_2048_SHA256"}},
            {"pkixPublicKey": {"publicKeyPem": "x", "signatureAlgorithm": "MD5"}},
            {"keyRef": {"kind": "Pod", "name": "k", "key": "k"}},
            {"id": "a", "asciiArmoredPgpPublicKey": "x", "pkixPublicKey": {}},
            {"id": "ABC", "asciiArmoredPgpPublicKey": include_str!("testdata/attestor.asc")},
        ]}))
        .unwrap_err();
        let text: Vec<String> = problems.iter().map(|p| format!("{p:?}")).collect();
        let has = |needle: &str| text.iter().any(|t| t.contains(needle));
        assert!(
            has("spec.publicKeys[0].asciiArmoredPgpPublicKey"),
            "{text:?}"
        );
        assert!(
            has("the key is not a key of RSA_PSS_2048_SHA256"),
            "{text:?}"
        );
        assert!(
            has("spec.publicKeys[2].pkixPublicKey.signatureAlgorithm"),
            "{text:?}"
        );
        assert!(has("spec.publicKeys[3].keyRef.kind"), "{text:?}");
        assert!(has("spec.publicKeys[3].id"), "{text:?}");
        assert!(has("only one of asciiArmoredPgpPublicKey"), "{text:?}");
        assert!(
            has("the ID of an OpenPGP key is its fingerprint"),
            "{text:?}"
        );
        assert!(parse(&json!({"publicKeys": []})).is_err());
    }
}
