//! The deletion of a CustomResourceDefinition: a DELETE marks it (`deletionTimestamp`, the
//! `customresourcecleanup.apiextensions.k8s.io` finalizer, `Terminating`), then the
//! controller deletes its instances (those with finalizers of their own are marked and waited
//! for), and once none is left removes the finalizer, which removes the definition; its
//! resource is no longer served from then on.

use api::scheme::ResourceDef;
use serde_json::{Value, json};

use crate::ApiServer;
use crate::error::{ApiError, from_storage};
use crate::registry::object;

pub const FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

pub fn being_deleted(crd: &Value) -> bool {
    !crd["metadata"]["deletionTimestamp"].is_null()
}

fn finalizers(obj: &Value) -> Vec<&str> {
    obj["metadata"]["finalizers"]
        .as_array()
        .map(|f| f.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Sets (or replaces) one condition of a definition's status.
pub fn set_condition(crd: &mut Value, kind: &str, reason: &str, message: &str) {
    if !crd["status"].is_object() {
        crd["status"] = json!({});
    }
    let condition = json!({"type": kind, "status": "True", "lastTransitionTime": object::now(),
        "reason": reason, "message": message});
    let conditions = crd["status"]["conditions"].as_array_mut();
    match conditions {
        Some(list) => match list.iter_mut().find(|c| c["type"] == kind) {
            Some(c) if c["reason"] == reason => {}
            Some(c) => *c = condition,
            None => list.push(condition),
        },
        None => crd["status"]["conditions"] = json!([condition]),
    }
}

/// A definition as its first DELETE leaves it: marked, with the cleanup finalizer.
pub fn mark(crd: &mut Value) {
    let meta = &mut crd["metadata"];
    meta["deletionTimestamp"] = json!(object::now());
    meta["deletionGracePeriodSeconds"] = json!(0);
    let mut list: Vec<Value> = meta["finalizers"].as_array().cloned().unwrap_or_default();
    if !list.iter().any(|f| f == FINALIZER) {
        list.push(json!(FINALIZER));
    }
    meta["finalizers"] = Value::Array(list);
    set_condition(
        crd,
        "Terminating",
        "InstanceDeletionPending",
        "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon",
    );
}

/// Takes the deletion of `crd` one step on; `true` once nothing remains to wait for.
pub async fn finish(server: &ApiServer, def: &ResourceDef, crd: &Value) -> Result<bool, ApiError> {
    let name = object::meta_str(crd, "name").to_string();
    if !finalizers(crd).contains(&FINALIZER) {
        return Ok(true);
    }
    let group = crd["spec"]["group"].as_str().unwrap_or_default();
    let plural = crd["spec"]["names"]["plural"].as_str().unwrap_or_default();
    let remaining = delete_instances(server, def, group, plural).await?;
    if remaining > 0 {
        let mut next = crd.clone();
        set_condition(
            &mut next,
            "Terminating",
            "InstanceDeletionInProgress",
            "CustomResource deletion is in progress",
        );
        if next != *crd {
            let _ = server.update_object(def, next).await;
        }
        return Ok(false);
    }
    let mut next = crd.clone();
    let rest: Vec<&str> = finalizers(crd)
        .into_iter()
        .filter(|f| *f != FINALIZER)
        .collect();
    next["metadata"]["finalizers"] = json!(rest);
    match rest.is_empty() {
        true => {
            let revision = object::meta_str(crd, "resourceVersion").parse().ok();
            server.delete_object(def, None, &name, revision).await?;
        }
        false => drop(server.update_object(def, next).await?),
    }
    Ok(true)
}

/// Deletes the instances of a definition (every version is stored under the same prefix);
/// instances with finalizers are marked instead. How many are left.
async fn delete_instances(
    server: &ApiServer,
    def: &ResourceDef,
    group: &str,
    plural: &str,
) -> Result<usize, ApiError> {
    if group.is_empty() || plural.is_empty() {
        return Ok(0);
    }
    let prefix = format!("/registry/{group}/{plural}/");
    let listed = server
        .store
        .list(&prefix, Default::default())
        .await
        .map_err(|e| from_storage(e, object::target(def, "")))?;
    let mut left = 0;
    for kv in &listed.kvs {
        let Ok(mut obj) = object::from_store(kv) else {
            continue;
        };
        if finalizers(&obj).is_empty() {
            // Gone already, or changed since the list: the next pass looks again.
            if server
                .store
                .delete(&kv.key, Some(kv.mod_revision))
                .await
                .is_err()
            {
                left += 1;
            }
            continue;
        }
        left += 1;
        if obj["metadata"]["deletionTimestamp"].is_null() {
            obj["metadata"]["deletionTimestamp"] = json!(object::now());
            obj["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            let _ = server
                .store
                .update(&kv.key, object::to_store(&obj), kv.mod_revision)
                .await;
        }
    }
    Ok(left)
}
