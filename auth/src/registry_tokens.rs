//! The integrated registry's tokens: ES256 JWTs in the form docker-registry (distribution 2.8)
//! verifies, signed with a key whose self-signed certificate is the registry's
//! `rootcertbundle`, and named in the header by its libtrust key ID.

use std::path::{Path, PathBuf};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::pki::{PkiError, Result};

const KEY_FILE: &str = "token-signer.key";
const CERT_FILE: &str = "token-signer.crt";

/// One entry of a token's `access` claim: what may be done to one resource.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Access {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub actions: Vec<String>,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    /// A string, not a list: distribution 2.8 cannot read a list here.
    aud: &'a str,
    exp: i64,
    nbf: i64,
    iat: i64,
    jti: String,
    access: &'a [Access],
}

pub struct RegistryTokenSigner {
    key: EncodingKey,
    /// The libtrust ID of the public key.
    pub kid: String,
    /// Where the certificate the registry trusts is.
    pub cert_path: PathBuf,
}

impl RegistryTokenSigner {
    /// The key and certificate under `dir`, created (ECDSA P-256) if missing.
    pub fn load_or_create(dir: &Path) -> Result<Self> {
        let (key_path, cert_path) = (dir.join(KEY_FILE), dir.join(CERT_FILE));
        if !key_path.exists() || !cert_path.exists() {
            let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
            let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, "oxshift registry token signer");
            params.not_after = rcgen::date_time_ymd(2100, 1, 1);
            let cert = params.self_signed(&pair)?;
            crate::pki::write(&key_path, &pair.serialize_pem(), 0o600)?;
            crate::pki::write(&cert_path, &cert.pem(), 0o644)?;
        }
        let key_pem = crate::pki::read(&key_path)?;
        let bad = |what| PkiError::BadPem {
            path: key_path.clone(),
            what,
        };
        let pair = rcgen::KeyPair::from_pem(&key_pem).map_err(|_| bad("EC private key"))?;
        let kid = libtrust_key_id(&rcgen::PublicKeyData::subject_public_key_info(&pair));
        Ok(RegistryTokenSigner {
            key: EncodingKey::from_ec_pem(key_pem.as_bytes()).map_err(|_| bad("EC private key"))?,
            kid,
            cert_path,
        })
    }

    /// A token for `subject` granting `access`, valid from `now` for `seconds`.
    pub fn sign(
        &self,
        issuer: &str,
        audience: &str,
        subject: &str,
        access: &[Access],
        now: i64,
        seconds: i64,
    ) -> std::result::Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        let claims = Claims {
            iss: issuer,
            sub: subject,
            aud: audience,
            exp: now + seconds,
            nbf: now,
            iat: now,
            jti: rand::random::<[u8; 16]>()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
            access,
        };
        jsonwebtoken::encode(&header, &claims, &self.key)
    }
}

/// libtrust's key ID: the SHA-256 of the DER `SubjectPublicKeyInfo`, its first 30 bytes in
/// base32 (48 characters), in groups of four joined by `:`.
pub fn libtrust_key_id(spki_der: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let hash = Sha256::digest(spki_der);
    let mut chars = Vec::with_capacity(48);
    // 30 bytes are 48 groups of 5 bits exactly: no padding.
    for chunk in hash[..30].chunks(5) {
        let bits = chunk.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        for i in (0..8).rev() {
            chars.push(ALPHABET[((bits >> (i * 5)) & 31) as usize]);
        }
    }
    chars
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_are_libtrust_ones() {
        // base32 of the first 30 bytes of sha256("") is known.
        let id = libtrust_key_id(b"");
        assert_eq!(
            id,
            "4OYM:IQUY:7QOB:JGX3:6TEJ:S35Z:EQT2:4QPE:MSNZ:GTFE:SWMR:W6CS"
        );
        assert_eq!(id.len(), 59);
    }

    #[test]
    fn keys_are_kept_and_tokens_name_them() {
        let dir = tempfile::tempdir().unwrap();
        let a = RegistryTokenSigner::load_or_create(dir.path()).unwrap();
        let b = RegistryTokenSigner::load_or_create(dir.path()).unwrap();
        assert_eq!(a.kid, b.kid);
        let access = [Access {
            kind: "repository".into(),
            name: "ns/app".into(),
            actions: vec!["pull".into()],
        }];
        let token = a.sign("iss", "svc", "alice", &access, 1000, 300).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.kid.as_deref(), Some(a.kid.as_str()));
        assert_eq!(header.alg, Algorithm::ES256);
    }
}
