//! An `Attestation`'s `spec`: an image by digest (`resourceUri`), the attestor vouching for
//! it, the serialized payload (base64) and its signatures, each naming the attestor's key
//! that made it (`publicKeyId`). Checked on write: the payload must be about the image.

use base64::Engine;
use serde_json::Value;

use super::keys::{PublicKey, is_message};
use super::payload;
use crate::name::ImageName;
use crate::policy::{Problem, Problems};
use crate::simple_signing::{is_armored, unverified_data};

#[derive(Debug, Clone)]
pub struct Attestation {
    pub image: ImageName,
    pub attestor: String,
    pub payload: Vec<u8>,
    /// `(publicKeyId, signature)`.
    pub signatures: Vec<(String, Vec<u8>)>,
}

/// Why an attestation does or does not vouch for its image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Verified,
    /// No signature verifies (each signature's reason).
    NotVerified(String),
    /// A key could not be read: nothing can be decided.
    Undecided(String),
}

const FIELDS: &[&str] = &["resourceUri", "attestor", "serializedPayload", "signatures"];

/// Reads `spec`; all problems at once.
pub fn parse(spec: &Value) -> Result<Attestation, Vec<Problem>> {
    let mut p = Problems::default();
    let Some(o) = p.object(spec, "spec") else {
        return Err(p.0);
    };
    p.only(o, "spec", FIELDS);
    let image = p.string(o, "spec", "resourceUri").and_then(|uri| {
        payload::parse_resource_uri(uri)
            .map_err(|e| p.invalid("spec.resourceUri", uri, &e))
            .ok()
    });
    let attestor = p.string(o, "spec", "attestor").map(str::to_string);
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.decode(s.trim());
    let mut signatures = Vec::new();
    match o.get("signatures").and_then(Value::as_array) {
        Some(list) if !list.is_empty() => {
            for (i, v) in list.iter().enumerate() {
                let path = format!("spec.signatures[{i}]");
                let Some(s) = p.object(v, &path) else {
                    continue;
                };
                p.only(s, &path, &["publicKeyId", "signature"]);
                let id = p.string(s, &path, "publicKeyId");
                let signature = p.string(s, &path, "signature").and_then(|text| {
                    b64(text)
                        .map_err(|e| {
                            p.invalid(
                                &format!("{path}.signature"),
                                &shown(text),
                                &format!("not base64: {e}"),
                            )
                        })
                        .ok()
                });
                if let (Some(id), Some(signature)) = (id, signature) {
                    signatures.push((id.to_string(), signature));
                }
            }
        }
        _ => p.required("spec.signatures", "at least one signature is required"),
    }
    // As GKE's PGP attestations, the payload may be left out when a signature is a signed
    // OpenPGP message carrying it.
    let carried = signatures
        .iter()
        .map(|(_, s)| s.as_slice())
        .find(|s| is_message(s, is_armored(s)));
    let payload = match (o.get("serializedPayload"), carried) {
        (None, Some(message)) => match unverified_data(message) {
            Ok(bytes) => Some(bytes),
            Err(e) => {
                p.invalid(
                    "spec.signatures",
                    "<signature>",
                    &format!("the payload it carries cannot be read: {e}"),
                );
                None
            }
        },
        _ => p.string(o, "spec", "serializedPayload").and_then(|text| {
            b64(text)
                .map_err(|e| {
                    p.invalid(
                        "spec.serializedPayload",
                        &shown(text),
                        &format!("not base64: {e}"),
                    )
                })
                .ok()
        }),
    };
    let payload = payload.and_then(|bytes| match payload::parse(&bytes) {
        Ok(claim) => Some((bytes, claim)),
        Err(e) => {
            p.invalid(
                "spec.serializedPayload",
                "<payload>",
                &format!("not a signature payload: {e}"),
            );
            None
        }
    });
    if let (Some(image), Some((_, claim))) = (&image, &payload)
        && let Err(e) = claim.check(image)
    {
        p.invalid(
            "spec.serializedPayload",
            "<payload>",
            &format!("{e} (the resourceUri's)"),
        );
    }
    match (image, attestor, payload) {
        (Some(image), Some(attestor), Some((payload, _))) if p.0.is_empty() => Ok(Attestation {
            image,
            attestor,
            payload,
            signatures,
        }),
        _ => Err(p.0),
    }
}

