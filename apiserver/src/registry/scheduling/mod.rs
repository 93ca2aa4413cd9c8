//! Priority classes: the default preemption policy, and upstream's rules: user-defined values
//! stay at or below one billion, `system-` names are reserved, value and policy never change.

use api::scheme::ResourceDef;
use serde_json::{Value, json};

use crate::registry::core::defaults::default;
use crate::registry::strategy::Strategy;
use crate::registry::validation::{Bad, FieldErrors, bad};

/// The highest value a user-defined priority class may have.
const HIGHEST_USER_DEFINABLE: i64 = 1_000_000_000;

/// The classes the server itself defines, which may use `system-` names and higher values:
/// name, value and upstream's description.
const SYSTEM_CLASSES: &[(&str, i64, &str)] = &[
    (
        "system-node-critical",
        2_000_001_000,
        "Used for system critical pods that must not be moved from their current node.",
    ),
    (
        "system-cluster-critical",
        2_000_000_000,
        "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.",
    ),
];

/// OpenShift's class for the pods of users that the cluster depends on, at the highest value a
/// user-defined class may have (its description is this project's).
const OPENSHIFT_CLASSES: &[(&str, i64, &str)] = &[(
    "openshift-user-critical",
    HIGHEST_USER_DEFINABLE,
    "Used for user pods the cluster depends on, above every other user-defined class.",
)];

/// The classes every cluster has: upstream's system classes, created by its API server at
/// start, and OpenShift's.
pub fn bootstrap_classes() -> impl Iterator<Item = Value> {
    SYSTEM_CLASSES
        .iter()
        .chain(OPENSHIFT_CLASSES)
        .map(|(name, value, description)| {
            json!({
                "apiVersion": "scheduling.k8s.io/v1",
                "kind": "PriorityClass",
                "metadata": {"name": name},
                "value": value,
                "description": description,
            })
        })
}

pub struct PriorityClasses;

impl Strategy for PriorityClasses {
    fn prepare(&self, obj: &mut Value) {
        default(obj, "preemptionPolicy", json!("PreemptLowerPriority"));
    }

    fn validate(
        &self,
        _: &ResourceDef,
        obj: &Value,
        old: Option<&Value>,
        errors: &mut FieldErrors,
    ) {
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        let value = obj["value"].as_i64().unwrap_or(0);
        let system = SYSTEM_CLASSES
            .iter()
            .any(|(n, v, _)| (*n, *v) == (name, value));
        if !system && name.starts_with("system-") {
            errors.forbidden(
                "metadata.name",
                "priority class names with 'system-' prefix are reserved",
            );
        } else if !system && value > HIGHEST_USER_DEFINABLE {
            errors.forbidden(
                "value",
                &format!(
                    "maximum allowed value of a user defined priority is {HIGHEST_USER_DEFINABLE}"
                ),
            );
        }
        let policies = ["Never", "PreemptLowerPriority"];
        if let Some(p) = obj["preemptionPolicy"].as_str()
            && !policies.contains(&p)
        {
            errors.not_supported("preemptionPolicy", Bad::Str(p), &policies);
        }
        if let Some(old) = old {
            if old["value"] != obj["value"] {
                errors.forbidden("value", "may not be changed in an update.");
            }
            if old["preemptionPolicy"] != obj["preemptionPolicy"] {
                errors.invalid(
                    "preemptionPolicy",
                    bad(&obj["preemptionPolicy"]),
                    "field is immutable",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::validation::validated;

    fn check(obj: &Value, old: Option<&Value>) -> String {
        validated(
            &PriorityClasses,
            ("scheduling.k8s.io", "v1", "priorityclasses"),
            obj,
            old,
        )
    }

    #[test]
    fn priority_classes_default_and_refuse_as_upstream() {
        let mut high = json!({"metadata": {"name": "high"}, "value": 1000});
        PriorityClasses.prepare(&mut high);
        assert_eq!(high["preemptionPolicy"], "PreemptLowerPriority");
        assert_eq!(check(&high, None), "");
        let huge = json!({"metadata": {"name": "huge"}, "value": 2_000_000_000});
        assert_eq!(
            check(&huge, None),
            "value: Forbidden: maximum allowed value of a user defined priority is 1000000000\n"
        );
        let reserved = json!({"metadata": {"name": "system-mine"}, "value": 1});
        assert!(check(&reserved, None).contains("'system-' prefix are reserved"));
        let mut changed = high.clone();
        changed["value"] = json!(2000);
        assert_eq!(
            check(&changed, Some(&high)),
            "value: Forbidden: may not be changed in an update.\n"
        );
    }
}
