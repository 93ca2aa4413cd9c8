//! Image trust at admission (`image.oxshift.io/ImageTrustPolicy`): every image a pod or a pod
//! template names anew is judged by `ImageTrustPolicy cluster` (the `trust` crate's model,
//! the same policy the nodes' policy.json carries), so an image the nodes would refuse is
//! refused when it is applied. Images under a `signedBy` requirement are resolved to their
//! digest (`resolve`), their signatures read from their ImageSignatures and from the scope's
//! lookaside store (`lookaside`), and the verdict cached by policy revision, image and
//! digest. Without a policy nothing is checked.

mod expiring;
mod lookaside;
mod policy;
mod remote;
mod resolve;

use std::collections::HashMap;
use std::sync::Mutex;

use api::field::Field;
use serde_json::Value;
use trust::{ImageName, Requirement};

pub use policy::{Compiled, current as current_policy};
pub(crate) use policy::{key_bytes, key_object};
pub(crate) use remote::Puller;
pub(crate) use resolve::resolve;

use super::{Attributes, Operation};
use crate::ApiServer;
use crate::error::ApiError;

pub const NAME: &str = "image.oxshift.io/ImageTrustPolicy";
/// Verdicts kept; the cache starts over when full.
const MAX_CACHED: usize = 4096;

/// The policy in force and the verdicts reached under it.
#[derive(Default)]
pub struct State {
    policy: policy::Cache,
    verdicts: Mutex<HashMap<String, Cached>>,
    remote: remote::Remote,
    /// What lookaside stores published, for the registry's signature extension (admission
    /// reads stores afresh for images it has not accepted yet).
    lookaside: lookaside::Cache,
}

/// The signatures published for `name` at `digest` in `store`, read at most every few
/// seconds (`lookaside::Cache`).
pub(crate) async fn published_signatures(
    server: &ApiServer,
    store: &str,
    name: &ImageName,
    digest: &str,
) -> Result<std::sync::Arc<Vec<Vec<u8>>>, String> {
    let cache = &server.admission.state.image_trust.lookaside;
    cache.fetch(store, name, digest).await
}

/// A verdict, and when a key of the policy expires next (the verdict may change then).
type Cached = (Result<(), String>, Option<i64>);

/// Creates and updates of pods and of the kinds holding a pod template.
pub fn applies(a: &Attributes<'_>) -> bool {
    matches!(a.operation, Operation::Create | Operation::Update)
        && a.subresource.is_empty()
        && a.def.pod_spec.is_some()
}

/// Refuses `obj` when an image it names anew is not trusted; the message names each image
/// and the policy's reason.
pub async fn check(server: &ApiServer, a: &Attributes<'_>, obj: &Value) -> Result<(), ApiError> {
    let Some(path) = a.def.pod_spec else {
        return Ok(());
    };
    // Most clusters have no policy: it is looked for before the images are gathered.
    let Some(compiled) = policy::current(server).await? else {
        return Ok(());
    };
    let images = new_images(a, obj, path);
    if images.is_empty() {
        return Ok(());
    }
    let puller = Puller::of(a.namespace.unwrap_or_default(), pod_spec(obj, path));
    let mut refusals = Vec::new();
    for spec in &images {
        if let Err(reason) = verdict(server, &compiled, spec, &puller).await? {
            refusals.push(format!("image {spec:?} is not trusted: {reason}"));
        }
    }
    if refusals.is_empty() {
        return Ok(());
    }
    Err(a.forbidden(obj, refusals.join("; ")))
}

/// The policy's verdict on one pull spec, pulled by `puller`.
pub async fn verdict(
    server: &ApiServer,
    compiled: &Compiled,
    spec: &str,
    puller: &Puller,
) -> Result<Result<(), String>, ApiError> {
    let name = match ImageName::parse(spec) {
        Ok(n) => n,
        Err(e) => return Ok(Err(e)),
    };
    let (_, requirements) = compiled.policy.requirements_for(&name);
    if !requirements
        .iter()
        .any(|r| matches!(r, Requirement::SignedBy(_)))
    {
        return Ok(trust::evaluate(requirements, &name, None, &[], now()));
    }
    let resolved = resolve::resolve(server, &name, puller).await?;
    let key = format!(
        "{}\n{}\n{}\n{}",
        compiled.revisions,
        name.full(),
        resolved.digest.as_deref().unwrap_or("-"),
        resolved.image_revision
    );
    let verdicts = &server.admission.state.image_trust.verdicts;
    let now = now();
    let cached = verdicts.lock().ok().and_then(|c| {
        c.get(&key)
            .filter(|(_, stale_at)| stale_at.is_none_or(|t| now < t))
            .map(|(v, _)| v.clone())
    });
    if let Some(v) = cached {
        return Ok(v);
    }
    let store = compiled.policy.lookaside_for(&name);
    let mut signatures = resolved.signatures;
    let mut unread = None;
    if let (Some(store), Some(digest)) = (store, &resolved.digest) {
        match lookaside::fetch(store, &name, digest).await {
            Ok(found) => signatures.extend(found),
            Err(e) => unread = Some(e),
        }
    }
    let mut verdict = match (&resolved.digest, resolved.unresolved) {
        (None, Some(why)) => Err(why),
        (digest, _) => trust::evaluate(requirements, &name, digest.as_deref(), &signatures, now),
    };
    if let (Err(reason), Some(e)) = (&mut verdict, &unread) {
        reason.push_str(&format!(" (signatures could not be read: {e})"));
    }
    // A store's signatures may appear later: only acceptances are kept for those images.
    // Keys expire: what one vouched for is judged again once it has.
    let stale_at = compiled.policy.next_key_expiry(now);
    if (store.is_none() || verdict.is_ok())
        && let Ok(mut cache) = verdicts.lock()
    {
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(key, (verdict.clone(), stale_at));
    }
    Ok(verdict)
}

/// Forgets the policy and every verdict (the benchmark's cold start).
#[cfg(test)]
fn forget(server: &ApiServer) {
    let state = &server.admission.state.image_trust;
    if let Ok(mut p) = state.policy.0.lock() {
        *p = None;
    }
    if let Ok(mut v) = state.verdicts.lock() {
        v.clear();
    }
}

/// The images of the pod spec at `path` that an update does not already run.
pub(crate) fn new_images(a: &Attributes<'_>, obj: &Value, path: &str) -> Vec<String> {
    let mut images = images_of(obj, path);
    if let Some(old) = a.old {
        let before = images_of(old, path);
        images.retain(|i| !before.contains(i));
    }
    images
}

/// The images of the pod spec at `path` (containers, init and ephemeral containers), each
/// once, in order.
pub(crate) fn images_of(obj: &Value, path: &str) -> Vec<String> {
    let spec = pod_spec(obj, path);
    let mut out: Vec<String> = Vec::new();
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        for c in spec.field(list).as_array().into_iter().flatten() {
            if let Some(image) = c.field("image").as_str().filter(|i| !i.is_empty())
                && !out.iter().any(|o| o == image)
            {
                out.push(image.to_string());
            }
        }
    }
    out
}

/// The pod spec at `path` (`spec`, `spec.template.spec`, …).
pub(crate) fn pod_spec<'a>(obj: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(obj, |v, k| v.field(k))
}

/// Seconds since the epoch: keys are judged valid or expired as of now.
pub(crate) fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

#[cfg(test)]
mod tests;
