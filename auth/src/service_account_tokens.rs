//! Service-account tokens: ES256 JWTs with upstream's claims (`sub`
//! `system:serviceaccount:<ns>:<name>`, `kubernetes.io` with the namespace and the service
//! account's name and uid), signed with a key kept beside the PKI and created on first start.

use std::path::Path;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::pki::{PkiError, Result};

/// The issuer and default audience, as upstream's default.
pub const ISSUER: &str = "https://kubernetes.default.svc";

const KEY_FILE: &str = "service-account.key";
const PUBLIC_FILE: &str = "service-account.pub";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ServiceAccountRef {
    pub name: String,
    pub uid: String,
}

/// An object a token is bound to (upstream's `pod` and `node` claims): the token is valid
/// only while it exists with this uid.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct BoundRef {
    pub name: String,
    pub uid: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct KubernetesClaims {
    pub namespace: String,
    pub serviceaccount: ServiceAccountRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<BoundRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<BoundRef>,
}

/// What one token is issued for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenSpec {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub audiences: Vec<String>,
    /// The pod it is bound to, and that pod's node.
    pub pod: Option<BoundRef>,
    pub node: Option<BoundRef>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: Vec<String>,
    pub exp: i64,
    pub iat: i64,
    pub nbf: i64,
    pub jti: String,
    #[serde(rename = "kubernetes.io")]
    pub kubernetes: KubernetesClaims,
}

/// Signs and verifies service-account tokens.
pub struct ServiceAccountTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl ServiceAccountTokens {
    /// The signing key under `dir`, created (ECDSA P-256) if missing.
    pub fn load_or_create(dir: &Path) -> Result<Self> {
        let (key, public) = (dir.join(KEY_FILE), dir.join(PUBLIC_FILE));
        if !key.exists() || !public.exists() {
            let pair = rcgen::KeyPair::generate()?;
            crate::pki::write(&key, &pair.serialize_pem(), 0o600)?;
            crate::pki::write(&public, &pair.public_key_pem(), 0o644)?;
        }
        let invalid = |path: &Path, what: &'static str| {
            let path = path.to_path_buf();
            move |_| PkiError::BadPem { path, what }
        };
        let (key_pem, public_pem) = (crate::pki::read(&key)?, crate::pki::read(&public)?);
        Ok(ServiceAccountTokens {
            encoding: EncodingKey::from_ec_pem(key_pem.as_bytes())
                .map_err(invalid(&key, "EC private key"))?,
            decoding: DecodingKey::from_ec_pem(public_pem.as_bytes())
                .map_err(invalid(&public, "EC public key"))?,
        })
    }

    /// A token for the service account, valid from `now` for `seconds`.
    pub fn issue(
        &self,
        spec: TokenSpec,
        now: i64,
        seconds: i64,
    ) -> std::result::Result<String, jsonwebtoken::errors::Error> {
        let claims = Claims {
            iss: ISSUER.into(),
            sub: format!("system:serviceaccount:{}:{}", spec.namespace, spec.name),
            aud: spec.audiences,
            exp: now + seconds,
            iat: now,
            nbf: now,
            jti: uuid_like(),
            kubernetes: KubernetesClaims {
                namespace: spec.namespace,
                serviceaccount: ServiceAccountRef {
                    name: spec.name,
                    uid: spec.uid,
                },
                pod: spec.pod,
                node: spec.node,
            },
        };
        jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims, &self.encoding)
    }

    /// The claims of a token this server signed, for `audience`, not expired.
    pub fn verify(&self, token: &str, audience: &str) -> Option<Claims> {
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[audience]);
        validation.leeway = 0;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .ok()
            .map(|data| data.claims)
    }
}

/// A random identifier for `jti`.
fn uuid_like() -> String {
    rand::random::<[u8; 16]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_verify_for_their_audience_until_they_expire() {
        let dir = tempfile::tempdir().unwrap();
        let tokens = ServiceAccountTokens::load_or_create(dir.path()).unwrap();
        let now = 1_700_000_000;
        let real_now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let spec = TokenSpec {
            namespace: "dev".into(),
            name: "robot".into(),
            uid: "u-1".into(),
            audiences: vec![ISSUER.into()],
            ..Default::default()
        };
        let token = tokens.issue(spec.clone(), real_now, 600).unwrap();
        let claims = tokens.verify(&token, ISSUER).unwrap();
        assert_eq!(claims.sub, "system:serviceaccount:dev:robot");
        assert_eq!(claims.kubernetes.serviceaccount.uid, "u-1");
        assert!(tokens.verify(&token, "other").is_none());
        assert_eq!(claims.kubernetes.pod, None);
        let bound = TokenSpec {
            pod: Some(BoundRef {
                name: "web".into(),
                uid: "p-1".into(),
            }),
            ..spec.clone()
        };
        let bound = tokens.issue(bound, real_now, 600).unwrap();
        let claims = tokens.verify(&bound, ISSUER).unwrap();
        assert_eq!(claims.kubernetes.pod.unwrap().uid, "p-1");
        let expired = tokens.issue(spec, now, 600).unwrap();
        assert!(tokens.verify(&expired, ISSUER).is_none());
        // Another key (another cluster) does not verify it; the same files do.
        let other = tempfile::tempdir().unwrap();
        let foreign = ServiceAccountTokens::load_or_create(other.path()).unwrap();
        assert!(foreign.verify(&token, ISSUER).is_none());
        let reloaded = ServiceAccountTokens::load_or_create(dir.path()).unwrap();
        assert!(reloaded.verify(&token, ISSUER).is_some());
        assert!(tokens.verify("not.a.token", ISSUER).is_none());
    }
}
