//! Upstream's quota rules, shared by ResourceQuotas and ClusterResourceQuotas: resource names
//! a quota may limit, non-negative (and, for counts, whole) quantities, scopes that suit the
//! resources limited (`ValidateResourceQuotaSpec`), and a cluster quota's selector
//! (`ValidateClusterResourceQuota`).

use api::names;
use serde_json::Value;

use crate::registry::validation::{Bad, FieldErrors, bad, index, key};

/// Upstream's `standardResources`: names without a domain a resource list may hold.
const STANDARD: &[&str] = &[
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
    "services",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "persistentvolumeclaims",
    "configmaps",
    "storage",
    "requests.storage",
    "services.nodeports",
    "services.loadbalancers",
];

/// Upstream's `standardQuotaResources`: of those, what a quota may limit.
const STANDARD_QUOTA: &[&str] = &[
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.storage",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
    "services",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "persistentvolumeclaims",
    "configmaps",
    "services.nodeports",
    "services.loadbalancers",
];

/// Counts: quantities that must be whole.
const INTEGER: &[&str] = &[
    "pods",
    "services",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "services.nodeports",
    "services.loadbalancers",
];

const SCOPES: &[&str] = &[
    "Terminating",
    "NotTerminating",
    "BestEffort",
    "NotBestEffort",
    "PriorityClass",
    "CrossNamespacePodAffinity",
];

/// What pod-only scopes may be applied to.
const POD_COUNT: &[&str] = &["pods"];
const POD_COMPUTE: &[&str] = &[
    "cpu",
    "memory",
    "limits.cpu",
    "limits.memory",
    "requests.cpu",
    "requests.memory",
];

fn huge_pages(name: &str) -> bool {
    name.starts_with("hugepages-") || name.starts_with("requests.hugepages-")
}

fn standard_quota(name: &str) -> bool {
    STANDARD_QUOTA.contains(&name) || huge_pages(name)
}

/// A domain-qualified name outside `kubernetes.io`: counted in whole units.
fn extended(name: &str) -> bool {
    let native = !name.contains('/') || name.contains("kubernetes.io/");
    !native
        && !name.starts_with("requests.")
        && names::qualified_name(&format!("requests.{name}")).is_empty()
}

/// Upstream's `ValidateResourceQuotaResourceName`.
pub fn resource_name(name: &str, field: &str, errors: &mut FieldErrors) {
    let problems = names::qualified_name(name);
    for message in &problems {
        errors.invalid(field, Bad::Str(name), message);
    }
    if !problems.is_empty() || name.contains('/') {
        return;
    }
    if !(STANDARD.contains(&name) || huge_pages(name)) {
        errors.invalid(
            field,
            Bad::Str(name),
            "must be a standard resource type or fully qualified",
        );
    }
    if !standard_quota(name) {
        errors.invalid(
            field,
            Bad::Str(name),
            "must be a standard resource for quota",
        );
    }
}

/// Upstream's `ValidateResourceQuantityValue`: not negative, whole for counts.
pub fn quantity(name: &str, value: &Value, field: &str, errors: &mut FieldErrors) {
    let Some(text) = value.as_str() else {
        return;
    };
    let Some(amount) = api::quota::Amount::parse(text) else {
        return;
    };
    if amount.milli < 0 {
        errors.invalid(field, Bad::Str(text), "must be greater than or equal to 0");
    }
    if (INTEGER.contains(&name) || extended(name)) && amount.milli % 1000 != 0 {
        errors.invalid(field, Bad::Str(text), "must be an integer");
    }
}

/// A resource list's names and quantities (`spec.hard`, a status' `used`), by name.
pub fn resource_list(list: &Value, field: &str, errors: &mut FieldErrors) {
    let mut entries: Vec<(&String, &Value)> = list.as_object().into_iter().flatten().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    for (name, value) in entries {
        let at = key(field, name);
        resource_name(name, &at, errors);
        quantity(name, value, &at, errors);
    }
}

/// Go's `%#v` of the scopes: `[]core.ResourceQuotaScope{"BestEffort"}`.
fn go_scopes(scopes: &[&str]) -> String {
    let quoted: Vec<String> = scopes.iter().map(|s| format!("{s:?}")).collect();
    format!("[]core.ResourceQuotaScope{{{}}}", quoted.join(", "))
}

/// Upstream's `ValidateResourceQuotaSpec` of the spec at `path`.
pub fn quota_spec(spec: &Value, path: &str, errors: &mut FieldErrors) {
    resource_list(&spec["hard"], &format!("{path}.hard"), errors);
    let scopes: Vec<&str> = spec["scopes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let field = format!("{path}.scopes");
    let hard: Vec<&String> = spec["hard"]
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    for scope in &scopes {
        if !SCOPES.contains(scope) {
            errors.invalid(&field, Bad::Go(go_scopes(&scopes)), "unsupported scope");
        }
        for name in &hard {
            if standard_quota(name) && !scope_suits(scope, name) {
                errors.invalid(
                    &field,
                    Bad::Go(go_scopes(&scopes)),
                    "unsupported scope applied to resource",
                );
            }
        }
    }
    for (a, b) in [
        ("BestEffort", "NotBestEffort"),
        ("Terminating", "NotTerminating"),
    ] {
        if scopes.contains(&a) && scopes.contains(&b) {
            errors.invalid(&field, Bad::Go(go_scopes(&scopes)), "conflicting scopes");
        }
    }
    scope_selector(
        &spec["scopeSelector"],
        &format!("{path}.scopeSelector"),
        errors,
    );
}

/// Upstream's `IsResourceQuotaScopeValidForResource`.
fn scope_suits(scope: &str, name: &str) -> bool {
    match scope {
        "BestEffort" => POD_COUNT.contains(&name),
        "Terminating"
        | "NotTerminating"
        | "NotBestEffort"
        | "PriorityClass"
        | "CrossNamespacePodAffinity" => POD_COUNT.contains(&name) || POD_COMPUTE.contains(&name),
        _ => true,
    }
}

/// Upstream's `validateScopedResourceSelectorRequirement`.
fn scope_selector(selector: &Value, path: &str, errors: &mut FieldErrors) {
    for (i, r) in selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let at = index(&format!("{path}.matchExpressions"), i);
        let scope = r["scopeName"].as_str().unwrap_or_default();
        if !SCOPES.contains(&scope) {
            errors.invalid(
                &format!("{at}.scopeName"),
                Bad::Str(scope),
                "unsupported scope",
            );
        }
        let values = r["values"].as_array().map_or(0, Vec::len);
        match r["operator"].as_str().unwrap_or_default() {
            "In" | "NotIn" if values == 0 => errors.required(
                &format!("{at}.values"),
                "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector",
            ),
            "Exists" | "DoesNotExist" if values != 0 => errors.invalid(
                &format!("{at}.values"),
                bad(&r["values"]),
                "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector",
            ),
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            other => errors.invalid(
                &format!("{at}.operator"),
                Bad::Str(other),
                "not a valid selector operator",
            ),
        }
    }
}

