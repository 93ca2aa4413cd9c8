//! Horizontal pod autoscalers (`autoscaling/v2`, and `autoscaling/v1` through v2 as upstream
//! defaults and validates its internal version): upstream's defaults (one replica at least,
//! 80% CPU when no metric is given, the scaling behaviour's rules once any is given) and its
//! rules on the scaled reference and replica bounds.

use api::scheme::ResourceDef;
use serde_json::{Value, json};

use crate::registry::conversion::hpa;
use crate::registry::core::defaults::default;
use crate::registry::strategy::Strategy;
use crate::registry::validation::{Bad, FieldErrors};

pub struct HorizontalPodAutoscalers;

impl Strategy for HorizontalPodAutoscalers {
    fn prepare(&self, obj: &mut Value) {
        if obj["apiVersion"] == hpa::V1 {
            // What upstream stores, and shows again, is v2 defaulted.
            if let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) {
                default(spec, "minReplicas", json!(1));
            }
            let mut v2 = hpa::convert(obj, hpa::V2);
            v2_defaults(&mut v2);
            *obj = hpa::convert(&v2, hpa::V1);
            return;
        }
        v2_defaults(obj);
    }

    fn validate(&self, _: &ResourceDef, obj: &Value, _: Option<&Value>, errors: &mut FieldErrors) {
        match obj["apiVersion"] == hpa::V1 {
            true => validate_v2(&hpa::convert(obj, hpa::V2), errors),
            false => validate_v2(obj, errors),
        }
    }
}

/// Upstream's `autoscaling/v2` defaults.
fn v2_defaults(obj: &mut Value) {
    let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) else {
        return;
    };
    default(spec, "minReplicas", json!(1));
    if spec["metrics"].as_array().is_none_or(Vec::is_empty) {
        spec["metrics"] = json!([{"type": "Resource", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 80}}}]);
    }
    if let Some(behavior) = spec.get_mut("behavior").filter(|b| b.is_object()) {
        let up = json!({"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
                {"type": "Pods", "value": 4, "periodSeconds": 15},
                {"type": "Percent", "value": 100, "periodSeconds": 15}]});
        let down = json!({"selectPolicy": "Max", "policies": [
                {"type": "Percent", "value": 100, "periodSeconds": 15}]});
        for (direction, rules) in [("scaleUp", up), ("scaleDown", down)] {
            match behavior.get_mut(direction).filter(|r| r.is_object()) {
                None => behavior[direction] = rules,
                Some(given) => {
                    for (field, value) in rules.as_object().into_iter().flatten() {
                        default(given, field, value.clone());
                    }
                }
            }
        }
    }
}

fn validate_v2(obj: &Value, errors: &mut FieldErrors) {
    let spec = &obj["spec"];
    for field in ["kind", "name"] {
        if spec["scaleTargetRef"][field]
            .as_str()
            .unwrap_or_default()
            .is_empty()
        {
            errors.required(&format!("spec.scaleTargetRef.{field}"), "");
        }
    }
    let min = spec["minReplicas"].as_i64();
    if let Some(m) = min.filter(|m| *m < 1) {
        errors.invalid(
            "spec.minReplicas",
            Bad::Int(m),
            "must be greater than or equal to 1",
        );
    }
    let max = spec["maxReplicas"].as_i64().unwrap_or(0);
    if max < 1 {
        errors.invalid("spec.maxReplicas", Bad::Int(max), "must be greater than 0");
    } else if min.is_some_and(|m| m > max) {
        errors.invalid(
            "spec.maxReplicas",
            Bad::Int(max),
            "must be greater than or equal to `minReplicas`",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::validation::validated;

    fn check(obj: &Value) -> String {
        validated(
            &HorizontalPodAutoscalers,
            ("autoscaling", "v2", "horizontalpodautoscalers"),
            obj,
            None,
        )
    }

    #[test]
    fn autoscalers_default_and_refuse_as_upstream() {
        let mut hpa = json!({"metadata": {"name": "web"}, "spec": {"maxReplicas": 5,
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}}}});
        HorizontalPodAutoscalers.prepare(&mut hpa);
        let spec = &hpa["spec"];
        assert_eq!(spec["minReplicas"], 1);
        assert_eq!(
            spec["metrics"][0]["resource"]["target"]["averageUtilization"],
            80
        );
        assert_eq!(
            spec["behavior"]["scaleDown"]["stabilizationWindowSeconds"],
            60
        );
        assert_eq!(spec["behavior"]["scaleDown"]["selectPolicy"], "Max");
        assert_eq!(spec["behavior"]["scaleUp"]["policies"][0]["type"], "Pods");
        assert_eq!(check(&hpa), "");
        let mut inverted = hpa.clone();
        inverted["spec"]["minReplicas"] = json!(9);
        assert_eq!(
            check(&inverted),
            "spec.maxReplicas: Invalid value: 5: must be greater than or equal to `minReplicas`\n"
        );
        let mut no_target = hpa.clone();
        no_target["spec"]["scaleTargetRef"] = json!({});
        assert_eq!(
            check(&no_target),
            "spec.scaleTargetRef.kind: Required value\nspec.scaleTargetRef.name: Required value\n"
        );
    }
}
