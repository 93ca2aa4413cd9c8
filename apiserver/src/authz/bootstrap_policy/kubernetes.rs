//! Kubernetes 1.32's aggregated namespace roles: what `admin`, `edit` and `view` take in from
//! `system:aggregate-to-*`, rule by rule in upstream's order.

use super::vocabulary::*;

/// Kubernetes' `system:aggregate-to-admin`: what `admin` has beyond `edit`.
pub(super) const AGGREGATE_TO_ADMIN: &[Rule] = &[
    (K8S_AUTHZ, &["localsubjectaccessreviews"], CREATE),
    (RBAC, &["roles", "rolebindings"], READ_WRITE),
];

/// Kubernetes' `system:aggregate-to-edit`. Endpoints are not written (CVE-2021-25740), quota
/// and limits are only read (through `view`); leases are read and written.
pub(super) const AGGREGATE_TO_EDIT: &[Rule] = &[
    (
        CORE,
        &[
            "pods/attach",
            "pods/proxy",
            "pods/exec",
            "pods/portforward",
            "secrets",
            "services/proxy",
        ],
        READ,
    ),
    (CORE, &["serviceaccounts"], &["impersonate"]),
    (
        CORE,
        &[
            "pods",
            "pods/attach",
            "pods/proxy",
            "pods/exec",
            "pods/portforward",
        ],
        WRITE,
    ),
    (CORE, &["pods/eviction"], CREATE),
    (
        CORE,
        &[
            "replicationcontrollers",
            "replicationcontrollers/scale",
            "serviceaccounts",
            "services",
            "services/proxy",
            "persistentvolumeclaims",
            "configmaps",
            "secrets",
            "events",
        ],
        WRITE,
    ),
    (CORE, &["serviceaccounts/token"], CREATE),
    (
        APPS,
        &[
            "statefulsets",
            "statefulsets/scale",
            "daemonsets",
            "deployments",
            "deployments/scale",
            "deployments/rollback",
            "replicasets",
            "replicasets/scale",
        ],
        WRITE,
    ),
    (AUTOSCALING, &["horizontalpodautoscalers"], WRITE),
    (BATCH, &["jobs", "cronjobs"], WRITE),
    (
        EXTENSIONS,
        &[
            "daemonsets",
            "deployments",
            "deployments/scale",
            "deployments/rollback",
            "ingresses",
            "replicasets",
            "replicasets/scale",
            "replicationcontrollers/scale",
            "networkpolicies",
        ],
        WRITE,
    ),
    (POLICY, &["poddisruptionbudgets"], WRITE),
    (NETWORKING, &["networkpolicies", "ingresses"], WRITE),
    (COORDINATION, &["leases"], READ_WRITE),
];

/// Kubernetes' `system:aggregate-to-view`: no secrets, no RBAC objects, no leases.
pub(super) const AGGREGATE_TO_VIEW: &[Rule] = &[
    (
        CORE,
        &[
            "pods",
            "replicationcontrollers",
            "replicationcontrollers/scale",
            "serviceaccounts",
            "services",
            "services/status",
            "endpoints",
            "persistentvolumeclaims",
            "persistentvolumeclaims/status",
            "configmaps",
        ],
        READ,
    ),
    (
        CORE,
        &[
            "limitranges",
            "resourcequotas",
            "bindings",
            "events",
            "pods/status",
            "resourcequotas/status",
            "namespaces/status",
            "replicationcontrollers/status",
            "pods/log",
        ],
        READ,
    ),
    // Reading namespaces in a namespace reads that namespace only.
    (CORE, &["namespaces"], READ),
    (DISCOVERY, &["endpointslices"], READ),
    (
        APPS,
        &[
            "controllerrevisions",
            "statefulsets",
            "statefulsets/status",
            "statefulsets/scale",
            "daemonsets",
            "daemonsets/status",
            "deployments",
            "deployments/status",
            "deployments/scale",
            "replicasets",
            "replicasets/status",
            "replicasets/scale",
        ],
        READ,
    ),
    (
        AUTOSCALING,
        &[
            "horizontalpodautoscalers",
            "horizontalpodautoscalers/status",
        ],
        READ,
    ),
    (
        BATCH,
        &["jobs", "cronjobs", "cronjobs/status", "jobs/status"],
        READ,
    ),
    (
        EXTENSIONS,
        &[
            "daemonsets",
            "daemonsets/status",
            "deployments",
            "deployments/scale",
            "deployments/status",
            "ingresses",
            "ingresses/status",
            "replicasets",
            "replicasets/scale",
            "replicasets/status",
            "replicationcontrollers/scale",
            "networkpolicies",
        ],
        READ,
    ),
    (
        POLICY,
        &["poddisruptionbudgets", "poddisruptionbudgets/status"],
        READ,
    ),
    (
        NETWORKING,
        &["networkpolicies", "ingresses", "ingresses/status"],
        READ,
    ),
];
