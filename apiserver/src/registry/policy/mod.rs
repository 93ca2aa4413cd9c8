//! Pod disruption budgets: no defaults upstream; its rules on the budget's bounds (one of
//! `minAvailable` and `maxUnavailable`, each a non-negative count or a percentage).

use api::scheme::ResourceDef;
use serde_json::Value;

use crate::registry::strategy::Strategy;
use crate::registry::validation::workloads::int_or_percent;
use crate::registry::validation::{Bad, FieldErrors};

pub struct PodDisruptionBudgets;

impl Strategy for PodDisruptionBudgets {
    fn validate(&self, _: &ResourceDef, obj: &Value, _: Option<&Value>, errors: &mut FieldErrors) {
        let spec = &obj["spec"];
        if spec.get("minAvailable").is_some() && spec.get("maxUnavailable").is_some() {
            errors.invalid(
                "spec",
                Bad::Go("policy.PodDisruptionBudgetSpec{...}".into()),
                "minAvailable and maxUnavailable cannot be both set",
            );
        }
        for field in ["minAvailable", "maxUnavailable"] {
            if let Some(value) = spec.get(field) {
                int_or_percent(value, &format!("spec.{field}"), errors);
            }
        }
        let policies = ["IfHealthyBudget", "AlwaysAllow"];
        if let Some(p) = spec["unhealthyPodEvictionPolicy"].as_str()
            && !policies.contains(&p)
        {
            errors.not_supported("spec.unhealthyPodEvictionPolicy", Bad::Str(p), &policies);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::validation::messages;
    use serde_json::json;

    fn check(spec: Value) -> String {
        let def = *api::Scheme::builtin()
            .lookup("policy", "v1", "poddisruptionbudgets")
            .expect("served");
        let obj = json!({"metadata": {"name": "b"}, "spec": spec});
        let mut errors = FieldErrors::default();
        PodDisruptionBudgets.validate(&def, &obj, None, &mut errors);
        messages(errors.into_result(&def, &obj))
    }

    #[test]
    fn budgets_refuse_what_upstream_refuses() {
        assert_eq!(check(json!({"minAvailable": 2})), "");
        assert_eq!(check(json!({"maxUnavailable": "25%"})), "");
        assert!(
            check(json!({"minAvailable": 1, "maxUnavailable": 1}))
                .starts_with("spec: Invalid value: policy.PodDisruptionBudgetSpec{...}: minAvailable and maxUnavailable cannot be both set")
        );
        assert_eq!(
            check(json!({"minAvailable": -1})),
            "spec.minAvailable: Invalid value: -1: must be greater than or equal to 0\n"
        );
        assert_eq!(
            check(json!({"maxUnavailable": "150%"})),
            "spec.maxUnavailable: Invalid value: \"150%\": must not be greater than 100%\n"
        );
    }
}
