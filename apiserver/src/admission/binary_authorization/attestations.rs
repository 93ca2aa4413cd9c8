//! Whether an attestor vouches for an image by digest: the attestor's keys (those kept in a
//! ConfigMap or Secret read now), the attestations of the namespace naming the image and the
//! attestor, each verified once per revision of itself, of the attestor and of its keys.
//!
//! Attestations and attestors are read from their watch caches, attestations through an
//! index by namespace, attestor and image made again only when the cache has changed. The
//! caches may lag a write by moments: what they miss (an attestation or an attestor created
//! just before the pod) is read from the store before anything is refused.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;
use trust::ImageName;
use trust::attestation::attestor::{self, KeySource};
use trust::attestation::keys::PublicKey;
use trust::attestation::{Verdict, payload, record};

use crate::ApiServer;
use crate::admission::image_trust::{key_bytes, key_object};
use crate::error::ApiError;
use crate::registry::object::meta_str;
use crate::watch::cache::Cache;

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

/// The attestations of every namespace by namespace, attestor and image (`index_key`).
#[derive(Default)]
pub struct Index(HashMap<String, Vec<Value>>);

fn index_key(namespace: &str, attestor: &str, image: &ImageName) -> String {
    format!(
        "{namespace}\n{attestor}\n{}@{}",
        image.repository(),
        image.digest.as_deref().unwrap_or_default()
    )
}

impl Index {
    fn of(cache: &Cache) -> Index {
        let mut index: HashMap<String, Vec<Value>> = HashMap::new();
        for (_, cached) in cache.snapshot("").0 {
            let Ok(a) = serde_json::from_slice::<Value>(&cached.json) else {
                continue;
            };
            let image = a["spec"]["resourceUri"]
                .as_str()
                .and_then(|u| payload::parse_resource_uri(u).ok());
            let (Some(image), Some(attestor)) = (image, a["spec"]["attestor"].as_str()) else {
                continue;
            };
            let key = index_key(meta_str(&a, "namespace"), attestor, &image);
            index.entry(key).or_default().push(a);
        }
        Index(index)
    }

    /// The attestations in `namespace` of `attestor` naming `image`.
    pub fn of_image(&self, namespace: &str, attestor: &str, image: &ImageName) -> Vec<&Value> {
        self.0
            .get(&index_key(namespace, attestor, image))
            .map(|v| v.iter().collect())
            .unwrap_or_default()
    }
}

/// The index of the attestations as the watch cache holds them now.
pub async fn index(server: &ApiServer) -> Result<Arc<Index>, ApiError> {
    let Some(def) = server
        .scheme
        .lookup("binaryauthorization.oxshift.io", "v1", "attestations")
    else {
        return Ok(Arc::default());
    };
    let cache = server.watch_caches.of(def).await?;
    Ok(server
        .admission
        .state
        .binary_authorization
        .index
        .get_or_derive(&cache, Index::of))
}

/// Of `attestations`, those of `attestor` naming `image`.
pub fn of_image<'a>(
    attestations: &'a [Value],
    attestor: &str,
    image: &ImageName,
) -> Vec<&'a Value> {
    attestations
        .iter()
        .filter(|a| {
            a["spec"]["attestor"] == attestor && same_image(&a["spec"]["resourceUri"], image)
        })
        .collect()
}

/// Whether `attestor` vouches for an image (by digest) through one of `mine` (its
/// attestations naming the image).
pub async fn attested(
    server: &ApiServer,
    mine: &[&Value],
    attestor: &str,
) -> Result<Attested, ApiError> {
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
    let found = match server.cached_object(def, None, attestor).await? {
        Some(found) => Some(found),
        None => server.get_object(def, None, attestor).await?,
    };
    let Some(found) = found else {
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
    for a in mine.iter().copied() {
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
