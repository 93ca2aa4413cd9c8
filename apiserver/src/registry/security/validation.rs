//! What a SecurityContextConstraints must hold: a known type for each strategy, the values a
//! strategy needs, ranges that are ranges, and no capability both required to be dropped and
//! allowed or added.

use api::scheme::ResourceDef;
use serde_json::Value;

use super::model::{GROUP_TYPES, RUN_AS_USER_TYPES, SE_LINUX_TYPES};
use crate::registry::strategy::Strategy;
use crate::registry::validation::{Bad, FieldErrors, index};

pub struct SecurityContextConstraints;

impl Strategy for SecurityContextConstraints {
    fn validate(&self, _: &ResourceDef, obj: &Value, _: Option<&Value>, errors: &mut FieldErrors) {
        strategy_type(obj, "runAsUser", RUN_AS_USER_TYPES, errors);
        strategy_type(obj, "seLinuxContext", SE_LINUX_TYPES, errors);
        strategy_type(obj, "fsGroup", GROUP_TYPES, errors);
        strategy_type(obj, "supplementalGroups", GROUP_TYPES, errors);
        let run_as_user = &obj["runAsUser"];
        if run_as_user["type"] == "MustRunAs" && run_as_user["uid"].as_i64().is_none() {
            errors.required("runAsUser.uid", "uid must be set for MustRunAs");
        }
        if let (Some(min), Some(max)) = (
            run_as_user["uidRangeMin"].as_i64(),
            run_as_user["uidRangeMax"].as_i64(),
        ) && min > max
        {
            errors.invalid(
                "runAsUser.uidRangeMax",
                Bad::Int(max),
                "uidRangeMax must be greater than or equal to uidRangeMin",
            );
        }
        for field in ["fsGroup", "supplementalGroups"] {
            for (i, range) in obj[field]["ranges"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                let (min, max) = (range["min"].as_i64(), range["max"].as_i64());
                if min.zip(max).is_none_or(|(min, max)| min > max) {
                    errors.invalid(
                        &index(&format!("{field}.ranges"), i),
                        Bad::Go(range.to_string()),
                        "min must be less than or equal to max",
                    );
                }
            }
        }
        let list = |field: &str| -> Vec<&str> {
            obj[field]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect()
        };
        let dropped = list("requiredDropCapabilities");
        for field in ["allowedCapabilities", "defaultAddCapabilities"] {
            for cap in list(field) {
                if dropped.contains(&cap) {
                    errors.invalid(
                        field,
                        Bad::Str(cap),
                        "capability is listed in requiredDropCapabilities",
                    );
                }
            }
        }
        if let Some(priority) = obj["priority"].as_i64()
            && priority < 0
        {
            errors.invalid(
                "priority",
                Bad::Int(priority),
                "must be a non-negative integer",
            );
        }
    }
}

fn strategy_type(obj: &Value, field: &str, supported: &[&str], errors: &mut FieldErrors) {
    match obj[field]["type"].as_str() {
        None | Some("") => errors.required(
            &format!("{field}.type"),
            &format!(
                "invalid strategy type.  Valid values are {}",
                supported.join(", ")
            ),
        ),
        Some(kind) if !supported.contains(&kind) => {
            errors.not_supported(&format!("{field}.type"), Bad::Str(kind), supported)
        }
        Some(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errors_of(obj: Value) -> String {
        let mut errors = FieldErrors::default();
        let def = api::Scheme::builtin()
            .lookup("security.openshift.io", "v1", "securitycontextconstraints")
            .cloned();
        if let Some(def) = def {
            SecurityContextConstraints.validate(&def, &obj, None, &mut errors);
        }
        errors.summary()
    }

    #[test]
    fn the_defaults_are_valid() {
        for scc in super::super::default_sccs::objects() {
            assert_eq!(errors_of(scc.clone()), "[]", "{}", scc["metadata"]["name"]);
        }
    }

    #[test]
    fn unknown_strategies_and_conflicting_capabilities_are_refused() {
        let mut scc = super::super::default_sccs::objects().remove(0);
        scc["runAsUser"]["type"] = json!("Sometimes");
        scc["allowedCapabilities"] = json!(["MKNOD"]);
        let text = errors_of(scc);
        assert!(
            text.contains("runAsUser.type: Unsupported value: \"Sometimes\""),
            "{text}"
        );
        assert!(
            text.contains("allowedCapabilities: Invalid value: \"MKNOD\""),
            "{text}"
        );
    }
}
