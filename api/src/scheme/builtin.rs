//! The built-in resources: one entry per kind the server serves, with the verbs and
//! subresources they share.

use super::resource::{NameRule, ResourceDef, Scope, Subresource};
use crate::columns;
use crate::list_merge::ListMerge;

/// The verbs of an ordinary resource.
pub const ALL_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
const STATUS_VERBS: &[&str] = &["get", "patch", "update"];

const fn status() -> Subresource {
    Subresource {
        name: "status",
        group: "",
        version: "",
        kind: "",
        verbs: STATUS_VERBS,
    }
}

const fn scale() -> Subresource {
    Subresource {
        name: "scale",
        group: "autoscaling",
        version: "v1",
        kind: "Scale",
        verbs: STATUS_VERBS,
    }
}

const STATUS: &[Subresource] = &[status()];
const STATUS_SCALE: &[Subresource] = &[status(), scale()];
const NONE: &[Subresource] = &[];
const WORKLOAD_CONDITIONS: &[(&str, ListMerge)] = &[("status.conditions", ListMerge::Key("type"))];
const ALL: &[&str] = &["all"];

macro_rules! resource {
    ($group:literal / $version:literal, $kind:literal, $plural:literal, $singular:literal, $scope:ident,
     short: [$($short:literal),*], categories: $categories:expr, subresources: $subresources:expr) => {
        ResourceDef {
            group: $group,
            version: $version,
            kind: $kind,
            plural: $plural,
            singular: $singular,
            scope: Scope::$scope,
            verbs: ALL_VERBS,
            short_names: &[$($short),*],
            categories: $categories,
            subresources: $subresources,
            field_selectors: &[],
            pod_spec: None,
            merge_lists: &[],
            columns: &[],
            names: NameRule::Subdomain,
            stored: true,
        }
    };
}

