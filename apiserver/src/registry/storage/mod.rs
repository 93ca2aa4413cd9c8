//! Storage classes and CSI drivers: upstream's defaults, and a storage class's rules (a
//! provisioner, supported policies, and what never changes after creation).

use api::scheme::ResourceDef;
use serde_json::{Value, json};

use crate::registry::core::defaults::default;
use crate::registry::strategy::Strategy;
use crate::registry::validation::{Bad, FieldErrors, bad};

/// The provisioner of the nodes' local volumes (directories under their storage directory).
pub const LOCAL_PROVISIONER: &str = "oxshift.io/local-path";

/// The class a fresh cluster has (created at bootstrap when missing): `local`, the default,
/// provisioned by the nodes' local provisioner on the node of the claim's first pod.
pub fn default_class() -> Value {
    json!({
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": "local",
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": LOCAL_PROVISIONER,
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": true,
    })
}

pub struct StorageClasses;

impl Strategy for StorageClasses {
    fn prepare(&self, obj: &mut Value) {
        default(obj, "reclaimPolicy", json!("Delete"));
        default(obj, "volumeBindingMode", json!("Immediate"));
    }

    fn validate(
        &self,
        _: &ResourceDef,
        obj: &Value,
        old: Option<&Value>,
        errors: &mut FieldErrors,
    ) {
        if obj["provisioner"].as_str().unwrap_or_default().is_empty() {
            errors.required("provisioner", "");
        }
        for (field, supported) in [
            ("reclaimPolicy", &["Delete", "Retain"]),
            ("volumeBindingMode", &["Immediate", "WaitForFirstConsumer"]),
        ] {
            if let Some(v) = obj[field].as_str()
                && !supported.contains(&v)
            {
                errors.not_supported(field, Bad::Str(v), supported);
            }
        }
        let Some(old) = old else {
            return;
        };
        for field in ["parameters", "provisioner", "reclaimPolicy"] {
            if old[field] != obj[field] {
                errors.forbidden(field, &format!("updates to {field} are forbidden."));
            }
        }
        if old["volumeBindingMode"] != obj["volumeBindingMode"] {
            errors.invalid(
                "volumeBindingMode",
                bad(&obj["volumeBindingMode"]),
                "field is immutable",
            );
        }
    }
}

pub struct CsiDrivers;

impl Strategy for CsiDrivers {
    fn prepare(&self, obj: &mut Value) {
        let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) else {
            return;
        };
        default(spec, "attachRequired", json!(true));
        default(spec, "podInfoOnMount", json!(false));
        default(spec, "storageCapacity", json!(false));
        default(spec, "fsGroupPolicy", json!("ReadWriteOnceWithFSType"));
        default(spec, "requiresRepublish", json!(false));
        default(spec, "seLinuxMount", json!(false));
        let empty_modes = spec["volumeLifecycleModes"]
            .as_array()
            .is_none_or(Vec::is_empty);
        if empty_modes {
            spec["volumeLifecycleModes"] = json!(["Persistent"]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::validation::validated;

    fn check(obj: &Value, old: Option<&Value>) -> String {
        validated(
            &StorageClasses,
            ("storage.k8s.io", "v1", "storageclasses"),
            obj,
            old,
        )
    }

    #[test]
    fn storage_classes_default_and_refuse_as_upstream() {
        let mut fast = json!({"metadata": {"name": "fast"}, "provisioner": "csi.example.com"});
        StorageClasses.prepare(&mut fast);
        assert_eq!(
            (&fast["reclaimPolicy"], &fast["volumeBindingMode"]),
            (&json!("Delete"), &json!("Immediate"))
        );
        assert_eq!(check(&fast, None), "");
        let mut retained = fast.clone();
        retained["reclaimPolicy"] = json!("Retain");
        assert_eq!(
            check(&retained, Some(&fast)),
            "reclaimPolicy: Forbidden: updates to reclaimPolicy are forbidden.\n"
        );
        let none = json!({"metadata": {"name": "x"}});
        assert_eq!(check(&none, None), "provisioner: Required value\n");
    }

    #[test]
    fn csi_drivers_get_upstreams_defaults() {
        let mut driver = json!({"metadata": {"name": "d"}, "spec": {}});
        CsiDrivers.prepare(&mut driver);
        assert_eq!(driver["spec"]["attachRequired"], true);
        assert_eq!(
            driver["spec"]["volumeLifecycleModes"],
            json!(["Persistent"])
        );
    }
}
