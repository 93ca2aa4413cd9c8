//! The default RBAC policy every cluster starts with, as upstream's: `cluster-admin`; the
//! namespace roles `admin`, `edit` and `view`, aggregated (as Kubernetes 1.32 and OpenShift 4.19
//! have them) from `system:aggregate-to-*`, `system:openshift:aggregate-to-*`, the
//! `registry-*` roles and `system:image-builder`; OpenShift's `basic-user`, `self-provisioner`
//! and `cluster-reader`; and the `system:` roles for discovery and self-reviews, bound to the
//! virtual groups.
//!
//! The rules are upstream's, written out here as data in upstream's order. They name some
//! resources this server does not serve (`pods/exec`, `statefulsets`, OpenShift's legacy
//! core-group names...): upstream's roles name them, so ours do too, and a client reading the
//! roles sees what it would see on OpenShift.

use serde_json::{Value, json};

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

// Verbs, as upstream spells its verb lists.
const READ: &[&str] = &["get", "list", "watch"];
/// Every verb that changes objects.
const WRITE: &[&str] = &["create", "update", "patch", "delete", "deletecollection"];
const READ_WRITE: &[&str] = &[
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
];
const CREATE: &[&str] = &["create"];
const GET: &[&str] = &["get"];
const UPDATE: &[&str] = &["update"];
const GET_UPDATE: &[&str] = &["get", "update"];
const LIST_WATCH: &[&str] = &["list", "watch"];

// API groups. OpenShift's roles name each OpenShift group together with the core group, where
// its resources lived before API groups (the "legacy" group).
const CORE: &[&str] = &[""];
const APPS: &[&str] = &["apps"];
const AUTOSCALING: &[&str] = &["autoscaling"];
const BATCH: &[&str] = &["batch"];
const EXTENSIONS: &[&str] = &["extensions"];
const POLICY: &[&str] = &["policy"];
const NETWORKING: &[&str] = &["networking.k8s.io"];
const COORDINATION: &[&str] = &["coordination.k8s.io"];
const DISCOVERY: &[&str] = &["discovery.k8s.io"];
const K8S_AUTHZ: &[&str] = &["authorization.k8s.io"];
const K8S_AUTHN: &[&str] = &["authentication.k8s.io"];
const RBAC: &[&str] = &[RBAC_GROUP];
const ADMISSION: &[&str] = &["admissionregistration.k8s.io"];
const API_EXTENSIONS: &[&str] = &["apiextensions.k8s.io"];
const API_REGISTRATION: &[&str] = &["apiregistration.k8s.io"];
const EVENTS: &[&str] = &["events.k8s.io"];
const NODE: &[&str] = &["node.k8s.io"];
const STORAGE: &[&str] = &["storage.k8s.io"];
const SCHEDULING: &[&str] = &["scheduling.k8s.io"];
const CERTIFICATES: &[&str] = &["certificates.k8s.io"];
const CONFIG: &[&str] = &["config.openshift.io"];
const OS_AUTHZ: &[&str] = &["authorization.openshift.io", ""];
const OS_BUILD: &[&str] = &["build.openshift.io", ""];
const BUILD_ONLY: &[&str] = &["build.openshift.io"];
const OS_APPS: &[&str] = &["apps.openshift.io", ""];
const OS_IMAGE: &[&str] = &["image.openshift.io", ""];
const OS_PROJECT: &[&str] = &["project.openshift.io", ""];
const OS_QUOTA: &[&str] = &["quota.openshift.io", ""];
const OS_ROUTE: &[&str] = &["route.openshift.io", ""];
const OS_TEMPLATE: &[&str] = &["template.openshift.io", ""];
const OS_USER: &[&str] = &["user.openshift.io", ""];
const OS_OAUTH: &[&str] = &["oauth.openshift.io", ""];
const OAUTH_ONLY: &[&str] = &["oauth.openshift.io"];
const OS_NETWORK: &[&str] = &["network.openshift.io", ""];
const OS_SECURITY: &[&str] = &["security.openshift.io", ""];
const SECURITY_ONLY: &[&str] = &["security.openshift.io"];

/// One rule as data: API groups, resources (a subresource as `resource/subresource`), verbs.
type Rule = (
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
);

/// Kubernetes' `system:aggregate-to-admin`: what `admin` has beyond `edit`.
const AGGREGATE_TO_ADMIN: &[Rule] = &[
    (K8S_AUTHZ, &["localsubjectaccessreviews"], CREATE),
    (RBAC, &["roles", "rolebindings"], READ_WRITE),
];

