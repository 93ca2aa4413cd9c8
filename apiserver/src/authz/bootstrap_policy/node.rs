//! What node agents may do: Kubernetes 1.32's `system:node`, rule by rule in upstream's order
//! (without the feature-gated dynamic-resource rules), bound to the group `system:nodes`.
//! Upstream leaves this role unbound and relies on the Node authorizer, which also narrows
//! each node to its own Node, Lease and pods' objects; here RBAC alone grants it, as the
//! role says, to every node (a known difference).

use super::vocabulary::*;

pub(super) const SYSTEM_NODE: &[Rule] = &[
    (K8S_AUTHN, &["tokenreviews"], CREATE),
    (
        K8S_AUTHZ,
        &["subjectaccessreviews", "localsubjectaccessreviews"],
        CREATE,
    ),
    (CORE, &["services"], READ),
    (CORE, &["nodes"], &["create", "get", "list", "watch"]),
    (CORE, &["nodes/status"], &["update", "patch"]),
    (CORE, &["nodes"], &["update", "patch"]),
    (CORE, &["events"], &["create", "update", "patch"]),
    (CORE, &["pods"], READ),
    (CORE, &["pods"], &["create", "delete"]),
    (CORE, &["pods/status"], &["update", "patch"]),
    (CORE, &["pods/eviction"], CREATE),
    (CORE, &["secrets", "configmaps"], READ),
    (CORE, &["persistentvolumeclaims", "persistentvolumes"], GET),
    (CORE, &["endpoints"], GET),
    (
        CERTIFICATES,
        &["certificatesigningrequests"],
        &["create", "get", "list", "watch"],
    ),
    (
        COORDINATION,
        &["leases"],
        &["get", "create", "update", "patch", "delete"],
    ),
    (STORAGE, &["volumeattachments"], GET),
    (CORE, &["serviceaccounts/token"], CREATE),
    (
        CORE,
        &["persistentvolumeclaims/status"],
        &["get", "update", "patch"],
    ),
    (STORAGE, &["csidrivers"], READ),
    (
        STORAGE,
        &["csinodes"],
        &["get", "create", "update", "patch", "delete"],
    ),
    (NODE, &["runtimeclasses"], READ),
];

/// Oxshift's node agents read the cluster's image configuration (insecure registries) from
/// the API; on OpenShift the machine-config operator writes it to the node's files instead.
pub(super) const NODE_IMAGE_CONFIG_READER: &[Rule] = &[(CONFIG, &["images"], READ)];

/// Oxshift's node agents run the local provisioner (`oxshift.io/local-path`): it makes and
/// removes the volumes of its node's directories, as k3s's provisioner does with an account
/// of its own.
pub(super) const LOCAL_PROVISIONER: &[Rule] = &[
    (
        CORE,
        &["persistentvolumes"],
        &["get", "list", "watch", "create", "patch", "delete"],
    ),
    (CORE, &["persistentvolumeclaims"], READ),
    (CORE, &["persistentvolumeclaims/status"], &["patch"]),
    (STORAGE, &["storageclasses"], READ),
];

/// Oxshift's node agents run build pods' steps themselves: they check that a Build controls
/// the pod before running its privileged steps natively, and report the build's details
/// (on OpenShift the builder does that with the build's service account).
pub(super) const NODE_BUILDER: &[Rule] = &[
    (BUILD_ONLY, &["builds"], GET),
    (BUILD_ONLY, &["builds/details"], UPDATE),
];

/// The group of every node's client identity.
pub const NODES_GROUP: &str = "system:nodes";
