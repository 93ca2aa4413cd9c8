//! What one object is charged, by the resource names a quota may limit (upstream's
//! evaluators): pods (count and compute, not once they have ended), services (load balancers
//! and node ports), persistent volume claims (storage, per class), the legacy object counts,
//! and `count/<resource>[.<group>]` for every stored kind.

use std::collections::BTreeMap;

use serde_json::Value;

use super::amount::Amount;

/// Amounts by resource name.
pub type Usage = BTreeMap<String, Amount>;

/// The object-count name of a resource: `count/pods`, `count/deployments.apps`.
pub fn count_name(group: &str, plural: &str) -> String {
    match group {
        "" => format!("count/{plural}"),
        g => format!("count/{plural}.{g}"),
    }
}

/// The resource (group, plural) whose objects a quota's resource name counts, if any.
pub fn resource_of(name: &str) -> Option<(String, String)> {
    if let Some(counted) = name.strip_prefix("count/") {
        return Some(match counted.split_once('.') {
            Some((plural, group)) => (group.to_string(), plural.to_string()),
            None => (String::new(), counted.to_string()),
        });
    }
    ["pods", "services", "persistentvolumeclaims"]
        .into_iter()
        .chain(LEGACY_COUNTS)
        .find(|plural| matches(name, "", plural))
        .map(|plural| (String::new(), plural.to_string()))
}

/// Kinds counted under their plural as well as under `count/`.
const LEGACY_COUNTS: [&str; 4] = [
    "secrets",
    "configmaps",
    "replicationcontrollers",
    "resourcequotas",
];

const POD_NAMES: [&str; 11] = [
    "pods",
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "count/pods",
];

/// Whether the evaluator of (group, plural) tracks the resource `name` (upstream's
/// `MatchingResources`).
pub fn matches(name: &str, group: &str, plural: &str) -> bool {
    if name == count_name(group, plural) {
        return true;
    }
    if !group.is_empty() {
        return false;
    }
    match plural {
        "pods" => {
            POD_NAMES.contains(&name)
                || name.starts_with("hugepages-")
                || name.starts_with("requests.hugepages-")
                || name.strip_prefix("requests.").is_some_and(is_extended)
        }
        "services" => matches!(
            name,
            "services" | "services.loadbalancers" | "services.nodeports"
        ),
        "persistentvolumeclaims" => {
            name == "persistentvolumeclaims"
                || name == "requests.storage"
                || name.ends_with(".storageclass.storage.k8s.io/requests.storage")
                || name.ends_with(".storageclass.storage.k8s.io/persistentvolumeclaims")
        }
        p => LEGACY_COUNTS.contains(&p) && name == p,
    }
}

/// An extended resource: a domain-qualified name outside `kubernetes.io`.
fn is_extended(name: &str) -> bool {
    name.contains('/')
        && !name.starts_with("kubernetes.io/")
        && !name.starts_with("requests.")
        && !name.contains(".kubernetes.io/")
}

/// What `obj` of (group, plural) is charged; `now` (seconds since the epoch) decides
/// whether a pod being deleted still counts.
pub fn usage(group: &str, plural: &str, obj: &Value, now: i64) -> Usage {
    let one = Amount::count(1);
    let mut usage = Usage::from([(count_name(group, plural), one)]);
    if !group.is_empty() {
        return usage;
    }
    match plural {
        "pods" if pod_counts(obj, now) => {
            usage.insert("pods".into(), one);
            usage.extend(pod_compute(obj));
        }
        "services" => {
            let ports = obj["spec"]["ports"].as_array().map_or(0, Vec::len) as i128;
            let kind = obj["spec"]["type"].as_str().unwrap_or_default();
            let balancers = i128::from(kind == "LoadBalancer");
            let node_ports = match kind {
                "NodePort" | "LoadBalancer" => ports,
                _ => 0,
            };
            usage.insert("services".into(), one);
            usage.insert("services.loadbalancers".into(), Amount::count(balancers));
            usage.insert("services.nodeports".into(), Amount::count(node_ports));
        }
        "persistentvolumeclaims" => {
            usage.insert("persistentvolumeclaims".into(), one);
            let class = obj["spec"]["storageClassName"].as_str().unwrap_or_default();
            if !class.is_empty() {
                usage.insert(
                    format!("{class}.storageclass.storage.k8s.io/persistentvolumeclaims"),
                    one,
                );
            }
            let storage = obj["spec"]["resources"]["requests"]["storage"]
                .as_str()
                .and_then(Amount::parse);
            if let Some(storage) = storage {
                usage.insert("requests.storage".into(), storage);
                if !class.is_empty() {
                    usage.insert(
                        format!("{class}.storageclass.storage.k8s.io/requests.storage"),
                        storage,
                    );
                }
            }
        }
        p if LEGACY_COUNTS.contains(&p) => {
            usage.insert(p.to_string(), one);
        }
        _ => {}
    }
    usage
}