/// Upstream's `ValidateClusterResourceQuota` beyond the object's metadata: a selector that
/// restricts the projects, the quota's spec, the status' lists.
pub fn cluster_quota(obj: &Value, errors: &mut FieldErrors) {
    let selector = &obj["spec"]["selector"];
    let labels = &selector["labels"];
    let non_empty = |v: &Value| match v {
        Value::Object(m) => !m.is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => false,
    };
    let restricting_labels =
        non_empty(&labels["matchLabels"]) || non_empty(&labels["matchExpressions"]);
    if !restricting_labels && !non_empty(&selector["annotations"]) {
        errors.required("spec.selector", "must restrict the selected projects");
    }
    if labels.is_object() {
        crate::registry::validation::meta::label_selector(
            labels,
            "spec.selector.labels",
            true,
            errors,
        );
        if !restricting_labels {
            errors.invalid(
                "spec.selector.labels",
                Bad::Go(go_label_selector()),
                "must restrict the selected projects",
            );
        }
    }
    quota_spec(&obj["spec"]["quota"], "spec.quota", errors);
    resource_list(
        &obj["status"]["total"]["hard"],
        "status.overall.hard",
        errors,
    );
    resource_list(
        &obj["status"]["total"]["used"],
        "status.overall.used",
        errors,
    );
    let mut shares: Vec<&Value> = obj["status"]["namespaces"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    shares.sort_by_key(|n| n["namespace"].as_str().unwrap_or_default());
    for n in shares {
        let namespace = n["namespace"].as_str().unwrap_or_default();
        let at = key("status.namespaces", namespace);
        resource_list(&n["status"]["used"], &at, errors);
    }
}

/// An empty label selector as Go prints it.
fn go_label_selector() -> String {
    "&v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}".into()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::registry::quota::{ClusterResourceQuotas, ResourceQuotas};
    use crate::registry::validation::validated;

    fn quota(spec: Value) -> Value {
        json!({"metadata": {"name": "q", "namespace": "p"}, "spec": spec})
    }

    #[test]
    fn resource_quotas_as_upstream() {
        let check = |spec: Value| {
            validated(
                &ResourceQuotas,
                ("", "v1", "resourcequotas"),
                &quota(spec),
                None,
            )
        };
        assert_eq!(
            check(json!({"hard": {"pods": "10", "count/deployments.apps": "2"}})),
            ""
        );
        assert_eq!(
            check(json!({"hard": {"pods": "-1", "requests.cpu": "500m", "gpus": "1"}})),
            "spec.hard[gpus]: Invalid value: \"gpus\": must be a standard resource type or fully qualified\n\
             spec.hard[gpus]: Invalid value: \"gpus\": must be a standard resource for quota\n\
             spec.hard[pods]: Invalid value: \"-1\": must be greater than or equal to 0\n"
        );
        assert_eq!(
            check(json!({"hard": {"pods": "1500m"}})),
            "spec.hard[pods]: Invalid value: \"1500m\": must be an integer\n"
        );
        assert_eq!(
            check(json!({"hard": {"configmaps": "1"}, "scopes": ["BestEffort", "NotBestEffort"]})),
            "spec.scopes: Invalid value: []core.ResourceQuotaScope{\"BestEffort\", \"NotBestEffort\"}: unsupported scope applied to resource\n\
             spec.scopes: Invalid value: []core.ResourceQuotaScope{\"BestEffort\", \"NotBestEffort\"}: unsupported scope applied to resource\n\
             spec.scopes: Invalid value: []core.ResourceQuotaScope{\"BestEffort\", \"NotBestEffort\"}: conflicting scopes\n"
        );
    }

    #[test]
    fn cluster_quotas_must_restrict_their_projects() {
        let check = |spec: Value| {
            let obj = json!({"metadata": {"name": "q"}, "spec": spec});
            validated(
                &ClusterResourceQuotas,
                ("quota.openshift.io", "v1", "clusterresourcequotas"),
                &obj,
                None,
            )
        };
        assert_eq!(
            check(
                json!({"selector": {"annotations": {"openshift.io/requester": "alice"}},
                "quota": {"hard": {"pods": "2"}}})
            ),
            ""
        );
        assert_eq!(
            check(json!({"selector": {"labels": {}}, "quota": {"hard": {"pods": "x1"}}})),
            "spec.selector: Required value: must restrict the selected projects\n\
             spec.selector.labels: Invalid value: &v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: must restrict the selected projects\n"
        );
    }
}
