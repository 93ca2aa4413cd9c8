//! Whether an attestor vouches for an image by digest: the attestor's keys (those kept in a
//! ConfigMap or Secret read now), the attestations of the namespace naming the image and the
//! attestor, each verified once per revision of itself, of the attestor and of its keys.

use serde_json::Value;
use trust::ImageName;
use trust::attestation::attestor::{self, KeySource};
use trust::attestation::keys::PublicKey;
use trust::attestation::{Verdict, payload, record};

use crate::ApiServer;
use crate::admission::image_trust::{key_bytes, key_object};
use crate::error::ApiError;
use crate::registry::object::meta_str;

/// Verdicts kept; the cache starts over when full.
const MAX_CACHED: usize = 4096;

/// What an attestor says of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attested {
    Yes,
    /// No valid attestation; why, for the refusal.
    No(String),
    /// Nothing can be decided (a key cannot be read, the attestor is missing).
    Unknown(String),
}

/// Whether `attestor` vouches for `image` (by digest) in `namespace`; `attestations` are the
/// namespace's, listed once per request.
pub async fn attested(
    server: &ApiServer,
    attestations: &[Value],
    attestor: &str,
    image: &ImageName,
) -> Result<Attested, ApiError> {
    let mine: Vec<&Value> = attestations
        .iter()
        .filter(|a| {
            a["spec"]["attestor"] == attestor && same_image(&a["spec"]["resourceUri"], image)
        })
        .collect();
    if mine.is_empty() {
        return Ok(Attested::No(format!(
            "no attestation of the attestor {attestor:?} names the digest"
        )));
    }
    let Some(def) = server
        .scheme
        .lookup("binaryauthorization.oxshift.io", "v1", "attestors")
    else {
        return Ok(Attested::Unknown("attestors are not served".into()));
    };
    let Some(found) = server.get_object(def, None, attestor).await? else {
        return Ok(Attested::Unknown(format!(
            "the attestor {attestor:?} does not exist"
        )));
    };
    let Ok(keys) = attestor::parse(&found["spec"]) else {
        return Ok(Attested::Unknown(format!(
            "the attestor {attestor:?} does not parse"
        )));
    };
    let mut revisions = format!("{attestor}@{}", meta_str(&found, "resourceVersion"));
    let mut ready: Vec<(String, Result<PublicKey, String>)> = Vec::new();
    for key in keys {
        let read = match key.source {
            KeySource::Inline(k) => Ok(k),
            KeySource::Ref { key_ref, algorithm } => {
                let obj = key_object(server, &key_ref).await?;
                revisions.push('|');
                revisions.push_str(obj.as_ref().map_or("-", |o| meta_str(o, "resourceVersion")));
                match obj {
                    None => Err(format!(
                        "{} openshift-config/{} not found",
                        key_ref.kind, key_ref.name
                    )),
                    Some(obj) => key_bytes(&obj, &key_ref)
                        .and_then(|bytes| attestor::read_ref_key(&bytes, algorithm.as_deref())),
                }
            }
        };
        ready.push((key.id, read));
    }
    let cache = &server.admission.state.binary_authorization.verdicts;
    let mut unknown = None;
    let mut reasons = Vec::new();
    for a in mine {
        let key = format!(
            "{revisions}\n{}@{}",
            meta_str(a, "uid"),
            meta_str(a, "resourceVersion")
        );
        let cached = cache.lock().ok().and_then(|c| c.get(&key).cloned());
        let verdict = match cached {
            Some(v) => v,
            None => {
                let v = match record::parse(&a["spec"]) {
                    Ok(parsed) => parsed.verify(&ready),
                    Err(_) => Verdict::NotVerified("the attestation does not parse".into()),
                };
                if let Ok(mut c) = cache.lock() {
                    if c.len() >= MAX_CACHED {
                        c.clear();
                    }
                    c.insert(key, v.clone());
                }
                v
            }
        };
        let name = meta_str(a, "name");
        match verdict {
            Verdict::Verified => return Ok(Attested::Yes),
            Verdict::NotVerified(why) => reasons.push(format!("attestation {name:?}: {why}")),
            Verdict::Undecided(why) => unknown = Some(format!("attestation {name:?}: {why}")),
        }
    }
    Ok(match unknown {
        Some(why) => Attested::Unknown(why),
        None => Attested::No(reasons.join("; ")),
    })
}

/// Whether an attestation's `resourceUri` is `image` (repository and digest, normalized).
fn same_image(uri: &Value, image: &ImageName) -> bool {
    uri.as_str()
        .and_then(|u| payload::parse_resource_uri(u).ok())
        .is_some_and(|n| n.repository() == image.repository() && n.digest == image.digest)
}