/// Upstream's `QuotaV1Pod`: a pod that has ended, or whose deletion's grace period has
/// passed, no longer holds compute resources.
pub fn pod_counts(pod: &Value, now: i64) -> bool {
    if matches!(
        pod["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed")
    ) {
        return false;
    }
    let deleted = pod["metadata"]["deletionTimestamp"]
        .as_str()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok());
    let grace = pod["metadata"]["deletionGracePeriodSeconds"].as_i64();
    match (deleted, grace) {
        (Some(at), Some(grace)) => now <= at.as_second().saturating_add(grace),
        _ => true,
    }
}

type List = BTreeMap<String, Amount>;

fn list(v: &Value) -> List {
    v.as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, q)| Some((k.clone(), Amount::parse(q.as_str()?)?)))
        .collect()
}

fn add_into(total: &mut List, more: &List) {
    for (k, v) in more {
        let sum = total.get(k).copied().unwrap_or_default().plus(*v);
        total.insert(k.clone(), sum);
    }
}

fn max_into(total: &mut List, other: &List) {
    for (k, v) in other {
        if total.get(k).is_none_or(|t| v > t) {
            total.insert(k.clone(), *v);
        }
    }
}

/// A container's requests (a missing request defaults to its limit, as the API's defaulting
/// does) and limits.
fn container(c: &Value) -> (List, List) {
    let limits = list(&c["resources"]["limits"]);
    let mut requests = list(&c["resources"]["requests"]);
    for (k, v) in &limits {
        requests.entry(k.clone()).or_insert(*v);
    }
    (requests, limits)
}

/// Upstream's `PodRequests` / `PodLimits`: the containers' sum, at least any init container
/// (with the sidecars started before it), plus the pod's overhead.
fn pod_totals(pod: &Value, pick: fn((List, List)) -> List) -> List {
    let spec = &pod["spec"];
    let mut total = List::new();
    for c in spec["containers"].as_array().into_iter().flatten() {
        add_into(&mut total, &pick(container(c)));
    }
    let mut sidecars = List::new();
    let mut init = List::new();
    for c in spec["initContainers"].as_array().into_iter().flatten() {
        let own = pick(container(c));
        let step = if c["restartPolicy"] == "Always" {
            add_into(&mut total, &own);
            add_into(&mut sidecars, &own);
            sidecars.clone()
        } else {
            let mut step = own;
            add_into(&mut step, &sidecars);
            step
        };
        max_into(&mut init, &step);
    }
    max_into(&mut total, &init);
    add_into(&mut total, &list(&spec["overhead"]));
    total
}