/// Kubernetes' `system:aggregate-to-edit`. Endpoints are not written (CVE-2021-25740), quota
/// and limits are only read (through `view`); leases are read and written.
const AGGREGATE_TO_EDIT: &[Rule] = &[
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
const AGGREGATE_TO_VIEW: &[Rule] = &[
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

/// OpenShift's `system:openshift:aggregate-to-admin`.
const OPENSHIFT_AGGREGATE_TO_ADMIN: &[Rule] = &[
    (OS_AUTHZ, &["roles", "rolebindings"], READ_WRITE),
    (
        OS_AUTHZ,
        &[
            "localresourceaccessreviews",
            "localsubjectaccessreviews",
            "subjectrulesreviews",
        ],
        CREATE,
    ),
    (
        OS_SECURITY,
        &[
            "podsecuritypolicysubjectreviews",
            "podsecuritypolicyselfsubjectreviews",
            "podsecuritypolicyreviews",
        ],
        CREATE,
    ),
    (OS_AUTHZ, &["rolebindingrestrictions"], READ),
    (
        OS_BUILD,
        &["builds", "buildconfigs", "buildconfigs/webhooks"],
        READ_WRITE,
    ),
    (OS_BUILD, &["builds/log"], READ),
    (
        OS_BUILD,
        &[
            "buildconfigs/instantiate",
            "buildconfigs/instantiatebinary",
            "builds/clone",
        ],
        CREATE,
    ),
    (OS_BUILD, &["builds/details"], UPDATE),
    (BUILD_ONLY, &["jenkins"], &["admin", "edit", "view"]),
    (
        OS_APPS,
        &["deploymentconfigs", "deploymentconfigs/scale"],
        READ_WRITE,
    ),
    (
        OS_APPS,
        &[
            "deploymentconfigrollbacks",
            "deploymentconfigs/rollback",
            "deploymentconfigs/instantiate",
        ],
        CREATE,
    ),
    (
        OS_APPS,
        &["deploymentconfigs/log", "deploymentconfigs/status"],
        READ,
    ),
    (
        OS_IMAGE,
        &[
            "imagestreams",
            "imagestreammappings",
            "imagestreamtags",
            "imagetags",
            "imagestreamimages",
            "imagestreams/secrets",
        ],
        READ_WRITE,
    ),
    (OS_IMAGE, &["imagestreams/status"], READ),
    (OS_IMAGE, &["imagestreams/layers"], GET_UPDATE),
    (OS_IMAGE, &["imagestreamimports"], CREATE),
    (
        OS_PROJECT,
        &["projects"],
        &["get", "patch", "update", "delete"],
    ),
    (OS_QUOTA, &["appliedclusterresourcequotas"], READ),
    (OS_ROUTE, &["routes"], READ_WRITE),
    (OS_ROUTE, &["routes/custom-host"], CREATE),
    (OS_ROUTE, &["routes/status"], READ),
    // An admin may run routers, which write the routes' status.
    (OS_ROUTE, &["routes/status"], UPDATE),
    (
        OS_TEMPLATE,
        &[
            "templates",
            "templateconfigs",
            "processedtemplates",
            "templateinstances",
        ],
        READ_WRITE,
    ),
    (NETWORKING, &["networkpolicies"], READ_WRITE),
    (OS_BUILD, &["buildlogs"], READ_WRITE),
    (CORE, &["resourcequotausages"], READ),
    (
        OS_AUTHZ,
        &["resourceaccessreviews", "subjectaccessreviews"],
        CREATE,
    ),
];

/// OpenShift's `system:openshift:aggregate-to-edit`.
const OPENSHIFT_AGGREGATE_TO_EDIT: &[Rule] = &[
    (
        OS_BUILD,
        &["builds", "buildconfigs", "buildconfigs/webhooks"],
        READ_WRITE,
    ),
    (OS_BUILD, &["builds/log"], READ),
    (
        OS_BUILD,
        &[
            "buildconfigs/instantiate",
            "buildconfigs/instantiatebinary",
            "builds/clone",
        ],
        CREATE,
    ),
    (OS_BUILD, &["builds/details"], UPDATE),
    (BUILD_ONLY, &["jenkins"], &["edit", "view"]),
    (
        OS_APPS,
        &["deploymentconfigs", "deploymentconfigs/scale"],
        READ_WRITE,
    ),
    (
        OS_APPS,
        &[
            "deploymentconfigrollbacks",
            "deploymentconfigs/rollback",
            "deploymentconfigs/instantiate",
        ],
        CREATE,
    ),
    (
        OS_APPS,
        &["deploymentconfigs/log", "deploymentconfigs/status"],
        READ,
    ),
    (
        OS_IMAGE,
        &[
            "imagestreams",
            "imagestreammappings",
            "imagestreamtags",
            "imagetags",
            "imagestreamimages",
            "imagestreams/secrets",
        ],
        READ_WRITE,
    ),
    (OS_IMAGE, &["imagestreams/status"], READ),
    (OS_IMAGE, &["imagestreams/layers"], GET_UPDATE),
    (OS_IMAGE, &["imagestreamimports"], CREATE),
    (OS_PROJECT, &["projects"], GET),
    (OS_QUOTA, &["appliedclusterresourcequotas"], READ),
    (OS_ROUTE, &["routes"], READ_WRITE),
    (OS_ROUTE, &["routes/custom-host"], CREATE),
    (OS_ROUTE, &["routes/status"], READ),
    (
        OS_TEMPLATE,
        &[
            "templates",
            "templateconfigs",
            "processedtemplates",
            "templateinstances",
        ],
        READ_WRITE,
    ),
    (NETWORKING, &["networkpolicies"], READ_WRITE),
    (OS_BUILD, &["buildlogs"], READ_WRITE),
    (CORE, &["resourcequotausages"], READ),
];

/// OpenShift's `system:openshift:aggregate-to-view`.
const OPENSHIFT_AGGREGATE_TO_VIEW: &[Rule] = &[
    (
        OS_BUILD,
        &["builds", "buildconfigs", "buildconfigs/webhooks"],
        READ,
    ),
    (OS_BUILD, &["builds/log"], READ),
    (BUILD_ONLY, &["jenkins"], &["view"]),
    (
        OS_APPS,
        &["deploymentconfigs", "deploymentconfigs/scale"],
        READ,
    ),
    (
        OS_APPS,
        &["deploymentconfigs/log", "deploymentconfigs/status"],
        READ,
    ),
    (
        OS_IMAGE,
        &[
            "imagestreams",
            "imagestreammappings",
            "imagestreamtags",
            "imagetags",
            "imagestreamimages",
        ],
        READ,
    ),
    (OS_IMAGE, &["imagestreams/status"], READ),
    (OS_PROJECT, &["projects"], GET),
    (OS_QUOTA, &["appliedclusterresourcequotas"], READ),
    (OS_ROUTE, &["routes"], READ),
    (OS_ROUTE, &["routes/status"], READ),
    (
        OS_TEMPLATE,
        &[
            "templates",
            "templateconfigs",
            "processedtemplates",
            "templateinstances",
        ],
        READ,
    ),
    (OS_BUILD, &["buildlogs"], READ),
    (CORE, &["resourcequotausages"], READ),
];

/// The image stream resources the `registry-*` roles grant.
const REGISTRY_IMAGE_RESOURCES: &[&str] = &[
    "imagestreamimages",
    "imagestreammappings",
    "imagestreams",
    "imagestreams/secrets",
    "imagestreamtags",
    "imagetags",
];

/// OpenShift's `registry-admin` (aggregated into `admin`).
const REGISTRY_ADMIN: &[Rule] = &[
    (CORE, &["serviceaccounts", "secrets"], READ_WRITE),
    (OS_IMAGE, REGISTRY_IMAGE_RESOURCES, READ_WRITE),
    (OS_IMAGE, &["imagestreamimports"], CREATE),
    (OS_IMAGE, &["imagestreams/layers"], GET_UPDATE),
    (OS_AUTHZ, &["rolebindings", "roles"], READ_WRITE),
    (RBAC, &["roles", "rolebindings"], READ_WRITE),
    (
        OS_AUTHZ,
        &[
            "localresourceaccessreviews",
            "localsubjectaccessreviews",
            "subjectrulesreviews",
        ],
        CREATE,
    ),
    (K8S_AUTHZ, &["localsubjectaccessreviews"], CREATE),
    (CORE, &["namespaces"], GET),
    (OS_PROJECT, &["projects"], &["get", "delete"]),
    (
        OS_AUTHZ,
        &["resourceaccessreviews", "subjectaccessreviews"],
        CREATE,
    ),
];

/// OpenShift's `registry-editor` (aggregated into `edit`).
const REGISTRY_EDITOR: &[Rule] = &[
    (CORE, &["serviceaccounts", "secrets"], READ_WRITE),
    (OS_IMAGE, REGISTRY_IMAGE_RESOURCES, READ_WRITE),
    (OS_IMAGE, &["imagestreamimports"], CREATE),
    (OS_IMAGE, &["imagestreams/layers"], GET_UPDATE),
    (CORE, &["namespaces"], GET),
    (OS_PROJECT, &["projects"], GET),
];

/// OpenShift's `registry-viewer` (aggregated into `view`): it may pull images.
const REGISTRY_VIEWER: &[Rule] = &[
    (
        OS_IMAGE,
        &[
            "imagestreamimages",
            "imagestreammappings",
            "imagestreams",
            "imagestreamtags",
            "imagetags",
        ],
        READ,
    ),
    (OS_IMAGE, &["imagestreams/layers"], GET),
    (CORE, &["namespaces"], GET),
    (OS_PROJECT, &["projects"], GET),
];

/// OpenShift's `system:image-builder`, what the `builder` service accounts are bound to (also
/// aggregated into `admin` and `edit`).
const IMAGE_BUILDER: &[Rule] = &[
    (OS_IMAGE, &["imagestreams/layers"], GET_UPDATE),
    // Pushing an image may create its image stream.
    (OS_IMAGE, &["imagestreams"], CREATE),
    (OS_BUILD, &["builds/details"], UPDATE),
    (OS_BUILD, &["builds"], GET),
];

/// OpenShift's `system:openshift:aggregate-to-basic-user` (what `basic-user` aggregates); the
/// user's own object is the rule with resourceNames, added in `objects`.
const AGGREGATE_TO_BASIC_USER: &[Rule] = &[
    (OS_PROJECT, &["projectrequests"], &["list"]),
    (OS_AUTHZ, &["clusterroles"], &["get", "list"]),
    (RBAC, &["clusterroles"], READ),
    (STORAGE, &["storageclasses"], &["get", "list"]),
    (OS_PROJECT, &["projects"], LIST_WATCH),
    (OS_AUTHZ, &["selfsubjectrulesreviews"], CREATE),
    (K8S_AUTHZ, &["selfsubjectaccessreviews"], CREATE),
];

/// OpenShift's `system:openshift:aggregate-to-cluster-reader`; `cluster-reader` also
/// aggregates everything aggregated into `view`. Reading every non-resource URL is added in
/// `objects`.
const AGGREGATE_TO_CLUSTER_READER: &[Rule] = &[
    (
        CORE,
        &[
            "componentstatuses",
            "nodes",
            "nodes/status",
            "persistentvolumeclaims/status",
            "persistentvolumes",
            "persistentvolumes/status",
            "pods/binding",
            "pods/eviction",
            "podtemplates",
            "securitycontextconstraints",
            "services/status",
        ],
        READ,
    ),
    (
        ADMISSION,
        &[
            "mutatingwebhookconfigurations",
            "validatingwebhookconfigurations",
        ],
        READ,
    ),
    (
        APPS,
        &[
            "statefulsets/status",
            "deployments/status",
            "controllerrevisions",
            "daemonsets/status",
            "replicasets/status",
        ],
        READ,
    ),
    (
        API_EXTENSIONS,
        &[
            "customresourcedefinitions",
            "customresourcedefinitions/status",
        ],
        READ,
    ),
    (
        API_REGISTRATION,
        &["apiservices", "apiservices/status"],
        READ,
    ),
    (AUTOSCALING, &["horizontalpodautoscalers/status"], READ),
    (BATCH, &["jobs/status", "cronjobs/status"], READ),
    (COORDINATION, &["leases"], READ),
    (EVENTS, &["events"], READ),
    (NETWORKING, &["ingresses/status"], READ),
    (NODE, &["runtimeclasses"], READ),
    (
        POLICY,
        &["podsecuritypolicies", "poddisruptionbudgets/status"],
        READ,
    ),
    (
        RBAC,
        &[
            "roles",
            "rolebindings",
            "clusterroles",
            "clusterrolebindings",
        ],
        READ,
    ),
    (
        STORAGE,
        &[
            "csidrivers",
            "csinodes",
            "storageclasses",
            "volumeattachments",
            "volumeattachments/status",
        ],
        READ,
    ),
    (SCHEDULING, &["priorityclasses"], READ),
    (
        CERTIFICATES,
        &[
            "certificatesigningrequests",
            "certificatesigningrequests/approval",
            "certificatesigningrequests/status",
        ],
        READ,
    ),
    (
        OS_AUTHZ,
        &[
            "clusterroles",
            "clusterrolebindings",
            "roles",
            "rolebindings",
            "rolebindingrestrictions",
        ],
        READ,
    ),
    (OS_BUILD, &["builds/details"], READ),
    (OS_IMAGE, &["images", "imagesignatures"], READ),
    (OS_IMAGE, &["imagestreams/layers"], GET),
    (OS_OAUTH, &["oauthclientauthorizations"], READ),
    // `get` comes from `view`.
    (OS_PROJECT, &["projects"], LIST_WATCH),
    (OS_PROJECT, &["projectrequests"], READ),
    (
        OS_QUOTA,
        &["clusterresourcequotas", "clusterresourcequotas/status"],
        READ,
    ),
    (
        OS_NETWORK,
        &[
            "clusternetworks",
            "egressnetworkpolicies",
            "hostsubnets",
            "netnamespaces",
        ],
        READ,
    ),
    (OS_SECURITY, &["securitycontextconstraints"], READ),
    (SECURITY_ONLY, &["rangeallocations"], READ),
    (
        OS_TEMPLATE,
        &["brokertemplateinstances", "templateinstances/status"],
        READ,
    ),
    (
        OS_USER,
        &["groups", "identities", "useridentitymappings", "users"],
        READ,
    ),
    (
        OS_AUTHZ,
        &[
            "localresourceaccessreviews",
            "localsubjectaccessreviews",
            "resourceaccessreviews",
            "selfsubjectrulesreviews",
            "subjectrulesreviews",
            "subjectaccessreviews",
        ],
        CREATE,
    ),
    (
        K8S_AUTHZ,
        &[
            "selfsubjectaccessreviews",
            "subjectaccessreviews",
            "selfsubjectrulesreviews",
            "localsubjectaccessreviews",
        ],
        CREATE,
    ),
    (K8S_AUTHN, &["tokenreviews"], CREATE),
    (
        OS_SECURITY,
        &[
            "podsecuritypolicysubjectreviews",
            "podsecuritypolicyselfsubjectreviews",
            "podsecuritypolicyreviews",
        ],
        CREATE,
    ),
    (CORE, &["nodes/metrics", "nodes/spec"], GET),
    // Node stats are asked for with POST, which reads.
    (CORE, &["nodes/stats"], &["get", "create"]),
];

/// The cluster config operator's `system:openshift:cluster-config-operator:cluster-reader`
/// (aggregated into `cluster-reader`).
const CONFIG_READER: &[Rule] = &[(
    CONFIG,
    &[
        "apiservers",
        "authentications",
        "builds",
        "clusteroperators",
        "clusterversions",
        "consoles",
        "dnses",
        "featuregates",
        "images",
        "infrastructures",
        "ingresses",
        "networks",
        "oauths",
        "projects",
        "proxies",
        "schedulers",
    ],
    READ,
)];

fn metadata(name: &str) -> Value {
    json!({
        "name": name,
        "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
        "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"},
    })
}

fn cluster_role(name: &str, rules: Vec<Value>) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": metadata(name), "rules": rules})
}