/// Every built-in resource, grouped by API group in the order discovery lists them.
pub const BUILTIN: &[ResourceDef] = &[
    // core/v1
    resource!(""/"v1", "Namespace", "namespaces", "namespace", Cluster, short: ["ns"], categories: &[], subresources: &[
        status(),
        Subresource { name: "finalize", group: "", version: "", kind: "", verbs: &["update"] },
    ])
    .with_field_selectors(&["status.phase"])
    .with_names(NameRule::Label)
    .with_columns(columns::NAMESPACE),
    resource!(""/"v1", "ConfigMap", "configmaps", "configmap", Namespaced, short: ["cm"], categories: &[], subresources: NONE)
        .with_columns(columns::CONFIG_MAP),
    resource!(""/"v1", "Secret", "secrets", "secret", Namespaced, short: [], categories: &[], subresources: NONE)
        .with_field_selectors(&["type"])
        .with_columns(columns::SECRET),
    resource!(""/"v1", "ServiceAccount", "serviceaccounts", "serviceaccount", Namespaced, short: ["sa"], categories: &[], subresources: &[
        Subresource { name: "token", group: "authentication.k8s.io", version: "v1", kind: "TokenRequest", verbs: &["create"] },
    ])
        .with_columns(columns::SERVICE_ACCOUNT),
    resource!(""/"v1", "Service", "services", "service", Namespaced, short: ["svc"], categories: ALL, subresources: STATUS)
        .with_merge_lists(&[("spec.ports", ListMerge::Key("port"))])
        .with_columns(columns::SERVICE),
    resource!(""/"v1", "Endpoints", "endpoints", "endpoints", Namespaced, short: ["ep"], categories: &[], subresources: NONE)
        .with_columns(columns::ENDPOINTS),
    resource!(""/"v1", "Pod", "pods", "pod", Namespaced, short: ["po"], categories: ALL, subresources: &[
        status(),
        Subresource { name: "binding", group: "", version: "v1", kind: "Binding", verbs: &["create"] },
        Subresource { name: "log", group: "", version: "v1", kind: "Pod", verbs: &["get"] },
        Subresource { name: "exec", group: "", version: "v1", kind: "PodExecOptions", verbs: &["create", "get"] },
        Subresource { name: "attach", group: "", version: "v1", kind: "PodAttachOptions", verbs: &["create", "get"] },
        Subresource { name: "portforward", group: "", version: "v1", kind: "PodPortForwardOptions", verbs: &["create", "get"] },
        Subresource { name: "eviction", group: "policy", version: "v1", kind: "Eviction", verbs: &["create"] },
    ])
    .with_pod_spec("spec")
    .with_columns(columns::POD)
    .with_merge_lists(&[("status.conditions", ListMerge::Key("type"))])
    .with_field_selectors(&[
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    ]),
    resource!(""/"v1", "ReplicationController", "replicationcontrollers", "replicationcontroller", Namespaced, short: ["rc"], categories: ALL, subresources: STATUS_SCALE)
        .with_pod_spec("spec.template.spec")
        .with_merge_lists(WORKLOAD_CONDITIONS)
        .with_field_selectors(&["status.replicas"])
        .with_columns(columns::REPLICAS),
    resource!(""/"v1", "Event", "events", "event", Namespaced, short: ["ev"], categories: &[], subresources: NONE)
        .with_field_selectors(&[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ])
        .with_columns(columns::EVENT),
    resource!(""/"v1", "LimitRange", "limitranges", "limitrange", Namespaced, short: ["limits"], categories: &[], subresources: NONE)
        .with_columns(columns::CREATED),
    resource!(""/"v1", "ResourceQuota", "resourcequotas", "resourcequota", Namespaced, short: ["quota"], categories: &[], subresources: STATUS)
        .with_columns(columns::RESOURCE_QUOTA),
    resource!(""/"v1", "PersistentVolume", "persistentvolumes", "persistentvolume", Cluster, short: ["pv"], categories: &[], subresources: STATUS)
        .with_columns(columns::PERSISTENT_VOLUME),
    resource!(""/"v1", "PersistentVolumeClaim", "persistentvolumeclaims", "persistentvolumeclaim", Namespaced, short: ["pvc"], categories: &[], subresources: STATUS)
        .with_columns(columns::PERSISTENT_VOLUME_CLAIM),
    resource!(""/"v1", "Node", "nodes", "node", Cluster, short: ["no"], categories: &[], subresources: STATUS)
        .with_field_selectors(&["spec.unschedulable"])
        .with_columns(columns::NODE),
    resource!(""/"v1", "PodTemplate", "podtemplates", "podtemplate", Namespaced, short: [], categories: &[], subresources: NONE)
        .with_pod_spec("template.spec")
        .with_columns(columns::POD_TEMPLATE),
    // apps/v1
    resource!("apps"/"v1", "Deployment", "deployments", "deployment", Namespaced, short: ["deploy"], categories: ALL, subresources: STATUS_SCALE)
        .with_pod_spec("spec.template.spec")
        .with_merge_lists(WORKLOAD_CONDITIONS)
        .with_columns(columns::DEPLOYMENT),
    resource!("apps"/"v1", "ReplicaSet", "replicasets", "replicaset", Namespaced, short: ["rs"], categories: ALL, subresources: STATUS_SCALE)
        .with_pod_spec("spec.template.spec")
        .with_merge_lists(WORKLOAD_CONDITIONS)
        .with_field_selectors(&["status.replicas"])
        .with_columns(columns::REPLICAS),
    resource!("apps"/"v1", "StatefulSet", "statefulsets", "statefulset", Namespaced, short: ["sts"], categories: ALL, subresources: STATUS_SCALE)
        .with_pod_spec("spec.template.spec")
        .with_merge_lists(WORKLOAD_CONDITIONS)
        .with_columns(columns::STATEFUL_SET),
    resource!("apps"/"v1", "DaemonSet", "daemonsets", "daemonset", Namespaced, short: ["ds"], categories: ALL, subresources: STATUS)
        .with_pod_spec("spec.template.spec")
        .with_merge_lists(WORKLOAD_CONDITIONS)
        .with_columns(columns::DAEMON_SET),
    resource!("apps"/"v1", "ControllerRevision", "controllerrevisions", "controllerrevision", Namespaced, short: [], categories: &[], subresources: NONE)
        .with_columns(columns::CONTROLLER_REVISION),
    // autoscaling/v2 (stored) and v1 (converted at the store's boundary)
    resource!("autoscaling"/"v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", "horizontalpodautoscaler", Namespaced, short: ["hpa"], categories: ALL, subresources: STATUS)
        .with_merge_lists(WORKLOAD_CONDITIONS)
        .with_columns(columns::HORIZONTAL_POD_AUTOSCALER),
    resource!("autoscaling"/"v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers", "horizontalpodautoscaler", Namespaced, short: ["hpa"], categories: ALL, subresources: STATUS)
        .with_columns(columns::HORIZONTAL_POD_AUTOSCALER),
    // batch/v1
    resource!("batch"/"v1", "Job", "jobs", "job", Namespaced, short: [], categories: ALL, subresources: STATUS)
        .with_pod_spec("spec.template.spec")
        .with_merge_lists(WORKLOAD_CONDITIONS)
        .with_field_selectors(&["status.successful"])
    .with_columns(columns::JOB),
    resource!("batch"/"v1", "CronJob", "cronjobs", "cronjob", Namespaced, short: ["cj"], categories: ALL, subresources: STATUS)
        .with_pod_spec("spec.jobTemplate.spec.template.spec")
        .with_columns(columns::CRON_JOB),
    // networking.k8s.io/v1
    resource!("networking.k8s.io"/"v1", "Ingress", "ingresses", "ingress", Namespaced, short: ["ing"], categories: &[], subresources: STATUS)
        .with_columns(columns::INGRESS),
    resource!("networking.k8s.io"/"v1", "IngressClass", "ingressclasses", "ingressclass", Cluster, short: [], categories: &[], subresources: NONE)
        .with_columns(columns::INGRESS_CLASS),
    resource!("networking.k8s.io"/"v1", "NetworkPolicy", "networkpolicies", "networkpolicy", Namespaced, short: ["netpol"], categories: &[], subresources: NONE)
        .with_columns(columns::NETWORK_POLICY),
    // policy/v1
    resource!("policy"/"v1", "PodDisruptionBudget", "poddisruptionbudgets", "poddisruptionbudget", Namespaced, short: ["pdb"], categories: &[], subresources: STATUS)
        .with_merge_lists(WORKLOAD_CONDITIONS)
        .with_columns(columns::POD_DISRUPTION_BUDGET),
    // coordination.k8s.io/v1
    resource!("coordination.k8s.io"/"v1", "Lease", "leases", "lease", Namespaced, short: [], categories: &[], subresources: NONE)
        .with_columns(columns::LEASE),
    // events.k8s.io/v1: core Events (stored as such) under the newer schema
    resource!("events.k8s.io"/"v1", "Event", "events", "event", Namespaced, short: ["ev"], categories: &[], subresources: NONE)
        .with_field_selectors(&[
            "regarding.kind",
            "regarding.namespace",
            "regarding.name",
            "regarding.uid",
            "regarding.apiVersion",
            "regarding.resourceVersion",
            "regarding.fieldPath",
            "reason",
            "reportingController",
            "type",
        ])
        .with_columns(columns::EVENT),
    // discovery.k8s.io/v1
    resource!("discovery.k8s.io"/"v1", "EndpointSlice", "endpointslices", "endpointslice", Namespaced, short: [], categories: &[], subresources: NONE)
        .with_columns(columns::ENDPOINT_SLICE),
    // rbac.authorization.k8s.io/v1
    resource!("rbac.authorization.k8s.io"/"v1", "Role", "roles", "role", Namespaced, short: [], categories: &[], subresources: NONE)
        .with_names(NameRule::PathSegment)
        .with_columns(columns::CREATED),
    resource!("rbac.authorization.k8s.io"/"v1", "RoleBinding", "rolebindings", "rolebinding", Namespaced, short: [], categories: &[], subresources: NONE)
        .with_names(NameRule::PathSegment)
        .with_columns(columns::ROLE_BINDING),
    resource!("rbac.authorization.k8s.io"/"v1", "ClusterRole", "clusterroles", "clusterrole", Cluster, short: [], categories: &[], subresources: NONE)
        .with_names(NameRule::PathSegment)
        .with_columns(columns::CREATED),
    resource!("rbac.authorization.k8s.io"/"v1", "ClusterRoleBinding", "clusterrolebindings", "clusterrolebinding", Cluster, short: [], categories: &[], subresources: NONE)
        .with_names(NameRule::PathSegment)
        .with_columns(columns::ROLE_BINDING),
    // storage.k8s.io/v1
    resource!("storage.k8s.io"/"v1", "StorageClass", "storageclasses", "storageclass", Cluster, short: ["sc"], categories: &[], subresources: NONE)
        .with_columns(columns::STORAGE_CLASS),
    resource!("storage.k8s.io"/"v1", "CSIDriver", "csidrivers", "csidriver", Cluster, short: [], categories: &[], subresources: NONE)
        .with_columns(columns::CSI_DRIVER),
    resource!("storage.k8s.io"/"v1", "CSINode", "csinodes", "csinode", Cluster, short: [], categories: &[], subresources: NONE)
        .with_columns(columns::CSI_NODE),
    resource!("storage.k8s.io"/"v1", "CSIStorageCapacity", "csistoragecapacities", "csistoragecapacity", Namespaced, short: [], categories: &[], subresources: NONE)
        .with_columns(columns::CSI_STORAGE_CAPACITY),
    resource!("storage.k8s.io"/"v1", "VolumeAttachment", "volumeattachments", "volumeattachment", Cluster, short: [], categories: &[], subresources: STATUS)
        .with_columns(columns::VOLUME_ATTACHMENT),
    // authentication.k8s.io/v1, authorization.k8s.io/v1: reviews
    resource!("authentication.k8s.io"/"v1", "TokenReview", "tokenreviews", "tokenreview", Cluster, short: [], categories: &[], subresources: NONE)
        .review(),
    resource!("authentication.k8s.io"/"v1", "SelfSubjectReview", "selfsubjectreviews", "selfsubjectreview", Cluster, short: [], categories: &[], subresources: NONE)
        .review(),
    resource!("authorization.k8s.io"/"v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", "selfsubjectaccessreview", Cluster, short: [], categories: &[], subresources: NONE)
        .review(),
    resource!("authorization.k8s.io"/"v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews", "selfsubjectrulesreview", Cluster, short: [], categories: &[], subresources: NONE)
        .review(),
    resource!("authorization.k8s.io"/"v1", "SubjectAccessReview", "subjectaccessreviews", "subjectaccessreview", Cluster, short: [], categories: &[], subresources: NONE)
        .review(),
    resource!("authorization.k8s.io"/"v1", "LocalSubjectAccessReview", "localsubjectaccessreviews", "localsubjectaccessreview", Namespaced, short: [], categories: &[], subresources: NONE)
        .review(),
    resource!("authorization.openshift.io"/"v1", "ResourceAccessReview", "resourceaccessreviews", "resourceaccessreview", Cluster, short: [], categories: &[], subresources: NONE)
        .review(),
    resource!("authorization.openshift.io"/"v1", "LocalResourceAccessReview", "localresourceaccessreviews", "localresourceaccessreview", Namespaced, short: [], categories: &[], subresources: NONE)
        .review(),
    resource!("authorization.openshift.io"/"v1", "SubjectAccessReview", "subjectaccessreviews", "subjectaccessreview", Cluster, short: [], categories: &[], subresources: NONE)
        .review(),
    resource!("authorization.openshift.io"/"v1", "LocalSubjectAccessReview", "localsubjectaccessreviews", "localsubjectaccessreview", Namespaced, short: [], categories: &[], subresources: NONE)
        .review(),
    // admissionregistration.k8s.io/v1
    resource!("admissionregistration.k8s.io"/"v1", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations", "mutatingwebhookconfiguration", Cluster, short: [], categories: &["api-extensions"], subresources: NONE)
        .with_columns(columns::WEBHOOK_CONFIGURATION),
    resource!("admissionregistration.k8s.io"/"v1", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations", "validatingwebhookconfiguration", Cluster, short: [], categories: &["api-extensions"], subresources: NONE)
        .with_columns(columns::WEBHOOK_CONFIGURATION),
    resource!("admissionregistration.k8s.io"/"v1", "ValidatingAdmissionPolicy", "validatingadmissionpolicies", "validatingadmissionpolicy", Cluster, short: [], categories: &["api-extensions"], subresources: STATUS)
        .with_columns(columns::ADMISSION_POLICY),
    resource!("admissionregistration.k8s.io"/"v1", "ValidatingAdmissionPolicyBinding", "validatingadmissionpolicybindings", "validatingadmissionpolicybinding", Cluster, short: [], categories: &["api-extensions"], subresources: NONE)
        .with_columns(columns::ADMISSION_POLICY_BINDING),
    // certificates.k8s.io/v1
    resource!("certificates.k8s.io"/"v1", "CertificateSigningRequest", "certificatesigningrequests", "certificatesigningrequest", Cluster, short: ["csr"], categories: &[], subresources: &[
        status(),
        Subresource { name: "approval", group: "", version: "", kind: "", verbs: STATUS_VERBS },
    ])
        .with_field_selectors(&["spec.signerName"])
        .with_names(NameRule::PathSegment)
        .with_merge_lists(WORKLOAD_CONDITIONS)
        .with_columns(columns::CERTIFICATE_SIGNING_REQUEST),
    // scheduling.k8s.io/v1
    resource!("scheduling.k8s.io"/"v1", "PriorityClass", "priorityclasses", "priorityclass", Cluster, short: ["pc"], categories: &[], subresources: NONE)
        .with_columns(columns::PRIORITY_CLASS),
    // node.k8s.io/v1
    resource!("node.k8s.io"/"v1", "RuntimeClass", "runtimeclasses", "runtimeclass", Cluster, short: [], categories: &[], subresources: NONE)
        .with_columns(columns::RUNTIME_CLASS),
    // flowcontrol.apiserver.k8s.io/v1
    resource!("flowcontrol.apiserver.k8s.io"/"v1", "FlowSchema", "flowschemas", "flowschema", Cluster, short: [], categories: &[], subresources: STATUS)
        .with_merge_lists(WORKLOAD_CONDITIONS)
        .with_columns(columns::FLOW_SCHEMA),
    resource!("flowcontrol.apiserver.k8s.io"/"v1", "PriorityLevelConfiguration", "prioritylevelconfigurations", "prioritylevelconfiguration", Cluster, short: [], categories: &[], subresources: STATUS)
        .with_merge_lists(WORKLOAD_CONDITIONS)
        .with_columns(columns::PRIORITY_LEVEL_CONFIGURATION),
    // apiextensions.k8s.io/v1
    resource!("apiextensions.k8s.io"/"v1", "CustomResourceDefinition", "customresourcedefinitions", "customresourcedefinition", Cluster, short: ["crd", "crds"], categories: &["api-extensions"], subresources: STATUS)
        .with_merge_lists(WORKLOAD_CONDITIONS)
        .with_columns(columns::CREATED),
    // apiregistration.k8s.io/v1
    resource!("apiregistration.k8s.io"/"v1", "APIService", "apiservices", "apiservice", Cluster, short: [], categories: &["api-extensions"], subresources: STATUS)
        .with_names(NameRule::PathSegment)
        .with_merge_lists(WORKLOAD_CONDITIONS)
        .with_columns(columns::API_SERVICE),
    // OpenShift
    resource!("image.openshift.io"/"v1", "ImageStream", "imagestreams", "imagestream", Namespaced, short: ["is"], categories: ALL, subresources: &[
        status(),
        Subresource { name: "layers", group: "image.openshift.io", version: "v1", kind: "ImageStreamLayers", verbs: &["get"] },
        Subresource { name: "secrets", group: "", version: "v1", kind: "SecretList", verbs: &["get"] },
    ])
        .with_field_selectors(&["spec.dockerImageRepository", "status.dockerImageRepository"])
        .with_columns(columns::IMAGE_STREAM),
    resource!("image.openshift.io"/"v1", "Image", "images", "image", Cluster, short: [], categories: &[], subresources: NONE)
        .with_names(NameRule::PathSegment)
        .with_columns(columns::IMAGE),
    resource!("image.openshift.io"/"v1", "ImageStreamTag", "imagestreamtags", "imagestreamtag", Namespaced, short: ["istag"], categories: &[], subresources: NONE)
        .derived(&["create", "delete", "get", "list", "patch", "update"])
        .with_columns(columns::IMAGE_STREAM_TAG),
    resource!("image.openshift.io"/"v1", "ImageTag", "imagetags", "imagetag", Namespaced, short: ["itag"], categories: &[], subresources: NONE)
        .derived(&["create", "delete", "get", "list", "update"]),
    resource!("image.openshift.io"/"v1", "ImageStreamImage", "imagestreamimages", "imagestreamimage", Namespaced, short: ["isimage"], categories: &[], subresources: NONE)
        .derived(&["get"])
        .with_columns(columns::IMAGE_STREAM_IMAGE),
    resource!("image.openshift.io"/"v1", "ImageStreamMapping", "imagestreammappings", "imagestreammapping", Namespaced, short: [], categories: &[], subresources: NONE)
        .derived(&["create"]),
    resource!("image.openshift.io"/"v1", "ImageStreamImport", "imagestreamimports", "imagestreamimport", Namespaced, short: [], categories: &[], subresources: NONE)
        .derived(&["create"]),
    resource!("image.openshift.io"/"v1", "ImageSignature", "imagesignatures", "imagesignature", Cluster, short: [], categories: &[], subresources: NONE)
        .derived(&["create", "delete"])
        .with_names(NameRule::PathSegment),
    resource!("apps.openshift.io"/"v1", "DeploymentConfig", "deploymentconfigs", "deploymentconfig", Namespaced, short: ["dc"], categories: ALL, subresources: &[
        status(),
        Subresource { name: "scale", group: "extensions", version: "v1beta1", kind: "Scale", verbs: STATUS_VERBS },
        Subresource { name: "instantiate", group: "apps.openshift.io", version: "v1", kind: "DeploymentRequest", verbs: &["create"] },
        Subresource { name: "rollback", group: "apps.openshift.io", version: "v1", kind: "DeploymentConfigRollback", verbs: &["create"] },
        Subresource { name: "log", group: "apps.openshift.io", version: "v1", kind: "DeploymentLog", verbs: &["get"] },
    ])
    .with_pod_spec("spec.template.spec")
    .with_merge_lists(WORKLOAD_CONDITIONS)
        .with_columns(columns::DEPLOYMENT_CONFIG),
    resource!("build.openshift.io"/"v1", "BuildConfig", "buildconfigs", "buildconfig", Namespaced, short: ["bc"], categories: ALL, subresources: &[
        Subresource { name: "instantiate", group: "build.openshift.io", version: "v1", kind: "BuildRequest", verbs: &["create"] },
        Subresource { name: "instantiatebinary", group: "build.openshift.io", version: "v1", kind: "BinaryBuildRequestOptions", verbs: &["create"] },
        Subresource { name: "webhooks", group: "build.openshift.io", version: "v1", kind: "Build", verbs: &["create"] },
    ])
        .with_columns(columns::BUILD_CONFIG),
    resource!("build.openshift.io"/"v1", "Build", "builds", "build", Namespaced, short: [], categories: ALL, subresources: &[
        Subresource { name: "clone", group: "build.openshift.io", version: "v1", kind: "BuildRequest", verbs: &["create"] },
        Subresource { name: "details", group: "build.openshift.io", version: "v1", kind: "Build", verbs: &["update"] },
        Subresource { name: "log", group: "build.openshift.io", version: "v1", kind: "BuildLog", verbs: &["get"] },
    ])
        .with_columns(columns::BUILD),
    resource!("route.openshift.io"/"v1", "Route", "routes", "route", Namespaced, short: [], categories: ALL, subresources: STATUS)
        .with_columns(columns::ROUTE),
    resource!("template.openshift.io"/"v1", "Template", "templates", "template", Namespaced, short: [], categories: &[], subresources: NONE)
        .with_columns(columns::OPENSHIFT_TEMPLATE),
    resource!("template.openshift.io"/"v1", "Template", "processedtemplates", "processedtemplate", Namespaced, short: [], categories: &[], subresources: NONE)
        .derived(&["create"]),
    resource!("template.openshift.io"/"v1", "TemplateInstance", "templateinstances", "templateinstance", Namespaced, short: [], categories: &[], subresources: STATUS)
        .with_merge_lists(WORKLOAD_CONDITIONS),
    resource!("template.openshift.io"/"v1", "BrokerTemplateInstance", "brokertemplateinstances", "brokertemplateinstance", Cluster, short: [], categories: &[], subresources: NONE),
    resource!("security.openshift.io"/"v1", "SecurityContextConstraints", "securitycontextconstraints", "securitycontextconstraints", Cluster, short: ["scc"], categories: &[], subresources: NONE)
        .with_columns(columns::SECURITY_CONTEXT_CONSTRAINTS),
    resource!("project.openshift.io"/"v1", "Project", "projects", "project", Cluster, short: [], categories: &[], subresources: NONE)
        .derived(&["delete", "get", "list", "watch"])
        .with_columns(columns::PROJECT),
    resource!("project.openshift.io"/"v1", "ProjectRequest", "projectrequests", "projectrequest", Cluster, short: [], categories: &[], subresources: NONE)
        .derived(&["create", "list"]),
    resource!("oauth.openshift.io"/"v1", "OAuthClient", "oauthclients", "oauthclient", Cluster, short: [], categories: &[], subresources: NONE)
        .with_names(NameRule::PathSegment),
    resource!("oauth.openshift.io"/"v1", "OAuthAccessToken", "oauthaccesstokens", "oauthaccesstoken", Cluster, short: [], categories: &[], subresources: NONE)
        .with_names(NameRule::PathSegment)
        .with_columns(columns::OAUTH_ACCESS_TOKEN),
    resource!("oauth.openshift.io"/"v1", "UserOAuthAccessToken", "useroauthaccesstokens", "useroauthaccesstoken", Cluster, short: [], categories: &[], subresources: NONE)
        .derived(&["delete", "get", "list"])
        .with_names(NameRule::PathSegment)
        .with_columns(columns::USER_OAUTH_ACCESS_TOKEN),
    resource!("oauth.openshift.io"/"v1", "OAuthAuthorizeToken", "oauthauthorizetokens", "oauthauthorizetoken", Cluster, short: [], categories: &[], subresources: NONE)
        .with_names(NameRule::PathSegment),
    resource!("oauth.openshift.io"/"v1", "OAuthClientAuthorization", "oauthclientauthorizations", "oauthclientauthorization", Cluster, short: [], categories: &[], subresources: NONE)
        .with_names(NameRule::PathSegment),
    resource!("user.openshift.io"/"v1", "User", "users", "user", Cluster, short: [], categories: &[], subresources: NONE)
        .with_names(NameRule::PathSegment)
        .with_columns(columns::USER),
    resource!("user.openshift.io"/"v1", "Identity", "identities", "identity", Cluster, short: [], categories: &[], subresources: NONE)
        .with_names(NameRule::PathSegment)
        .with_columns(columns::IDENTITY),
    resource!("user.openshift.io"/"v1", "UserIdentityMapping", "useridentitymappings", "useridentitymapping", Cluster, short: [], categories: &[], subresources: NONE)
        .derived(&["create", "delete", "get", "update"])
        .with_names(NameRule::PathSegment),
    resource!("user.openshift.io"/"v1", "Group", "groups", "group", Cluster, short: [], categories: &[], subresources: NONE)
        .with_names(NameRule::PathSegment)
        .with_columns(columns::GROUP),
    resource!("security.openshift.io"/"v1", "PodSecurityPolicySubjectReview", "podsecuritypolicysubjectreviews", "podsecuritypolicysubjectreview", Namespaced, short: [], categories: &[], subresources: NONE)
        .review(),
    resource!("security.openshift.io"/"v1", "PodSecurityPolicySelfSubjectReview", "podsecuritypolicyselfsubjectreviews", "podsecuritypolicyselfsubjectreview", Namespaced, short: [], categories: &[], subresources: NONE)
        .review(),
    resource!("security.openshift.io"/"v1", "PodSecurityPolicyReview", "podsecuritypolicyreviews", "podsecuritypolicyreview", Namespaced, short: [], categories: &[], subresources: NONE)
        .review(),
    resource!("security.openshift.io"/"v1", "RangeAllocation", "rangeallocations", "rangeallocation", Cluster, short: [], categories: &[], subresources: NONE),
    resource!("quota.openshift.io"/"v1", "ClusterResourceQuota", "clusterresourcequotas", "clusterresourcequota", Cluster, short: [], categories: &[], subresources: STATUS),
    resource!("quota.openshift.io"/"v1", "AppliedClusterResourceQuota", "appliedclusterresourcequotas", "appliedclusterresourcequota", Namespaced, short: [], categories: &[], subresources: NONE)
        .derived(&["get", "list"])
        .with_columns(columns::APPLIED_CLUSTER_RESOURCE_QUOTA),
    resource!("config.openshift.io"/"v1", "Image", "images", "image", Cluster, short: [], categories: &[], subresources: STATUS),
    resource!("config.openshift.io"/"v1", "ImageDigestMirrorSet", "imagedigestmirrorsets", "imagedigestmirrorset", Cluster, short: ["idms"], categories: &[], subresources: STATUS),
    resource!("config.openshift.io"/"v1", "ImageTagMirrorSet", "imagetagmirrorsets", "imagetagmirrorset", Cluster, short: ["itms"], categories: &[], subresources: STATUS),
    // Oxshift's own configuration
    resource!("config.oxshift.io"/"v1", "ImageTrustPolicy", "imagetrustpolicies", "imagetrustpolicy", Cluster, short: [], categories: &[], subresources: NONE),
    resource!("binaryauthorization.oxshift.io"/"v1", "Attestor", "attestors", "attestor", Cluster, short: [], categories: &[], subresources: NONE),
    resource!("binaryauthorization.oxshift.io"/"v1", "Attestation", "attestations", "attestation", Namespaced, short: [], categories: &[], subresources: NONE),
    resource!("binaryauthorization.oxshift.io"/"v1", "Policy", "policies", "policy", Cluster, short: [], categories: &[], subresources: NONE),
    resource!("operator.openshift.io"/"v1alpha1", "ImageContentSourcePolicy", "imagecontentsourcepolicies", "imagecontentsourcepolicy", Cluster, short: [], categories: &[], subresources: NONE),
];
