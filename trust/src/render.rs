//! The trust policy as the nodes' `policy.json` holds it: `keyRef`s replaced by the keys they
//! name (`keyData`), so CRI-O and skopeo reach the same verdicts as admission.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{Value, json};

use crate::policy::{Requirement, TrustPolicy};

/// One requirement in policy.json's words; a `signedBy` whose keys could not be read becomes
/// `reject` (the node then refuses what admission would refuse).
pub fn requirement(r: &Requirement) -> Value {
    match r {
        Requirement::InsecureAcceptAnything => json!({"type": "insecureAcceptAnything"}),
        Requirement::Reject => json!({"type": "reject"}),
        Requirement::SignedBy(s) => match &s.key_bytes {
            None => json!({"type": "reject"}),
            Some(bytes) => {
                let mut out = json!({
                    "type": "signedBy",
                    "keyType": "GPGKeys",
                    "keyData": base64::engine::general_purpose::STANDARD.encode(bytes),
                });
                if let Some(identity) = s.raw.get("signedIdentity") {
                    out["signedIdentity"] = identity.clone();
                }
                out
            }
        },
    }
}

/// A list of requirements.
pub fn requirements(list: &[Requirement]) -> Value {
    Value::Array(list.iter().map(requirement).collect())
}

/// `default` and the `docker` and `atomic` transports, by scope.
pub fn transports(policy: &TrustPolicy) -> BTreeMap<&'static str, BTreeMap<String, Value>> {
    let scopes = |m: &BTreeMap<String, Vec<Requirement>>| -> BTreeMap<String, Value> {
        m.iter()
            .map(|(s, r)| (s.clone(), requirements(r)))
            .collect()
    };
    let mut out = BTreeMap::new();
    out.insert("docker", scopes(&policy.docker));
    out.insert("atomic", scopes(&policy.atomic));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_refs_become_key_data_or_reject() {
        let spec = json!({"default": [{"type": "signedBy", "keyType": "GPGKeys",
            "keyRef": {"kind": "Secret", "name": "keys", "key": "k"},
            "signedIdentity": {"type": "matchRepository"}}]});
        let mut policy = TrustPolicy::parse(&spec).unwrap();
        assert_eq!(requirements(&policy.default), json!([{"type": "reject"}]));
        policy.resolve_refs(|_| Ok(include_bytes!("testdata/signer.gpg").to_vec()));
        let rendered = requirements(&policy.default);
        assert_eq!(
            rendered[0]["signedIdentity"],
            json!({"type": "matchRepository"})
        );
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(rendered[0]["keyData"].as_str().unwrap())
                .unwrap(),
            include_bytes!("testdata/signer.gpg")
        );
    }
}
