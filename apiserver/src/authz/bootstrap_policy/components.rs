//! The roles of the control plane's own components that run with identities of their own:
//! Kubernetes 1.32's `system:kube-scheduler` and OpenShift's `system:router`, rule by rule in
//! upstream's order; and the roles of OpenShift's deployment config, deployer and image trigger
//! controllers.

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

/// Upstream's `system:volume-scheduler`, bound to the scheduler: it annotates claims with the
/// node chosen for their first consumer.
pub(super) fn volume_scheduler_rules() -> Vec<Value> {
    let write = &["get", "list", "patch", "update", "watch"];
    vec![
        rule(&[""], &["persistentvolumes"], write),
        rule(&["storage.k8s.io"], &["storageclasses"], READ),
        rule(&[""], &["persistentvolumeclaims"], write),
    ]
}

/// The roles of the deployment config controllers, as upstream names them. They run in the
/// controller manager with its credentials; the roles say what each needs.
pub const DEPLOYMENT_CONFIG_CONTROLLER: &str =
    "system:openshift:controller:deploymentconfig-controller";
pub const DEPLOYER_CONTROLLER: &str = "system:openshift:controller:deployer-controller";
pub const IMAGE_TRIGGER_CONTROLLER: &str = "system:openshift:controller:image-trigger-controller";

const WRITE: &[&str] = &[
    "create", "delete", "get", "list", "patch", "update", "watch",
];

pub(super) fn deployment_config_controller_rules() -> Vec<Value> {
    vec![
        rule(&[""], &["replicationcontrollers"], WRITE),
        rule(&["apps.openshift.io", ""], &["deploymentconfigs"], READ),
        rule(
            &["apps.openshift.io", ""],
            &["deploymentconfigs/status"],
            &["update", "patch"],
        ),
        rule(
            &["", "events.k8s.io"],
            &["events"],
            &["create", "patch", "update"],
        ),
    ]
}

pub(super) fn deployer_controller_rules() -> Vec<Value> {
    vec![
        rule(&[""], &["replicationcontrollers"], WRITE),
        rule(&[""], &["pods"], WRITE),
        rule(
            &["", "events.k8s.io"],
            &["events"],
            &["create", "patch", "update"],
        ),
    ]
}

pub(super) fn image_trigger_controller_rules() -> Vec<Value> {
    vec![
        rule(&["image.openshift.io", ""], &["imagestreams"], READ),
        rule(
            &["apps.openshift.io", ""],
            &["deploymentconfigs"],
            &["get", "list", "watch", "update"],
        ),
        rule(
            &["apps", "extensions"],
            &["deployments", "daemonsets", "statefulsets"],
            &["get", "list", "watch", "update"],
        ),
        rule(
            &["batch"],
            &["cronjobs", "jobs"],
            &["get", "list", "watch", "update"],
        ),
        rule(
            &["", "events.k8s.io"],
            &["events"],
            &["create", "patch", "update"],
        ),
    ]
}

/// The router's user: upstream's router service account (bound to `system:router`).
pub const ROUTER: &str = "system:serviceaccount:openshift-ingress:router";

/// OpenShift's `system:router`: what a router reads and the status it writes.
pub(super) fn router_rules() -> Vec<Value> {
    vec![
        rule(&[""], &["endpoints"], &["list", "watch"]),
        rule(&[""], &["services"], &["list", "watch"]),
        // A sharded router's namespace selector (the ingress operator's router role).
        rule(&[""], &["namespaces"], &["get", "list", "watch"]),
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

/// Where the service CA publishes its bundle, and the one ConfigMap of it the router reads:
/// what reencrypt routes without a destination CA are verified against.
pub const SERVICE_CA_NAMESPACE: &str = "openshift-config-managed";
const SERVICE_CA_CONFIGMAP: &str = "service-ca";

/// The router's read of the service CA's bundle, by name only (a namespaced Role in
/// `openshift-config-managed`, as upstream grants reads of its published ConfigMaps).
pub(super) fn router_service_ca_rules() -> Vec<Value> {
    vec![json!({
        "apiGroups": [""], "resources": ["configmaps"],
        "resourceNames": [SERVICE_CA_CONFIGMAP], "verbs": ["get", "list", "watch"],
    })]
}
