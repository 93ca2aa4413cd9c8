//! Quota scopes (`spec.scopes` and `spec.scopeSelector`): which pods a scoped quota tracks.
//! Scopes only ever match pods; a scoped quota tracks no other kind.

use serde_json::Value;

use crate::pod_qos::{BEST_EFFORT, qos_class};

/// A quota's scope requirements: each of `spec.scopes` as `Exists`, then the selector's.
fn requirements(quota: &Value) -> Vec<(String, String, Vec<String>)> {
    let mut all: Vec<(String, String, Vec<String>)> = quota["spec"]["scopes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|s| (s.to_string(), "Exists".to_string(), Vec::new()))
        .collect();
    for r in quota["spec"]["scopeSelector"]["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let values = r["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        all.push((
            r["scopeName"].as_str().unwrap_or_default().to_string(),
            r["operator"].as_str().unwrap_or_default().to_string(),
            values,
        ));
    }
    all
}

/// Whether the quota's scopes select `obj` of (group, plural); an unscoped quota selects
/// everything.
pub fn selects(quota: &Value, group: &str, plural: &str, obj: &Value) -> bool {
    let all = requirements(quota);
    if all.is_empty() {
        return true;
    }
    group.is_empty()
        && plural == "pods"
        && all
            .iter()
            .all(|(scope, op, values)| pod_matches(scope, op, values, obj))
}

fn pod_matches(scope: &str, op: &str, values: &[String], pod: &Value) -> bool {
    let spec = &pod["spec"];
    let terminating = spec["activeDeadlineSeconds"]
        .as_i64()
        .is_some_and(|s| s >= 0);
    match scope {
        "Terminating" => terminating,
        "NotTerminating" => !terminating,
        "BestEffort" => qos_class(&pod["spec"]) == BEST_EFFORT,
        "NotBestEffort" => qos_class(&pod["spec"]) != BEST_EFFORT,
        "PriorityClass" => {
            // Upstream matches a label set {PriorityClass: <name>} whose key is always
            // present, even for a pod without a class.
            let class = spec["priorityClassName"].as_str().unwrap_or_default();
            match op {
                "Exists" if values.is_empty() => !class.is_empty(),
                "Exists" => true,
                "In" => values.iter().any(|v| v == class),
                "NotIn" => !values.iter().any(|v| v == class),
                _ => false,
            }
        }
        "CrossNamespacePodAffinity" => cross_namespace_affinity(spec),
        _ => false,
    }
}

/// A pod affinity or anti-affinity term naming other namespaces.
fn cross_namespace_affinity(spec: &Value) -> bool {
    ["podAffinity", "podAntiAffinity"].iter().any(|kind| {
        let a = &spec["affinity"][kind];
        let required = a["requiredDuringSchedulingIgnoredDuringExecution"]
            .as_array()
            .into_iter()
            .flatten();
        let preferred = a["preferredDuringSchedulingIgnoredDuringExecution"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|w| &w["podAffinityTerm"]);
        required.chain(preferred).any(|t| {
            t["namespaceSelector"].is_object()
                || t["namespaces"].as_array().is_some_and(|n| !n.is_empty())
        })
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn scopes_select_pods_only() {
        let terminating = json!({"spec": {"scopes": ["Terminating"]}});
        let job_pod = json!({"spec": {"activeDeadlineSeconds": 60, "containers": []}});
        let pod = json!({"spec": {"containers": []}});
        assert!(selects(&terminating, "", "pods", &job_pod));
        assert!(!selects(&terminating, "", "pods", &pod));
        assert!(!selects(&terminating, "", "configmaps", &json!({})));
        assert!(selects(&json!({"spec": {}}), "", "configmaps", &json!({})));
        let best_effort = json!({"spec": {"scopes": ["BestEffort", "NotTerminating"]}});
        assert!(selects(&best_effort, "", "pods", &pod));
        assert!(!selects(&best_effort, "", "pods", &job_pod));
    }

    #[test]
    fn priority_classes_are_selected_by_operator() {
        let quota = |op: &str, values: Value| {
            json!({"spec": {"scopeSelector": {"matchExpressions": [
                {"scopeName": "PriorityClass", "operator": op, "values": values}]}}})
        };
        let high = json!({"spec": {"priorityClassName": "high"}});
        let none = json!({"spec": {}});
        assert!(selects(&quota("In", json!(["high"])), "", "pods", &high));
        assert!(!selects(&quota("In", json!(["high"])), "", "pods", &none));
        assert!(selects(&quota("NotIn", json!(["high"])), "", "pods", &none));
        assert!(selects(&quota("Exists", json!([])), "", "pods", &high));
        assert!(!selects(&quota("Exists", json!([])), "", "pods", &none));
        assert!(!selects(
            &quota("DoesNotExist", json!([])),
            "",
            "pods",
            &none
        ));
    }
}