const AGGREGATE_LABEL: &str = "rbac.authorization.k8s.io/aggregate-to-";
const BASIC_USER_LABEL: &str = "authorization.openshift.io/aggregate-to-basic-user";

/// The label that aggregates a role into the aggregated role `name`.
fn aggregate_label(name: &str) -> String {
    format!("{AGGREGATE_LABEL}{name}")
}

/// `role` with each of `labels` set to "true".
fn labelled(mut role: Value, labels: &[String]) -> Value {
    for label in labels {
        role["metadata"]["labels"][label.as_str()] = json!("true");
    }
    role
}

/// A role that holds the rules of every role carrying one of `labels` (the aggregation
/// controller keeps them; `fill_aggregated` computes where they start).
fn aggregated(name: &str, labels: &[String]) -> Value {
    let mut role = cluster_role(name, Vec::new());
    let selectors: Vec<Value> = labels
        .iter()
        .map(|label| {
            let mut match_labels = serde_json::Map::new();
            match_labels.insert(label.clone(), json!("true"));
            json!({"matchLabels": match_labels})
        })
        .collect();
    role["aggregationRule"] = json!({"clusterRoleSelectors": selectors});
    role
}

/// Kubernetes' `system:aggregate-to-<name>`: the default rules of the aggregated role `name`.
fn aggregate_to(name: &str, rules: Vec<Value>) -> Value {
    labelled(
        cluster_role(&format!("system:aggregate-to-{name}"), rules),
        &[aggregate_label(name)],
    )
}

