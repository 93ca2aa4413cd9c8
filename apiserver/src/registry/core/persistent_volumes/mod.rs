//! PersistentVolumes and PersistentVolumeClaims: upstream's defaults and rules (`rules.rs`),
//! the status they start with, the protection finalizers the `StorageObjectInUseProtection`
//! admission adds at create, the default class a claim gets (`DefaultStorageClass`
//! admission) and the resize check (`PersistentVolumeClaimResize` admission) in
//! `admission.rs`.

mod admission;
pub mod rules;

use api::scheme::ResourceDef;
use async_trait::async_trait;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::registry::core::defaults::default;
use crate::registry::object::now;
use crate::registry::strategy::{Strategy, Writer};
use crate::registry::validation::FieldErrors;

pub const PV_PROTECTION: &str = "kubernetes.io/pv-protection";
pub const PVC_PROTECTION: &str = "kubernetes.io/pvc-protection";

/// Adds `finalizer` unless the object has it.
fn add_finalizer(obj: &mut Value, finalizer: &str) {
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let list = meta.entry("finalizers").or_insert_with(|| json!([]));
    if let Some(list) = list.as_array_mut()
        && !list.iter().any(|f| f == finalizer)
    {
        list.push(json!(finalizer));
    }
}

pub struct PersistentVolumes;

impl Strategy for PersistentVolumes {
    fn prepare(&self, obj: &mut Value) {
        if let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) {
            default(spec, "persistentVolumeReclaimPolicy", json!("Retain"));
            default(spec, "volumeMode", json!("Filesystem"));
            if let Some(host) = spec.get_mut("hostPath").filter(|h| h.is_object()) {
                default(host, "type", json!(""));
            }
        }
    }

    fn prepare_create(&self, obj: &mut Value) {
        self.prepare(obj);
        obj["status"] = json!({"phase": "Pending", "lastPhaseTransitionTime": now()});
        add_finalizer(obj, PV_PROTECTION);
    }

    fn validate(
        &self,
        _: &ResourceDef,
        obj: &Value,
        old: Option<&Value>,
        errors: &mut FieldErrors,
    ) {
        rules::volume(obj, errors);
        if let Some(old) = old {
            rules::volume_update(obj, old, errors);
        }
    }

    fn prepare_status(&self, obj: &mut Value, old: &Value) {
        if obj["status"]["phase"] != old["status"]["phase"] && obj["status"].is_object() {
            obj["status"]["lastPhaseTransitionTime"] = json!(now());
        }
    }
}

pub struct PersistentVolumeClaims;

#[async_trait]
impl Strategy for PersistentVolumeClaims {
    fn prepare(&self, obj: &mut Value) {
        if let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) {
            default(spec, "volumeMode", json!("Filesystem"));
        }
    }

    fn prepare_create(&self, obj: &mut Value) {
        self.prepare(obj);
        obj["status"] = json!({"phase": "Pending"});
        add_finalizer(obj, PVC_PROTECTION);
    }

    fn validate(
        &self,
        _: &ResourceDef,
        obj: &Value,
        old: Option<&Value>,
        errors: &mut FieldErrors,
    ) {
        rules::claim(obj, errors);
        if let Some(old) = old {
            rules::claim_update(obj, old, errors);
        }
    }

    async fn resolve(
        &self,
        writer: &Writer<'_>,
        obj: &mut Value,
        old: Option<&Value>,
    ) -> Result<(), ApiError> {
        match old {
            None => admission::default_class(writer.server, obj).await,
            Some(old) => admission::resize(writer.server, obj, old).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_volumes_and_claims_start_pending_and_protected() {
        let mut pv = json!({"metadata": {"name": "pv1"}, "spec": {"hostPath": {"path": "/d"}},
            "status": {"phase": "Bound"}});
        PersistentVolumes.prepare_create(&mut pv);
        assert_eq!(pv["status"]["phase"], "Pending");
        assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Retain");
        assert_eq!(pv["spec"]["hostPath"]["type"], "");
        assert_eq!(pv["metadata"]["finalizers"], json!([PV_PROTECTION]));
        let mut pvc =
            json!({"metadata": {"name": "c", "finalizers": [PVC_PROTECTION]}, "spec": {}});
        PersistentVolumeClaims.prepare_create(&mut pvc);
        assert_eq!(pvc["status"], json!({"phase": "Pending"}));
        assert_eq!(pvc["spec"]["volumeMode"], "Filesystem");
        assert_eq!(pvc["metadata"]["finalizers"], json!([PVC_PROTECTION]));
    }
}
