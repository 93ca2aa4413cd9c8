//! Horizontal pod autoscalers (`autoscaling/v2`, and `autoscaling/v1` through v2 as upstream
//! defaults and validates its internal version): upstream's defaults (one replica at least,
//! 80% CPU when no metric is given, the scaling behaviour's rules once any is given) and its
//! rules (`validation.rs`) on the v2 form of either.

use api::scheme::ResourceDef;
use serde_json::{Value, json};

use crate::ApiServer;
use crate::error::ApiError;
use crate::registry::conversion::hpa;
use crate::registry::core::defaults::default;
use crate::registry::strategy::Strategy;
use crate::registry::validation::FieldErrors;

mod validation;

pub struct HorizontalPodAutoscalers;

#[async_trait::async_trait]
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

    fn validate(
        &self,
        _: &ResourceDef,
        obj: &Value,
        old: Option<&Value>,
        errors: &mut FieldErrors,
    ) {
        // Scaling to zero is behind a gate upstream keeps off, except for an autoscaler that
        // already has it.
        let floor = match old.is_some_and(|o| o["spec"]["minReplicas"] == 0) {
            true => 0,
            false => 1,
        };
        match obj["apiVersion"] == hpa::V1 {
            true => validation::spec(&hpa::convert(obj, hpa::V2), floor, errors),
            false => validation::spec(obj, floor, errors),
        }
    }

    async fn assign_status(
        &self,
        _: &ApiServer,
        def: &ResourceDef,
        obj: &mut Value,
        _: &Value,
    ) -> Result<(), ApiError> {
        let mut errors = FieldErrors::default();
        validation::status(obj, &mut errors);
        errors.into_result(def, obj)
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

    /// A v1 autoscaler as created: defaulted, then checked.
    fn check_v1(spec: Value) -> String {
        let mut obj = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web"}, "spec": spec});
        HorizontalPodAutoscalers.prepare(&mut obj);
        validated(
            &HorizontalPodAutoscalers,
            ("autoscaling", "v1", "horizontalpodautoscalers"),
            &obj,
            None,
        )
    }

    fn v2_with(metrics: Value, behavior: Value) -> Value {
        let mut obj = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web"}, "spec": {"maxReplicas": 3, "minReplicas": 1,
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "metrics": metrics}});
        if !behavior.is_null() {
            obj["spec"]["behavior"] = behavior;
        }
        obj
    }

    #[test]
    fn v1_targets_and_bounds_are_checked_at_their_v2_paths() {
        let target = json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"});
        let at = "spec.metrics[0].resource.target.averageUtilization";
        for percent in [0, -1] {
            assert_eq!(
                check_v1(json!({"scaleTargetRef": target, "maxReplicas": 3,
                    "targetCPUUtilizationPercentage": percent})),
                format!("{at}: Invalid value: {percent}: must be greater than 0\n")
            );
        }
        assert_eq!(
            check_v1(json!({"scaleTargetRef": target, "maxReplicas": 3,
                "targetCPUUtilizationPercentage": 50})),
            ""
        );
        assert_eq!(
            check_v1(json!({"scaleTargetRef": target, "maxReplicas": 0, "minReplicas": 0})),
            "spec.minReplicas: Invalid value: 0: must be greater than or equal to 1\n\
             spec.maxReplicas: Invalid value: 0: must be greater than 0\n\
             spec.metrics: Forbidden: must specify at least one Object or External metric to support scaling to zero replicas\n"
        );
        assert_eq!(
            check_v1(
                json!({"scaleTargetRef": {"kind": "Deployment", "name": "a/b"},
                "maxReplicas": 0, "minReplicas": 2})
            ),
            "spec.maxReplicas: Invalid value: 0: must be greater than 0\n\
             spec.maxReplicas: Invalid value: 0: must be greater than or equal to `minReplicas`\n\
             spec.scaleTargetRef.name: Invalid value: \"a/b\": may not contain '/'\n"
        );
    }

    #[test]
    fn metric_sources_and_targets_follow_upstream() {
        let metrics = json!([
            {"type": "Pods", "pods": {"metric": {"name": "qps"},
                "target": {"type": "AverageValue", "averageValue": "0"}}},
            {"type": "External", "external": {"metric": {"name": ""},
                "target": {"type": "Value", "value": "-1", "averageValue": "2"}}},
            {"type": "Object", "object": {"describedObject": {"kind": "Service", "name": "s"},
                "metric": {"name": "hits"}, "target": {"type": "Bogus"}}},
            {"type": "Resource", "resource": {"name": "memory",
                "target": {"type": "Utilization", "averageUtilization": 50,
                    "averageValue": "1Gi"}}},
            {"type": "ContainerResource", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 50}}},
            {"type": "Nodes"},
        ]);
        let zero = "resource.Quantity{i:resource.int64Amount{value:0, scale:0}, \
            d:resource.infDecAmount{Dec:(*inf.Dec)(nil)}, s:\"0\", Format:\"DecimalSI\"}";
        let minus = zero
            .replace(":0, s", ":-1, s")
            .replace("s:\"0\"", "s:\"-1\"");
        assert_eq!(
            check(&v2_with(metrics, Value::Null)),
            format!(
                "spec.metrics[0].pods.target.averageValue: Invalid value: {zero}: must be positive\n\
                 spec.metrics[1].external.metric.name: Required value: must specify a metric name\n\
                 spec.metrics[1].external.target.value: Invalid value: {minus}: must be positive\n\
                 spec.metrics[1].external.target.value: Forbidden: may not set both a target value for metric and a per-pod target\n\
                 spec.metrics[2].object.target.type: Invalid value: \"Bogus\": must be either Utilization, Value, or AverageValue\n\
                 spec.metrics[2].object.target.averageValue: Required value: must set either a target value or averageValue\n\
                 spec.metrics[3].resource.target.averageValue: Forbidden: may not set both a target raw value and a target utilization\n\
                 spec.metrics[4].containerResource: Required value: must populate information for the given metric source\n\
                 spec.metrics[5].type: Unsupported value: \"Nodes\": supported values: \"ContainerResource\", \"External\", \"Object\", \"Pods\", \"Resource\"\n"
            )
        );
    }

    #[test]
    fn behavior_windows_and_policies_are_bounded() {
        let behavior = json!({
            "scaleUp": {"stabilizationWindowSeconds": 3601, "selectPolicy": "Most",
                "policies": [{"type": "Pods", "value": 0, "periodSeconds": 1801}]},
            "scaleDown": {"stabilizationWindowSeconds": -1, "policies": []},
        });
        let mut obj = v2_with(Value::Null, behavior);
        HorizontalPodAutoscalers.prepare(&mut obj);
        assert_eq!(
            check(&obj),
            "spec.behavior.scaleUp.stabilizationWindowSeconds: Invalid value: 3601: must be less than or equal to 3600\n\
             spec.behavior.scaleUp.selectPolicy: Unsupported value: \"Most\": supported values: \"Disabled\", \"Max\", \"Min\"\n\
             spec.behavior.scaleUp.policies[0].value: Invalid value: 0: must be greater than zero\n\
             spec.behavior.scaleUp.policies[0].periodSeconds: Invalid value: 1801: must be less than or equal to 1800\n\
             spec.behavior.scaleDown.stabilizationWindowSeconds: Invalid value: -1: must be greater than or equal to zero\n\
             spec.behavior.scaleDown.policies: Required value: must specify at least one Policy\n"
        );
    }

    #[test]
    fn scaling_to_zero_stays_for_an_autoscaler_that_has_it() {
        let mut hpa = v2_with(Value::Null, Value::Null);
        hpa["spec"]["minReplicas"] = json!(0);
        HorizontalPodAutoscalers.prepare(&mut hpa);
        let def = api::Scheme::builtin()
            .lookup("autoscaling", "v2", "horizontalpodautoscalers")
            .cloned();
        let Some(def) = def else {
            panic!("autoscaling/v2 is served");
        };
        let mut errors = FieldErrors::default();
        HorizontalPodAutoscalers.validate(&def, &hpa, Some(&hpa), &mut errors);
        assert_eq!(
            errors.summary(),
            "spec.metrics: Forbidden: must specify at least one Object or External metric to support scaling to zero replicas"
        );
    }

    #[test]
    fn status_replica_counts_are_not_negative() {
        let mut errors = FieldErrors::default();
        validation::status(
            &json!({"status": {"currentReplicas": -1, "desiredReplicas": 2}}),
            &mut errors,
        );
        assert_eq!(
            errors.summary(),
            "status.currentReplicas: Invalid value: -1: must be greater than or equal to 0"
        );
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