impl Attestation {
    /// Whether a signature verifies with the attestor's key of its ID (`keys`: each key's ID
    /// and the key, or why it could not be read).
    pub fn verify(&self, keys: &[(String, Result<PublicKey, String>)]) -> Verdict {
        let mut reasons = Vec::new();
        let mut undecided = None;
        for (id, signature) in &self.signatures {
            match keys.iter().find(|(k, _)| k.eq_ignore_ascii_case(id)) {
                None => reasons.push(format!("the attestor has no key {id:?}")),
                Some((_, Err(e))) => {
                    undecided = Some(format!("the key {id:?} cannot be read: {e}"))
                }
                Some((_, Ok(key))) => match key.verify(&self.payload, signature) {
                    Ok(()) => return Verdict::Verified,
                    Err(e) => reasons.push(e),
                },
            }
        }
        match undecided {
            Some(why) => Verdict::Undecided(why),
            None => Verdict::NotVerified(reasons.join("; ")),
        }
    }
}

fn shown(v: &str) -> String {
    match v.len() {
        0..=40 => v.to_string(),
        n => format!("<{n} bytes>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attestation::keys::{parse_pgp, parse_pkix};
    use serde_json::json;

    const URI: &str = "registry.example.com:5000/shop/app@sha256:c62ead5b8c15c231f9e786250b07909daf6c266d0fcddd93fea882eb722c3be4";

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    fn spec(signatures: Value) -> Value {
        json!({"resourceUri": URI, "attestor": "built-by-ci",
            "serializedPayload": b64(include_bytes!("testdata/payload.json")),
            "signatures": signatures})
    }

    #[test]
    fn signatures_verify_with_the_key_of_their_id() {
        let ec = parse_pkix(include_bytes!("testdata/ec-p256.pub"), "ECDSA_P256_SHA256").unwrap();
        let (pgp, fingerprint) = parse_pgp(include_bytes!("testdata/attestor.asc")).unwrap();
        let keys = vec![("ec".to_string(), Ok(ec)), (fingerprint.clone(), Ok(pgp))];
        let by_ec = parse(&spec(json!([{"publicKeyId": "ec", "signature": b64(include_bytes!("testdata/ec-p256.sig"))}]))).unwrap();
        assert_eq!(by_ec.verify(&keys), Verdict::Verified);
        let by_pgp = parse(&spec(json!([{"publicKeyId": fingerprint.to_lowercase(), "signature": b64(include_bytes!("testdata/pgp.sig.asc"))}]))).unwrap();
        assert_eq!(by_pgp.verify(&keys), Verdict::Verified);
        let wrong = parse(&spec(json!([{"publicKeyId": "ec", "signature": b64(include_bytes!("testdata/rsa-pkcs1.sig"))},
            {"publicKeyId": "gone", "signature": b64(b"x")}]))).unwrap();
        assert_eq!(
            wrong.verify(&keys),
            Verdict::NotVerified("the signature does not verify with the ECDSA_P256_SHA256 key; the attestor has no key \"gone\"".into())
        );
        let unreadable = vec![(
            "ec".to_string(),
            Err("configmaps \"keys\" not found".to_string()),
        )];
        assert!(
            matches!(by_ec.verify(&unreadable), Verdict::Undecided(why) if why.contains("cannot be read"))
        );
    }

    #[test]
    fn an_inline_pgp_message_carries_and_signs_its_payload() {
        let (pgp, fingerprint) = parse_pgp(include_bytes!("testdata/inline-attestor.asc")).unwrap();
        let keys = vec![(fingerprint.clone(), Ok(pgp))];
        let message = include_bytes!("testdata/pgp-inline.asc");
        // As GKE's PGP attestations: no serializedPayload, the message carries it.
        let carried = json!({"resourceUri": URI, "attestor": "built-by-ci",
            "signatures": [{"publicKeyId": fingerprint, "signature": b64(message)}]});
        let parsed = parse(&carried).unwrap();
        assert_eq!(parsed.payload, include_bytes!("testdata/payload.json"));
        assert_eq!(parsed.verify(&keys), Verdict::Verified);
        // Given too, the payload must be the message's.
        let given = spec(json!([{"publicKeyId": fingerprint, "signature": b64(message)}]));
        assert_eq!(parse(&given).unwrap().verify(&keys), Verdict::Verified);
        let mut other = given.clone();
        other["serializedPayload"] = json!(b64(&include_bytes!("testdata/payload.json")[..]
            .iter()
            .map(|b| if *b == b'\n' { b' ' } else { *b })
            .collect::<Vec<u8>>()));
        assert_eq!(
            parse(&other).unwrap().verify(&keys),
            Verdict::NotVerified(
                "the OpenPGP message carries another payload than the attestation's".into()
            )
        );
        // Another attestor's key does not verify it.
        let (wrong, _) = parse_pgp(include_bytes!("testdata/attestor.asc")).unwrap();
        let wrong_keys = vec![(fingerprint, Ok(wrong))];
        assert_eq!(
            parsed.verify(&wrong_keys),
            Verdict::NotVerified(
                "the OpenPGP message was not signed with the attestor's key".into()
            )
        );
        // A message whose data is not a payload for the image is refused on write.
        let mut garbage = carried.clone();
        garbage["signatures"][0]["signature"] = json!(b64(
            b"-----BEGIN PGP MESSAGE-----\n\nnot base64\n-----END PGP MESSAGE-----\n"
        ));
        assert!(
            format!("{:?}", parse(&garbage).unwrap_err())
                .contains("the payload it carries cannot be read")
        );
    }

    #[test]
    fn ecdsa_p521_signatures_verify() {
        let key = parse_pkix(include_bytes!("testdata/ec-p521.pub"), "ECDSA_P521_SHA512").unwrap();
        let keys = vec![("p521".to_string(), Ok(key))];
        let signed = parse(&spec(json!([{"publicKeyId": "p521", "signature": b64(include_bytes!("testdata/ec-p521.sig"))}]))).unwrap();
        assert_eq!(signed.verify(&keys), Verdict::Verified);
        let wrong = parse(&spec(json!([{"publicKeyId": "p521", "signature": b64(include_bytes!("testdata/ec-p256.sig"))}]))).unwrap();
        assert_eq!(
            wrong.verify(&keys),
            Verdict::NotVerified(
                "the signature does not verify with the ECDSA_P521_SHA512 key".into()
            )
        );
        assert_eq!(
            parse_pkix(include_bytes!("testdata/ec-p256.pub"), "ECDSA_P521_SHA512").unwrap_err(),
            "the key is not a key of ECDSA_P521_SHA512"
        );
    }

    #[test]
    fn bad_attestations_are_refused_with_their_paths() {
        let mut bad = spec(json!([]));
        bad["resourceUri"] = json!("registry.example.com:5000/shop/app:v1");
        let text = format!("{:?}", parse(&bad).unwrap_err());
        assert!(
            text.contains("spec.resourceUri") && text.contains("by digest"),
            "{text}"
        );
        assert!(text.contains("spec.signatures"), "{text}");
        let mut other = spec(json!([{"publicKeyId": "ec", "signature": "%%"}]));
        other["resourceUri"] = json!(URI.replace("shop/app", "shop/other"));
        let text = format!("{:?}", parse(&other).unwrap_err());
        assert!(text.contains("the payload names the repository"), "{text}");
        assert!(text.contains("spec.signatures[0].signature"), "{text}");
        let mut garbage = spec(json!([{"publicKeyId": "ec", "signature": "AA=="}]));
        garbage["serializedPayload"] = json!(b64(b"{\"critical\": 1}"));
        assert!(format!("{:?}", parse(&garbage).unwrap_err()).contains("not a signature payload"));
    }
}