/// Upstream's `podComputeUsageHelper`: the pod's requests and limits under quota names.
fn pod_compute(pod: &Value) -> Usage {
    let requests = pod_totals(pod, |(r, _)| r);
    let limits = pod_totals(pod, |(_, l)| l);
    let mut usage = Usage::new();
    for resource in ["cpu", "memory", "ephemeral-storage"] {
        if let Some(r) = requests.get(resource) {
            usage.insert(resource.to_string(), *r);
            usage.insert(format!("requests.{resource}"), *r);
        }
        if let Some(l) = limits.get(resource) {
            usage.insert(format!("limits.{resource}"), *l);
        }
    }
    for (resource, r) in &requests {
        if resource.starts_with("hugepages-") {
            usage.insert(resource.clone(), *r);
            usage.insert(format!("requests.{resource}"), *r);
        } else if is_extended(resource) {
            usage.insert(format!("requests.{resource}"), *r);
        }
    }
    usage
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn shown(u: &Usage) -> BTreeMap<String, String> {
        u.iter().map(|(k, v)| (k.clone(), v.to_string())).collect()
    }

    #[test]
    fn pods_are_charged_their_containers_and_init_containers() {
        let pod = json!({"spec": {
            "containers": [
                {"name": "a", "resources": {"requests": {"cpu": "250m", "memory": "64Mi"},
                    "limits": {"cpu": "500m"}}},
                {"name": "b", "resources": {"limits": {"cpu": "250m", "memory": "64Mi"}}},
            ],
            "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "2"}}}],
        }});
        let u = shown(&usage("", "pods", &pod, 0));
        assert_eq!(u["pods"], "1");
        assert_eq!(u["count/pods"], "1");
        assert_eq!(u["requests.cpu"], "2");
        assert_eq!(u["cpu"], "2");
        assert_eq!(u["requests.memory"], "128Mi");
        assert_eq!(u["limits.cpu"], "750m");
        assert_eq!(u["limits.memory"], "64Mi");
    }

    #[test]
    fn ended_pods_keep_only_their_object_count() {
        let pod =
            json!({"spec": {"containers": [{"name": "a"}]}, "status": {"phase": "Succeeded"}});
        let u = shown(&usage("", "pods", &pod, 0));
        assert_eq!(u, BTreeMap::from([("count/pods".into(), "1".into())]));
        let deleting = json!({"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z",
            "deletionGracePeriodSeconds": 30}, "spec": {"containers": []}});
        let at = "2026-01-01T00:00:00Z"
            .parse::<jiff::Timestamp>()
            .map(|t| t.as_second())
            .unwrap_or_default();
        assert!(pod_counts(&deleting, at + 30));
        assert!(!pod_counts(&deleting, at + 31));
    }

    #[test]
    fn services_claims_and_counts() {
        let svc = json!({"spec": {"type": "NodePort", "ports": [{"port": 1}, {"port": 2}]}});
        let u = shown(&usage("", "services", &svc, 0));
        assert_eq!(u["services"], "1");
        assert_eq!(u["services.nodeports"], "2");
        assert_eq!(u["services.loadbalancers"], "0");
        let pvc = json!({"spec": {"storageClassName": "local",
            "resources": {"requests": {"storage": "1Gi"}}}});
        let u = shown(&usage("", "persistentvolumeclaims", &pvc, 0));
        assert_eq!(u["requests.storage"], "1Gi");
        assert_eq!(
            u["local.storageclass.storage.k8s.io/requests.storage"],
            "1Gi"
        );
        let u = shown(&usage("apps", "deployments", &json!({}), 0));
        assert_eq!(
            u,
            BTreeMap::from([("count/deployments.apps".into(), "1".into())])
        );
        assert_eq!(usage("", "configmaps", &json!({}), 0).len(), 2);
    }

    #[test]
    fn names_map_to_the_resource_they_count() {
        let of = |n: &str| resource_of(n).map(|(g, p)| format!("{g}/{p}"));
        assert_eq!(of("requests.cpu").as_deref(), Some("/pods"));
        assert_eq!(
            of("count/deployments.apps").as_deref(),
            Some("apps/deployments")
        );
        assert_eq!(of("configmaps").as_deref(), Some("/configmaps"));
        assert_eq!(
            of("requests.storage").as_deref(),
            Some("/persistentvolumeclaims")
        );
        assert_eq!(of("unknown"), None);
        assert!(matches("requests.example.com/gpu", "", "pods"));
        assert!(!matches("requests.storage", "", "pods"));
    }
}