/// OpenShift's `system:openshift:aggregate-to-<name>`: what OpenShift adds to `name`.
fn openshift_aggregate_to(name: &str, rules: Vec<Value>) -> Value {
    labelled(
        cluster_role(&format!("system:openshift:aggregate-to-{name}"), rules),
        &[aggregate_label(name)],
    )
}

/// Whether a label selector of an aggregation rule (`matchLabels` only, as ours are) selects
/// an object with `labels`.
fn selects(selector: &Value, labels: &Value) -> bool {
    selector["matchLabels"]
        .as_object()
        .is_some_and(|m| m.iter().all(|(k, v)| labels.get(k.as_str()) == Some(v)))
}

/// Gives every aggregated role the rules the aggregation controller would give it: those of
/// the roles its selectors match, in name order, without repeats. Aggregated roles feed
/// others (`view` into `edit`, `edit` into `admin`), so this repeats until nothing changes.
fn fill_aggregated(objects: &mut [Value]) {
    for _ in 0..=objects.len() {
        let mut changed = false;
        for i in 0..objects.len() {
            let Some(selectors) = objects[i]["aggregationRule"]["clusterRoleSelectors"]
                .as_array()
                .cloned()
            else {
                continue;
            };
            let name = objects[i]["metadata"]["name"].clone();
            let mut sources: Vec<&Value> = objects
                .iter()
                .filter(|o| o["kind"] == "ClusterRole" && o["metadata"]["name"] != name)
                .filter(|o| {
                    selectors
                        .iter()
                        .any(|s| selects(s, &o["metadata"]["labels"]))
                })
                .collect();
            sources.sort_by(|a, b| {
                a["metadata"]["name"]
                    .as_str()
                    .cmp(&b["metadata"]["name"].as_str())
            });
            let mut rules: Vec<Value> = Vec::new();
            for rule in sources
                .iter()
                .flat_map(|o| o["rules"].as_array().into_iter().flatten())
            {
                if !rules.contains(rule) {
                    rules.push(rule.clone());
                }
            }
            let rules = Value::Array(rules);
            if objects[i]["rules"] != rules {
                objects[i]["rules"] = rules;
                changed = true;
            }
        }
        if !changed {
            return;
        }
    }
}

