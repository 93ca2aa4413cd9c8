//! The roles of the control plane's own components that run with identities of their own:
//! Kubernetes 1.32's `system:kube-scheduler` and OpenShift's `system:router`, rule by rule in
//! upstream's order.

use serde_json::{Value, json};

/// The scheduler's user (its client certificate's common name), as upstream's.
pub const SCHEDULER: &str = "system:kube-scheduler";

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> Value {
    json!({"apiGroups": groups, "resources": resources, "verbs": verbs})
}

const READ: &[&str] = &["get", "list", "watch"];

pub(super) fn scheduler_rules() -> Vec<Value> {
    vec![
        rule(
            &["", "events.k8s.io"],
            &["events"],
            &["create", "patch", "update"],
        ),
        rule(&["coordination.k8s.io"], &["leases"], &["create"]),
        json!({"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
            "resourceNames": ["kube-scheduler"], "verbs": ["get", "update"]}),
        rule(&[""], &["nodes"], READ),
        rule(&[""], &["namespaces"], READ),
        rule(&[""], &["pods"], &["delete", "get", "list", "watch"]),
        rule(&[""], &["bindings", "pods/binding"], &["create"]),
        rule(&[""], &["pods/status"], &["patch", "update"]),
        rule(&[""], &["replicationcontrollers", "services"], READ),
        rule(&["apps", "extensions"], &["replicasets"], READ),
        rule(&["apps"], &["statefulsets"], READ),
        rule(&["policy"], &["poddisruptionbudgets"], READ),
        rule(
            &[""],
            &["persistentvolumeclaims", "persistentvolumes"],
            READ,
        ),
        rule(&["authentication.k8s.io"], &["tokenreviews"], &["create"]),
        rule(
            &["authorization.k8s.io"],
            &["subjectaccessreviews"],
            &["create"],
        ),
        rule(&["storage.k8s.io"], &["csinodes"], READ),
        rule(&[""], &["namespaces"], READ),
        rule(&["storage.k8s.io"], &["csidrivers"], READ),
        rule(&["storage.k8s.io"], &["csistoragecapacities"], READ),
    ]
}

/// The router's user: upstream's router service account (bound to `system:router`).
pub const ROUTER: &str = "system:serviceaccount:openshift-ingress:router";

/// OpenShift's `system:router`: what a router reads and the status it writes.
pub(super) fn router_rules() -> Vec<Value> {
    vec![
        rule(&[""], &["endpoints"], &["list", "watch"]),
        rule(&[""], &["services"], &["list", "watch"]),
        rule(&["authentication.k8s.io"], &["tokenreviews"], &["create"]),
        rule(
            &["authorization.k8s.io"],
            &["subjectaccessreviews"],
            &["create"],
        ),
        rule(&["route.openshift.io", ""], &["routes"], &["list", "watch"]),
        rule(&["route.openshift.io", ""], &["routes/status"], &["update"]),
        rule(
            &["discovery.k8s.io"],
            &["endpointslices"],
            &["list", "watch"],
        ),
    ]
}
