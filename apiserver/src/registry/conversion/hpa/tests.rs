use serde_json::json;

use super::*;

fn v2() -> Value {
    json!({"apiVersion": V2, "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "demo", "annotations": {"team": "a"}},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 1, "maxReplicas": 5,
            "metrics": [
                {"type": "Resource", "resource": {"name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 60}}},
                {"type": "Resource", "resource": {"name": "memory",
                    "target": {"type": "AverageValue", "averageValue": "500Mi"}}},
                {"type": "Pods", "pods": {"metric": {"name": "qps"},
                    "target": {"type": "AverageValue", "averageValue": "10"}}}],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60, "selectPolicy": "Max",
                "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}}},
        "status": {"currentReplicas": 2, "desiredReplicas": 3,
            "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu",
                "current": {"averageUtilization": 42, "averageValue": "100m"}}}],
            "conditions": [{"type": "AbleToScale", "status": "True",
                "lastTransitionTime": "2026-01-01T00:00:00Z", "reason": "SucceededRescale"}]}})
}

#[test]
fn v1_keeps_the_cpu_target_and_the_rest_in_annotations() {
    let v1 = convert(&v2(), V1);
    assert_eq!(v1["apiVersion"], V1);
    assert_eq!(v1["spec"]["targetCPUUtilizationPercentage"], 60);
    assert_eq!(v1["status"]["currentCPUUtilizationPercentage"], 42);
    assert_eq!(v1["status"]["desiredReplicas"], 3);
    assert!(v1["spec"].get("metrics").is_none());
    let annotations = &v1["metadata"]["annotations"];
    assert_eq!(annotations["team"], "a");
    assert_eq!(
        annotations[METRICS],
        r#"[{"type":"Resource","resource":{"name":"memory","targetAverageValue":"500Mi"}},{"type":"Pods","pods":{"metricName":"qps","targetAverageValue":"10"}}]"#
    );
    assert_eq!(
        annotations[CURRENT_METRICS],
        r#"[{"type":"Resource","resource":{"name":"cpu","currentAverageUtilization":42,"currentAverageValue":"100m"}}]"#
    );
    assert_eq!(
        annotations[BEHAVIOR],
        r#"{"ScaleUp":null,"ScaleDown":{"StabilizationWindowSeconds":60,"SelectPolicy":"Max","Policies":[{"Type":"Percent","Value":100,"PeriodSeconds":15}]}}"#
    );
    assert!(
        annotations[CONDITIONS]
            .as_str()
            .unwrap()
            .contains("SucceededRescale")
    );
}

#[test]
fn a_round_trip_through_v1_loses_nothing() {
    let original = v2();
    let back = convert(&convert(&original, V1), V2);
    assert_eq!(back["metadata"], original["metadata"]);
    assert_eq!(back["status"], original["status"]);
    // The CPU target comes back last, after the metrics only the annotation held.
    let metrics = back["spec"]["metrics"].as_array().unwrap();
    assert_eq!(metrics.len(), 3);
    assert_eq!(metrics[0], original["spec"]["metrics"][1]);
    assert_eq!(metrics[1], original["spec"]["metrics"][2]);
    assert_eq!(metrics[2], original["spec"]["metrics"][0]);
    assert_eq!(back["spec"]["behavior"], original["spec"]["behavior"]);
}

#[test]
fn plain_v1_objects_convert_field_by_field() {
    let v1 = json!({"apiVersion": V1, "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "annotations": {METRICS: "not json"}},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 3,
            "targetCPUUtilizationPercentage": 70},
        "status": {"currentReplicas": 0, "desiredReplicas": 0}});
    let v2 = convert(&v1, V2);
    assert_eq!(
        v2["spec"]["metrics"],
        json!([{"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": 70}}}])
    );
    // An annotation that does not parse is ignored, and dropped.
    assert!(v2["metadata"].get("annotations").is_none());
    assert_eq!(v2["status"], json!({"desiredReplicas": 0}));
    let again = convert(&v2, V1);
    assert_eq!(again["spec"], v1["spec"]);
    assert_eq!(again["status"], v1["status"]);
}
