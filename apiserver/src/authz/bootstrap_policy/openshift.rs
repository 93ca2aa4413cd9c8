//! OpenShift 4.19's default roles, rule by rule in upstream's order: what its namespace roles
//! take in (`system:openshift:aggregate-to-*`, the `registry-*` roles, `system:image-builder`),
//! `basic-user`'s and `cluster-reader`'s sources, and the config operator's reader. (A table of
//! data: long, and clearest in one piece.)

use super::vocabulary::*;

/// OpenShift's `system:openshift:aggregate-to-admin`.
pub(super) const OPENSHIFT_AGGREGATE_TO_ADMIN: &[Rule] = &[
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
pub(super) const OPENSHIFT_AGGREGATE_TO_EDIT: &[Rule] = &[
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
pub(super) const OPENSHIFT_AGGREGATE_TO_VIEW: &[Rule] = &[
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
pub(super) const REGISTRY_IMAGE_RESOURCES: &[&str] = &[
    "imagestreamimages",
    "imagestreammappings",
    "imagestreams",
    "imagestreams/secrets",
    "imagestreamtags",
    "imagetags",
];

/// OpenShift's `registry-admin` (aggregated into `admin`).
pub(super) const REGISTRY_ADMIN: &[Rule] = &[
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
pub(super) const REGISTRY_EDITOR: &[Rule] = &[
    (CORE, &["serviceaccounts", "secrets"], READ_WRITE),
    (OS_IMAGE, REGISTRY_IMAGE_RESOURCES, READ_WRITE),
    (OS_IMAGE, &["imagestreamimports"], CREATE),
    (OS_IMAGE, &["imagestreams/layers"], GET_UPDATE),
    (CORE, &["namespaces"], GET),
    (OS_PROJECT, &["projects"], GET),
];

/// OpenShift's `registry-viewer` (aggregated into `view`): it may pull images.
pub(super) const REGISTRY_VIEWER: &[Rule] = &[
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
pub(super) const IMAGE_BUILDER: &[Rule] = &[
    (OS_IMAGE, &["imagestreams/layers"], GET_UPDATE),
    // Pushing an image may create its image stream.
    (OS_IMAGE, &["imagestreams"], CREATE),
    (OS_BUILD, &["builds/details"], UPDATE),
    (OS_BUILD, &["builds"], GET),
];

/// OpenShift's `system:image-signer`: who may attach signatures to images (granted with
/// `oc adm policy add-cluster-role-to-user system:image-signer <user>`).
pub(super) const IMAGE_SIGNER: &[Rule] = &[
    (OS_IMAGE, &["images", "imagestreams/layers"], GET),
    (OS_IMAGE, &["imagesignatures"], &["create", "delete"]),
];

/// OpenShift's `system:openshift:aggregate-to-basic-user` (what `basic-user` aggregates); the
/// user's own object is the rule with resourceNames, added in `objects`.
pub(super) const AGGREGATE_TO_BASIC_USER: &[Rule] = &[
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
pub(super) const AGGREGATE_TO_CLUSTER_READER: &[Rule] = &[
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
pub(super) const CONFIG_READER: &[Rule] = &[(
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
