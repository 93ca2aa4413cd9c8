//! The trust policy in force: `ImageTrustPolicy cluster` with the keys of its `keyRef`s read
//! from `openshift-config`, parsed once per revision of the policy and of those objects.

use std::sync::{Arc, Mutex};

use base64::Engine;
use serde_json::Value;
use trust::TrustPolicy;
use trust::policy::{KEY_NAMESPACE, KeyRef};

use crate::ApiServer;
use crate::error::ApiError;
use crate::registry::config_oxshift::TRUST_POLICY_NAME;
use crate::registry::object::meta_str;

/// A policy ready to judge images, and the revisions it was read at.
#[derive(Debug)]
pub struct Compiled {
    pub policy: TrustPolicy,
    /// The policy's resourceVersion, then each `keyRef` object's (`-` when absent): a
    /// verdict cached under another `revisions` is stale.
    pub revisions: String,
    refs: Vec<KeyRef>,
}

#[derive(Default)]
pub struct Cache(pub(super) Mutex<Option<Arc<Compiled>>>);

/// The policy in force, None when there is none (everything is admitted).
pub async fn current(server: &ApiServer) -> Result<Option<Arc<Compiled>>, ApiError> {
    let Some((def, kind_cache)) = server
        .named_cache("config.oxshift.io", "v1", "imagetrustpolicies")
        .await?
    else {
        return Ok(None);
    };
    // Read on every pod create, and most clusters have none: from memory, yet a policy just
    // written is in force at once.
    let Some(obj) = server
        .fresh_cached_object(def, &kind_cache, None, TRUST_POLICY_NAME)
        .await?
    else {
        return Ok(None);
    };
    let cache = &server.admission.state.image_trust.policy;
    let cached = cache.0.lock().map(|c| c.clone()).unwrap_or_default();
    let policy_revision = meta_str(&obj, "resourceVersion").to_string();
    if let Some(c) = cached
        && c.revisions.split('|').next() == Some(policy_revision.as_str())
    {
        let mut objects = Vec::new();
        for r in &c.refs {
            objects.push(key_object(server, r).await?);
        }
        if revisions(&policy_revision, &objects) == c.revisions {
            return Ok(Some(c));
        }
    }
    let mut policy = TrustPolicy::parse(&obj["spec"]).map_err(|problems| {
        ApiError::Internal(format!(
            "the stored image trust policy does not parse ({} problems)",
            problems.len()
        ))
    })?;
    let refs = policy.key_refs();
    let mut objects = Vec::new();
    for r in &refs {
        objects.push(key_object(server, r).await?);
    }
    let revisions = revisions(&policy_revision, &objects);
    policy.resolve_refs(|r| {
        let i = refs.iter().position(|x| x == r).unwrap_or(usize::MAX);
        match objects.get(i) {
            Some(Some(obj)) => key_bytes(obj, r),
            _ => Err("not found".into()),
        }
    });
    let compiled = Arc::new(Compiled {
        policy,
        revisions,
        refs,
    });
    if let Ok(mut c) = cache.0.lock() {
        *c = Some(compiled.clone());
    }
    Ok(Some(compiled))
}

fn revisions(policy: &str, objects: &[Option<Value>]) -> String {
    let mut out = policy.to_string();
    for o in objects {
        out.push('|');
        out.push_str(o.as_ref().map_or("-", |o| meta_str(o, "resourceVersion")));
    }
    out
}

pub(crate) async fn key_object(server: &ApiServer, r: &KeyRef) -> Result<Option<Value>, ApiError> {
    let plural = match r.kind.as_str() {
        "Secret" => "secrets",
        _ => "configmaps",
    };
    let Some(def) = server.scheme.lookup("", "v1", plural) else {
        return Ok(None);
    };
    server.get_object(def, Some(KEY_NAMESPACE), &r.name).await
}

/// The keyring under `key`: a ConfigMap's `binaryData` (base64) or `data` (text, armored
/// keys), a Secret's `data` (base64).
pub(crate) fn key_bytes(obj: &Value, r: &KeyRef) -> Result<Vec<u8>, String> {
    let b64 = |v: &Value| {
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .map_err(|e| format!("not base64: {e}"))
    };
    match r.kind.as_str() {
        "Secret" => obj["data"].get(&r.key).map(b64),
        _ => match obj["binaryData"].get(&r.key) {
            Some(v) => Some(b64(v)),
            None => obj["data"]
                .get(&r.key)
                .and_then(Value::as_str)
                .map(|s| Ok(s.as_bytes().to_vec())),
        },
    }
    .unwrap_or_else(|| Err(format!("it has no key {:?}", r.key)))
}