fn binding(name: &str, role: &str, groups: &[&str]) -> Value {
    let subjects: Vec<Value> = groups
        .iter()
        .map(|g| json!({"apiGroup": RBAC_GROUP, "kind": "Group", "name": g}))
        .collect();
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": metadata(name),
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role},
        "subjects": subjects,
    })
}

/// The controller manager's user (its client certificate's common name).
pub const CONTROLLER_MANAGER: &str = "system:openshift-controller-manager";

fn user_binding(name: &str, role: &str, user: &str) -> Value {
    let mut b = binding(name, role, &[]);
    b["subjects"] = json!([{"apiGroup": RBAC_GROUP, "kind": "User", "name": user}]);
    b
}

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> Value {
    json!({"apiGroups": groups, "resources": resources, "verbs": verbs})
}

/// The rules of a static list.
fn rules(list: &[Rule]) -> Vec<Value> {
    list.iter()
        .map(|(groups, resources, verbs)| rule(groups, resources, verbs))
        .collect()
}

fn paths(urls: &[&str], verbs: &[&str]) -> Value {
    json!({"nonResourceURLs": urls, "verbs": verbs})
}

/// Every default ClusterRole and ClusterRoleBinding.
pub fn objects() -> Vec<Value> {
    let mut basic_user = vec![json!({
        "apiGroups": OS_USER, "resources": ["users"], "resourceNames": ["~"], "verbs": ["get"],
    })];
    basic_user.extend(rules(AGGREGATE_TO_BASIC_USER));
    let mut cluster_reader = rules(AGGREGATE_TO_CLUSTER_READER);
    cluster_reader.push(paths(&["*"], GET));
    let public_info = ["/livez", "/readyz", "/healthz", "/version", "/version/"];
    let discovery = [
        "/livez",
        "/readyz",
        "/healthz",
        "/version",
        "/version/",
        "/openapi",
        "/openapi/*",
        "/api",
        "/api/*",
        "/apis",
        "/apis/*",
    ];
    let (admin, edit, view) = (
        aggregate_label("admin"),
        aggregate_label("edit"),
        aggregate_label("view"),
    );
    let mut objects = vec![
        cluster_role(
            "cluster-admin",
            vec![rule(&["*"], &["*"], &["*"]), paths(&["*"], &["*"])],
        ),
        // `edit` is part of `admin`, `view` part of `edit`.
        aggregated("admin", std::slice::from_ref(&admin)),
        labelled(
            aggregated("edit", std::slice::from_ref(&edit)),
            std::slice::from_ref(&admin),
        ),
        labelled(
            aggregated("view", std::slice::from_ref(&view)),
            std::slice::from_ref(&edit),
        ),
        aggregate_to("admin", rules(AGGREGATE_TO_ADMIN)),
        aggregate_to("edit", rules(AGGREGATE_TO_EDIT)),
        aggregate_to("view", rules(AGGREGATE_TO_VIEW)),
        openshift_aggregate_to("admin", rules(OPENSHIFT_AGGREGATE_TO_ADMIN)),
        openshift_aggregate_to("edit", rules(OPENSHIFT_AGGREGATE_TO_EDIT)),
        openshift_aggregate_to("view", rules(OPENSHIFT_AGGREGATE_TO_VIEW)),
        labelled(
            cluster_role("registry-admin", rules(REGISTRY_ADMIN)),
            std::slice::from_ref(&admin),
        ),
        labelled(
            cluster_role("registry-editor", rules(REGISTRY_EDITOR)),
            std::slice::from_ref(&edit),
        ),
        labelled(
            cluster_role("registry-viewer", rules(REGISTRY_VIEWER)),
            std::slice::from_ref(&view),
        ),
        aggregated("basic-user", &[BASIC_USER_LABEL.to_string()]),
        labelled(
            cluster_role("system:openshift:aggregate-to-basic-user", basic_user),
            &[BASIC_USER_LABEL.to_string()],
        ),
        cluster_role(
            "self-provisioner",
            vec![rule(OS_PROJECT, &["projectrequests"], CREATE)],
        ),
        aggregated(
            "cluster-reader",
            &[aggregate_label("cluster-reader"), aggregate_label("view")],
        ),
        openshift_aggregate_to("cluster-reader", cluster_reader),
        labelled(
            cluster_role(
                "system:openshift:cluster-config-operator:cluster-reader",
                rules(CONFIG_READER),
            ),
            &[aggregate_label("cluster-reader")],
        ),
        cluster_role("system:discovery", vec![paths(&discovery, GET)]),
        cluster_role("system:public-info-viewer", vec![paths(&public_info, GET)]),
        // OpenShift's: the OAuth server's metadata, read before logging in.
        cluster_role(
            "system:openshift:public-info-viewer",
            vec![paths(&["/.well-known", "/.well-known/*"], GET)],
        ),
        cluster_role(
            "system:auth-delegator",
            vec![
                rule(K8S_AUTHN, &["tokenreviews"], CREATE),
                rule(K8S_AUTHZ, &["subjectaccessreviews"], CREATE),
            ],
        ),
        // What the per-namespace bindings of the service-account controller grant.
        cluster_role(
            "system:image-puller",
            vec![rule(&["image.openshift.io"], &["imagestreams/layers"], GET)],
        ),
        labelled(
            cluster_role("system:image-builder", rules(IMAGE_BUILDER)),
            &[aggregate_label("admin"), aggregate_label("edit")],
        ),
        cluster_role(
            "system:deployer",
            vec![
                rule(CORE, &["replicationcontrollers"], READ_WRITE),
                rule(CORE, &["pods", "pods/log"], READ),
                rule(CORE, &["events"], &["create", "list"]),
            ],
        ),
        cluster_role(
            "system:basic-user",
            vec![
                rule(
                    K8S_AUTHZ,
                    &["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                    CREATE,
                ),
                rule(K8S_AUTHN, &["selfsubjectreviews"], CREATE),
            ],
        ),
        // OAuth tokens are named by their hash: knowing the name means holding the token, so
        // anyone may delete one (`oc logout`).
        cluster_role(
            "system:oauth-token-deleter",
            vec![rule(
                OS_OAUTH,
                &["oauthaccesstokens", "oauthauthorizetokens"],
                &["delete"],
            )],
        ),
        // The authentication operator's: whoever logged in through OAuth sees and revokes
        // their own tokens.
        cluster_role(
            "system:openshift:useroauthaccesstoken-manager",
            vec![rule(
                OAUTH_ONLY,
                &["useroauthaccesstokens"],
                &["get", "list", "watch", "delete"],
            )],
        ),
        binding("cluster-admin", "cluster-admin", &[auth::rbac::MASTERS]),
        user_binding(CONTROLLER_MANAGER, "cluster-admin", CONTROLLER_MANAGER),
        // Upstream binds discovery to authenticated users only; here anyone may discover.
        binding(
            "system:discovery",
            "system:discovery",
            &[auth::rbac::AUTHENTICATED, "system:unauthenticated"],
        ),
        binding(
            "system:public-info-viewer",
            "system:public-info-viewer",
            &[auth::rbac::AUTHENTICATED, "system:unauthenticated"],
        ),
        binding(
            "system:openshift:public-info-viewer",
            "system:openshift:public-info-viewer",
            &[auth::rbac::AUTHENTICATED, "system:unauthenticated"],
        ),
        binding(
            "system:basic-user",
            "system:basic-user",
            &[auth::rbac::AUTHENTICATED],
        ),
        binding("basic-users", "basic-user", &[auth::rbac::AUTHENTICATED]),
        binding(
            "system:oauth-token-deleters",
            "system:oauth-token-deleter",
            &[auth::rbac::AUTHENTICATED, "system:unauthenticated"],
        ),
        binding(
            "system:openshift:useroauthaccesstoken-manager",
            "system:openshift:useroauthaccesstoken-manager",
            &["system:authenticated:oauth"],
        ),
        binding(
            "self-provisioners",
            "self-provisioner",
            &["system:authenticated:oauth"],
        ),
        binding(
            "cluster-readers",
            "cluster-reader",
            &["system:cluster-readers"],
        ),
    ];
    fill_aggregated(&mut objects);
    objects
}

#[cfg(test)]
mod tests {
    use super::*;
    use api::scheme::Scheme;
    use auth::rbac::{Attributes, Policy, UserInfo};
    use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};

    const NS: &str = "p";

    fn role(objects: &[Value], name: &str) -> Value {
        objects
            .iter()
            .find(|o| o["kind"] == "ClusterRole" && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no ClusterRole {name}"))
            .clone()
    }

    /// The default policy, with `alice` admin, `eve` editor and `vic` viewer of `NS`.
    fn policy() -> Policy {
        let objects = objects();
        let of_kind = |kind: &str| -> Vec<Value> {
            objects
                .iter()
                .filter(|o| o["kind"] == kind)
                .cloned()
                .collect()
        };
        let cluster_roles = of_kind("ClusterRole")
            .into_iter()
            .map(|o| serde_json::from_value::<ClusterRole>(o).unwrap());
        let cluster_bindings = of_kind("ClusterRoleBinding")
            .into_iter()
            .map(|o| serde_json::from_value::<ClusterRoleBinding>(o).unwrap());
        let bindings = [("admin", "alice"), ("edit", "eve"), ("view", "vic")]
            .into_iter()
            .map(|(role, user)| {
                serde_json::from_value::<RoleBinding>(json!({
                    "metadata": {"name": role, "namespace": NS},
                    "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role},
                    "subjects": [{"apiGroup": RBAC_GROUP, "kind": "User", "name": user}],
                }))
                .unwrap()
            });
        Policy::new(
            cluster_roles,
            Vec::<Role>::new(),
            cluster_bindings,
            bindings,
        )
    }

    fn user(name: &str, groups: &[&str]) -> UserInfo {
        UserInfo {
            name: name.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            ..Default::default()
        }
    }

    /// Whether `name` (an authenticated user) may `verb` `resource` (`resource/subresource`)
    /// of `group` in `NS`.
    fn can(p: &Policy, name: &str, verb: &str, group: &str, resource: &str) -> bool {
        let (resource, subresource) = resource.split_once('/').unwrap_or((resource, ""));
        let attrs = Attributes {
            verb: verb.into(),
            namespace: NS.into(),
            api_group: group.into(),
            resource: resource.into(),
            subresource: subresource.into(),
            resource_request: true,
            ..Default::default()
        };
        p.authorize(&user(name, &[auth::rbac::AUTHENTICATED]), &attrs)
            .allowed()
    }

    const CHANGES: &[&str] = &["create", "update", "patch", "delete", "deletecollection"];

    #[test]
    fn aggregated_roles_start_with_the_rules_of_their_sources() {
        let objects = objects();
        let rules = |name: &str| role(&objects, name)["rules"].as_array().unwrap().clone();
        let contains_all = |outer: &str, inner: &str| {
            let outer = rules(outer);
            rules(inner).iter().all(|r| outer.contains(r))
        };
        for (aggregated, sources) in [
            (
                "view",
                &[
                    "system:aggregate-to-view",
                    "system:openshift:aggregate-to-view",
                    "registry-viewer",
                ][..],
            ),
            (
                "edit",
                &[
                    "view",
                    "system:aggregate-to-edit",
                    "system:openshift:aggregate-to-edit",
                    "registry-editor",
                    "system:image-builder",
                ][..],
            ),
            (
                "admin",
                &[
                    "edit",
                    "system:aggregate-to-admin",
                    "system:openshift:aggregate-to-admin",
                    "registry-admin",
                    "system:image-builder",
                ][..],
            ),
            (
                "cluster-reader",
                &[
                    "system:aggregate-to-view",
                    "system:openshift:aggregate-to-view",
                    "system:openshift:aggregate-to-cluster-reader",
                    "system:openshift:cluster-config-operator:cluster-reader",
                ][..],
            ),
            (
                "basic-user",
                &["system:openshift:aggregate-to-basic-user"][..],
            ),
        ] {
            for source in sources {
                assert!(
                    contains_all(aggregated, source),
                    "{aggregated} lacks rules of {source}"
                );
            }
        }
        // `edit` is no part of `view`, nor `admin` of `edit`.
        assert!(!contains_all("view", "edit"));
        assert!(!contains_all("edit", "admin"));
        assert_eq!(
            role(&objects, "edit")["metadata"]["labels"][aggregate_label("admin")],
            "true"
        );
        assert_eq!(
            role(&objects, "view")["metadata"]["labels"][aggregate_label("edit")],
            "true"
        );
    }

    #[test]
    fn admin_reads_quota_and_limits_but_does_not_change_them() {
        let p = policy();
        for user in ["alice", "eve", "vic"] {
            for resource in ["resourcequotas", "limitranges", "resourcequotas/status"] {
                for verb in READ {
                    assert!(
                        can(&p, user, verb, "", resource),
                        "{user} {verb} {resource}"
                    );
                }
                for verb in CHANGES {
                    assert!(
                        !can(&p, user, verb, "", resource),
                        "{user} {verb} {resource}"
                    );
                }
            }
        }
    }

    #[test]
    fn endpoints_are_read_only_in_namespace_roles() {
        // CVE-2021-25740: endpoints written by hand can point a service anywhere.
        let p = policy();
        for user in ["alice", "eve", "vic"] {
            assert!(can(&p, user, "get", "", "endpoints"), "{user}");
            assert!(can(&p, user, "watch", "", "endpoints"), "{user}");
            for verb in CHANGES {
                assert!(!can(&p, user, verb, "", "endpoints"), "{user} {verb}");
            }
        }
    }

    #[test]
    fn editors_manage_leases_and_viewers_do_not_see_them() {
        let p = policy();
        for user in ["alice", "eve"] {
            for verb in READ_WRITE {
                assert!(
                    can(&p, user, verb, "coordination.k8s.io", "leases"),
                    "{user} {verb}"
                );
            }
        }
        assert!(!can(&p, "vic", "get", "coordination.k8s.io", "leases"));
    }

    #[test]
    fn admins_grant_roles_in_their_namespace_and_editors_do_not() {
        let p = policy();
        for resource in ["rolebindings", "roles"] {
            expect(
                &p,
                &[
                    ("alice", "create", RBAC_GROUP, resource, true),
                    ("alice", "delete", RBAC_GROUP, resource, true),
                    ("eve", "create", RBAC_GROUP, resource, false),
                    ("eve", "get", RBAC_GROUP, resource, false),
                    ("vic", "get", RBAC_GROUP, resource, false),
                ],
            );
        }
        let (k8s, os) = ("authorization.k8s.io", "authorization.openshift.io");
        expect(
            &p,
            &[
                ("alice", "create", k8s, "localsubjectaccessreviews", true),
                ("alice", "create", os, "localresourceaccessreviews", true),
                ("eve", "create", k8s, "localsubjectaccessreviews", false),
            ],
        );
    }

    /// Checks each `(user, verb, group, resource, allowed)` in `NS`.
    fn expect(p: &Policy, cases: &[(&str, &str, &str, &str, bool)]) {
        for &(user, verb, group, resource, allowed) in cases {
            assert_eq!(
                can(p, user, verb, group, resource),
                allowed,
                "{user} {verb} {group} {resource}"
            );
        }
    }

    #[test]
    fn viewers_read_workloads_but_not_secrets() {
        let p = policy();
        let dc = "apps.openshift.io";
        for verb in READ {
            assert!(!can(&p, "vic", verb, "", "secrets"), "{verb}");
            assert!(can(&p, "eve", verb, "", "secrets"), "{verb}");
        }
        expect(
            &p,
            &[
                ("eve", "create", "", "secrets", true),
                ("vic", "watch", dc, "deploymentconfigs", true),
                ("vic", "create", dc, "deploymentconfigs", false),
                ("vic", "get", "", "pods/log", true),
                ("vic", "get", "apps", "deployments/scale", true),
                ("vic", "update", "apps", "deployments/scale", false),
                ("vic", "get", "project.openshift.io", "projects", true),
                ("vic", "delete", "project.openshift.io", "projects", false),
            ],
        );
    }

    #[test]
    fn openshift_powers_of_the_namespace_roles() {
        let image = "image.openshift.io";
        let route = "route.openshift.io";
        let project = "project.openshift.io";
        let dc = "apps.openshift.io";
        expect(
            &policy(),
            &[
                // Editors push images and write routes, builds and templates.
                ("eve", "update", image, "imagestreams/layers", true),
                ("eve", "create", route, "routes", true),
                ("eve", "create", "build.openshift.io", "builds", true),
                ("eve", "create", "template.openshift.io", "templates", true),
                ("eve", "update", dc, "deploymentconfigs/scale", true),
                ("eve", "create", "", "serviceaccounts/token", true),
                // Only admins write a route's status (they may run routers) or delete the
                // project.
                ("eve", "update", route, "routes/status", false),
                ("alice", "update", route, "routes/status", true),
                ("eve", "delete", project, "projects", false),
                ("alice", "delete", project, "projects", true),
                // Other status is the system's to write.
                ("alice", "update", image, "imagestreams/status", false),
                ("alice", "update", "apps", "deployments/status", false),
                // Viewers may pull (registry-viewer), not push.
                ("vic", "get", image, "imagestreams/layers", true),
                ("vic", "update", image, "imagestreams/layers", false),
            ],
        );
    }

    #[test]
    fn namespace_roles_cover_the_served_kinds() {
        let p = policy();
        let scheme = Scheme::builtin();
        let unseen = ["secrets", "leases", "roles", "rolebindings"];
        let unwritten = [
            "endpoints",
            "limitranges",
            "resourcequotas",
            "roles",
            "rolebindings",
        ];
        for def in scheme.resources() {
            if !def.namespaced() || !def.allows("get") {
                continue;
            }
            let plural = def.plural;
            assert_eq!(
                can(&p, "vic", "list", def.group, plural),
                !unseen.contains(&plural),
                "view lists {plural}"
            );
            assert_eq!(
                can(&p, "eve", "create", def.group, plural),
                !unwritten.contains(&plural),
                "edit creates {plural}"
            );
            assert_eq!(
                can(&p, "alice", "update", def.group, plural),
                !["endpoints", "limitranges", "resourcequotas"].contains(&plural),
                "admin updates {plural}"
            );
        }
    }

    #[test]
    fn everyone_discovers_and_oauth_users_manage_their_tokens() {
        let p = policy();
        let anonymous = user("system:anonymous", &["system:unauthenticated"]);
        for (path, allowed) in [
            ("/api", true),
            ("/readyz", true),
            ("/.well-known/oauth-authorization-server", true),
            ("/metrics", false),
        ] {
            let attrs = Attributes {
                verb: "get".into(),
                path: path.into(),
                ..Default::default()
            };
            assert_eq!(p.authorize(&anonymous, &attrs).allowed(), allowed, "{path}");
        }
        let carol = user("carol", &[auth::rbac::AUTHENTICATED]);
        let oauth_carol = user(
            "carol",
            &[auth::rbac::AUTHENTICATED, "system:authenticated:oauth"],
        );
        let masters = user("root", &[auth::rbac::MASTERS]);
        let (users, projects, oauth) = (
            "user.openshift.io",
            "project.openshift.io",
            "oauth.openshift.io",
        );
        let (oc, tokens) = (&oauth_carol, "useroauthaccesstokens");
        for (who, verb, group, resource, name, allowed) in [
            (&carol, "get", users, "users", "~", true),
            (&carol, "get", users, "users", "bob", false),
            (&carol, "list", projects, "projects", "", true),
            (&carol, "create", projects, "projectrequests", "", false),
            (&carol, "list", oauth, tokens, "", false),
            (oc, "create", projects, "projectrequests", "", true),
            (oc, "list", oauth, tokens, "", true),
            (oc, "delete", oauth, tokens, "t", true),
            (&anonymous, "delete", oauth, "oauthaccesstokens", "t", true),
            (&anonymous, "get", oauth, "oauthaccesstokens", "t", false),
            (&masters, "delete", "", "nodes", "n", true),
        ] {
            let attrs = Attributes {
                verb: verb.into(),
                api_group: group.into(),
                resource: resource.into(),
                name: name.into(),
                resource_request: true,
                ..Default::default()
            };
            assert_eq!(
                p.authorize(who, &attrs).allowed(),
                allowed,
                "{} {verb} {resource} {name}",
                who.name
            );
        }
        assert!(objects().iter().any(|o| o["kind"] == "ClusterRoleBinding"
            && o["roleRef"]["name"] == "cluster-admin"
            && o["subjects"][0]["name"] == "system:masters"));
    }
}
