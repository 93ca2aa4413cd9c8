//! The scheme: every resource the server knows, described once. Discovery, routing and storage
//! keys are derived from these entries (and, as they arrive, OpenAPI, Table columns, field
//! selectors and strategic-merge keys). Adding a kind is adding an entry here and its type.

use crate::columns::{self, Column};

/// How an object's name is validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameRule {
    /// A DNS-1123 subdomain (most kinds).
    Subdomain,
    /// A DNS-1123 label (namespaces, projects).
    Label,
    /// Anything usable as a path segment (RBAC objects such as `system:basic-user`; users,
    /// identities, OAuth tokens).
    PathSegment,
}

/// Whether objects live in a namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Namespaced,
    Cluster,
}

/// How strategic merge patch merges a list field (fields not listed are replaced whole).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListMerge {
    /// A list of objects, merged element by element on this key.
    Key(&'static str),
    /// A list of scalars, merged as a set (union).
    Set,
}

/// Merge lists of every object's metadata.
const META_LISTS: &[(&str, ListMerge)] = &[
    ("metadata.finalizers", ListMerge::Set),
    ("metadata.ownerReferences", ListMerge::Key("uid")),
];

/// Merge lists of a PodSpec, relative to where the PodSpec sits in its object.
const POD_SPEC_LISTS: &[(&str, ListMerge)] = &[
    ("containers", ListMerge::Key("name")),
    ("initContainers", ListMerge::Key("name")),
    ("ephemeralContainers", ListMerge::Key("name")),
    ("volumes", ListMerge::Key("name")),
    ("imagePullSecrets", ListMerge::Key("name")),
    ("hostAliases", ListMerge::Key("ip")),
    ("containers.ports", ListMerge::Key("containerPort")),
    ("containers.env", ListMerge::Key("name")),
    ("containers.volumeMounts", ListMerge::Key("mountPath")),
    ("containers.volumeDevices", ListMerge::Key("devicePath")),
    ("initContainers.ports", ListMerge::Key("containerPort")),
    ("initContainers.env", ListMerge::Key("name")),
    ("initContainers.volumeMounts", ListMerge::Key("mountPath")),
];

/// A subresource (`status`, `scale`, ...) and the kind it answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subresource {
    pub name: &'static str,
    /// Group, version and kind of the subresource's body; an empty kind means the parent's.
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub verbs: &'static [&'static str],
}

/// The `apiVersion` of a group version: `v1` for the core group, `group/version` otherwise.
pub fn api_version(group: &str, version: &str) -> String {
    match group {
        "" => version.to_string(),
        g => format!("{g}/{version}"),
    }
}

impl Subresource {
    /// The `apiVersion` of the subresource's own kind (`autoscaling/v1` for a Scale).
    pub fn api_version(&self) -> String {
        api_version(self.group, self.version)
    }
}

/// One resource of one group version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResourceDef {
    /// API group; "" is the core group.
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub scope: Scope,
    pub verbs: &'static [&'static str],
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub subresources: &'static [Subresource],
    /// Field selectors besides `metadata.name` and `metadata.namespace`.
    pub field_selectors: &'static [&'static str],
    /// Where the kind embeds a PodSpec (`spec` for pods, `spec.template.spec` for workloads).
    pub pod_spec: Option<&'static str>,
    /// Kind-specific merge lists of strategic merge patch (dotted paths, no indices), besides
    /// those of the kind's field schema (`schemas::merge_lists`).
    pub merge_lists: &'static [(&'static str, ListMerge)],
    /// What `kubectl get` shows (Name and Age when empty).
    pub columns: &'static [Column],
    /// How names are validated.
    pub names: NameRule,
    /// Whether objects are stored; a review kind (`SelfSubjectAccessReview`...) is only
    /// created, answered and forgotten.
    pub stored: bool,
}

impl ResourceDef {
    /// The same resource served by its own handler over other kinds' objects (projects over
    /// namespaces), with these verbs.
    pub const fn derived(mut self, verbs: &'static [&'static str]) -> Self {
        self.verbs = verbs;
        self.stored = false;
        self
    }

    /// The same resource as a review: create only, never stored.
    pub const fn review(mut self) -> Self {
        self.verbs = &["create"];
        self.stored = false;
        self
    }

    /// The same resource with another name rule.
    pub const fn with_names(mut self, names: NameRule) -> Self {
        self.names = names;
        self
    }

    /// The same resource with extra field selectors.
    pub const fn with_field_selectors(mut self, fields: &'static [&'static str]) -> Self {
        self.field_selectors = fields;
        self
    }

    /// The same resource with printer columns.
    pub const fn with_columns(mut self, columns: &'static [Column]) -> Self {
        self.columns = columns;
        self
    }

    /// The printer columns of the kind.
    pub fn printer_columns(&self) -> &'static [Column] {
        match self.columns {
            [] => columns::DEFAULT,
            c => c,
        }
    }

    /// The same resource with a PodSpec at `path`.
    pub const fn with_pod_spec(mut self, path: &'static str) -> Self {
        self.pod_spec = Some(path);
        self
    }

    /// The same resource with kind-specific merge lists.
    pub const fn with_merge_lists(mut self, lists: &'static [(&'static str, ListMerge)]) -> Self {
        self.merge_lists = lists;
        self
    }

    /// How strategic merge patch merges the list at `path` (dotted, without indices), if it
    /// merges it at all.
    pub fn list_merge(&self, path: &str) -> Option<ListMerge> {
        let find = |lists: &[(&str, ListMerge)], path: &str| {
            lists.iter().find(|(p, _)| *p == path).map(|(_, m)| *m)
        };
        find(META_LISTS, path)
            .or_else(|| find(self.merge_lists, path))
            .or_else(|| {
                let mut lists = self.schema_merge_lists().iter();
                lists.find(|(p, _)| p == path).map(|(_, m)| *m)
            })
            .or_else(|| {
                let prefix = self.pod_spec?;
                let rest = path.strip_prefix(prefix)?.strip_prefix('.')?;
                find(POD_SPEC_LISTS, rest)
            })
    }

    /// Every list strategic merge patch merges, with its dotted path.
    pub fn merge_lists(&self) -> Vec<(String, ListMerge)> {
        let mut lists: Vec<(String, ListMerge)> = META_LISTS
            .iter()
            .chain(self.merge_lists)
            .map(|(p, m)| (p.to_string(), *m))
            .collect();
        for (path, merge) in self.schema_merge_lists() {
            if !lists.iter().any(|(p, _)| p == path) {
                lists.push((path.clone(), *merge));
            }
        }
        if let Some(prefix) = self.pod_spec {
            lists.extend(
                POD_SPEC_LISTS
                    .iter()
                    .map(|(p, m)| (format!("{prefix}.{p}"), *m)),
            );
        }
        lists
    }

    /// Merge lists the kind's field schema declares (the OpenShift kinds', from upstream's
    /// definitions), besides the scheme's own.
    fn schema_merge_lists(&self) -> &'static [(String, ListMerge)] {
        crate::schemas::merge_lists(self.group, self.version, self.kind)
    }

    /// Whether `field` may be used in a field selector on this resource.
    pub fn supports_field(&self, field: &str) -> bool {
        matches!(field, "metadata.name" | "metadata.namespace")
            || self.field_selectors.contains(&field)
    }

    /// `v1` for the core group, `group/version` otherwise.
    pub fn api_version(&self) -> String {
        api_version(self.group, self.version)
    }

    pub fn namespaced(&self) -> bool {
        self.scope == Scope::Namespaced
    }

    /// Storage key prefix of every object of this resource: `/registry/<group>/<plural>/`
    /// (`core` standing for the core group).
    pub fn key_prefix(&self) -> String {
        let group = if self.group.is_empty() {
            "core"
        } else {
            self.group
        };
        format!("/registry/{group}/{}/", self.plural)
    }

    /// Storage key prefix of the objects of one namespace (or of all, for cluster scope).
    pub fn namespace_prefix(&self, namespace: Option<&str>) -> String {
        match (self.scope, namespace) {
            (Scope::Namespaced, Some(ns)) => format!("{}{ns}/", self.key_prefix()),
            _ => self.key_prefix(),
        }
    }

    /// Storage key of one object.
    pub fn key(&self, namespace: Option<&str>, name: &str) -> String {
        format!("{}{name}", self.namespace_prefix(namespace))
    }

    pub fn subresource(&self, name: &str) -> Option<&Subresource> {
        self.subresources.iter().find(|s| s.name == name)
    }

    pub fn allows(&self, verb: &str) -> bool {
        self.verbs.contains(&verb)
    }
}

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
    // batch/v1
    resource!("batch"/"v1", "Job", "jobs", "job", Namespaced, short: [], categories: ALL, subresources: STATUS)
        .with_pod_spec("spec.template.spec")
        .with_merge_lists(WORKLOAD_CONDITIONS)
        .with_field_selectors(&["status.successful"])
    .with_columns(columns::JOB),
    // coordination.k8s.io/v1
    resource!("coordination.k8s.io"/"v1", "Lease", "leases", "lease", Namespaced, short: [], categories: &[], subresources: NONE)
        .with_columns(columns::LEASE),
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
    // admissionregistration.k8s.io/v1
    resource!("admissionregistration.k8s.io"/"v1", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations", "mutatingwebhookconfiguration", Cluster, short: [], categories: &["api-extensions"], subresources: NONE)
        .with_columns(columns::WEBHOOK_CONFIGURATION),
    resource!("admissionregistration.k8s.io"/"v1", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations", "validatingwebhookconfiguration", Cluster, short: [], categories: &["api-extensions"], subresources: NONE)
        .with_columns(columns::WEBHOOK_CONFIGURATION),
    // OpenShift
    resource!("image.openshift.io"/"v1", "ImageStream", "imagestreams", "imagestream", Namespaced, short: ["is"], categories: ALL, subresources: STATUS)
        .with_columns(columns::IMAGE_STREAM),
    resource!("image.openshift.io"/"v1", "Image", "images", "image", Cluster, short: [], categories: &[], subresources: NONE)
        .with_columns(columns::IMAGE),
    resource!("apps.openshift.io"/"v1", "DeploymentConfig", "deploymentconfigs", "deploymentconfig", Namespaced, short: ["dc"], categories: ALL, subresources: &[
        status(),
        Subresource { name: "scale", group: "extensions", version: "v1beta1", kind: "Scale", verbs: STATUS_VERBS },
    ])
    .with_pod_spec("spec.template.spec")
    .with_merge_lists(WORKLOAD_CONDITIONS)
        .with_columns(columns::DEPLOYMENT_CONFIG),
    resource!("build.openshift.io"/"v1", "BuildConfig", "buildconfigs", "buildconfig", Namespaced, short: ["bc"], categories: ALL, subresources: NONE)
        .with_columns(columns::BUILD_CONFIG),
    resource!("build.openshift.io"/"v1", "Build", "builds", "build", Namespaced, short: [], categories: ALL, subresources: NONE)
        .with_columns(columns::BUILD),
    resource!("route.openshift.io"/"v1", "Route", "routes", "route", Namespaced, short: [], categories: ALL, subresources: STATUS)
        .with_columns(columns::ROUTE),
    resource!("template.openshift.io"/"v1", "Template", "templates", "template", Namespaced, short: [], categories: &[], subresources: NONE)
        .with_columns(columns::OPENSHIFT_TEMPLATE),
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
    resource!("security.openshift.io"/"v1", "RangeAllocation", "rangeallocations", "rangeallocation", Cluster, short: [], categories: &[], subresources: NONE),
    resource!("config.openshift.io"/"v1", "Image", "images", "image", Cluster, short: [], categories: &[], subresources: STATUS),
    resource!("operator.openshift.io"/"v1alpha1", "ImageContentSourcePolicy", "imagecontentsourcepolicies", "imagecontentsourcepolicy", Cluster, short: [], categories: &[], subresources: NONE),
];

/// A set of resources, looked up by group, version and plural.
#[derive(Clone, Debug)]
pub struct Scheme {
    resources: Vec<ResourceDef>,
}

/// One API group and its versions, as discovery lists them (preferred version first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupVersions {
    pub group: &'static str,
    pub versions: Vec<&'static str>,
}

impl Scheme {
    pub fn new(resources: Vec<ResourceDef>) -> Self {
        Self { resources }
    }

    /// The scheme of every built-in resource.
    pub fn builtin() -> Self {
        Self::new(BUILTIN.to_vec())
    }

    pub fn resources(&self) -> &[ResourceDef] {
        &self.resources
    }

    pub fn lookup(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceDef> {
        self.resources
            .iter()
            .find(|r| r.group == group && r.version == version && r.plural == plural)
    }

    /// The resources of one group version, in registration order.
    pub fn group_version(&self, group: &str, version: &str) -> impl Iterator<Item = &ResourceDef> {
        let (group, version) = (group.to_string(), version.to_string());
        self.resources
            .iter()
            .filter(move |r| r.group == group && r.version == version)
    }

    /// Every group with its versions, core group first, in registration order.
    pub fn groups(&self) -> Vec<GroupVersions> {
        let mut groups: Vec<GroupVersions> = Vec::new();
        for r in &self.resources {
            match groups.iter_mut().find(|g| g.group == r.group) {
                Some(g) if !g.versions.contains(&r.version) => g.versions.push(r.version),
                Some(_) => {}
                None => groups.push(GroupVersions {
                    group: r.group,
                    versions: vec![r.version],
                }),
            }
        }
        groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_entries_are_unique_and_well_formed() {
        let scheme = Scheme::builtin();
        let mut seen = std::collections::HashSet::new();
        for r in scheme.resources() {
            assert!(
                seen.insert((r.group, r.version, r.plural)),
                "duplicate {}/{} {}",
                r.group,
                r.version,
                r.plural
            );
            assert_eq!(r.plural, r.plural.to_lowercase());
            assert!(!r.kind.is_empty() && r.kind.chars().next().is_some_and(char::is_uppercase));
        }
        let shorts: Vec<_> = scheme
            .resources()
            .iter()
            .flat_map(|r| r.short_names.iter())
            .collect();
        let unique: std::collections::HashSet<_> = shorts.iter().collect();
        assert_eq!(shorts.len(), unique.len(), "short names are unambiguous");
    }

    #[test]
    fn lookups_keys_and_groups() {
        let scheme = Scheme::builtin();
        let cm = scheme.lookup("", "v1", "configmaps").unwrap();
        assert_eq!(cm.api_version(), "v1");
        assert_eq!(
            cm.key(Some("default"), "a"),
            "/registry/core/configmaps/default/a"
        );
        assert_eq!(cm.namespace_prefix(None), "/registry/core/configmaps/");
        let ns = scheme.lookup("", "v1", "namespaces").unwrap();
        assert_eq!(
            ns.key(Some("ignored"), "default"),
            "/registry/core/namespaces/default"
        );
        let dc = scheme
            .lookup("apps.openshift.io", "v1", "deploymentconfigs")
            .unwrap();
        assert_eq!(dc.api_version(), "apps.openshift.io/v1");
        assert_eq!(dc.subresource("scale").map(|s| s.kind), Some("Scale"));
        let groups = scheme.groups();
        assert_eq!(
            groups[0],
            GroupVersions {
                group: "",
                versions: vec!["v1"]
            }
        );
        assert!(groups.iter().any(|g| g.group == "image.openshift.io"));
        assert!(scheme.lookup("apps", "v1", "configmaps").is_none());
    }

    #[test]
    fn merge_lists_follow_the_pod_spec() {
        let scheme = Scheme::builtin();
        let deploy = scheme.lookup("apps", "v1", "deployments").unwrap();
        assert_eq!(
            deploy.list_merge("spec.template.spec.containers"),
            Some(ListMerge::Key("name"))
        );
        assert_eq!(
            deploy.list_merge("spec.template.spec.containers.env"),
            Some(ListMerge::Key("name"))
        );
        assert_eq!(
            deploy.list_merge("metadata.finalizers"),
            Some(ListMerge::Set)
        );
        assert_eq!(deploy.list_merge("spec.containers"), None);
        let pod = scheme.lookup("", "v1", "pods").unwrap();
        assert_eq!(
            pod.list_merge("spec.containers.ports"),
            Some(ListMerge::Key("containerPort"))
        );
        let dc = scheme
            .lookup("apps.openshift.io", "v1", "deploymentconfigs")
            .unwrap();
        assert_eq!(
            dc.list_merge("spec.template.spec.volumes"),
            Some(ListMerge::Key("name"))
        );
        let cm = scheme.lookup("", "v1", "configmaps").unwrap();
        assert_eq!(cm.list_merge("data"), None);
    }

    #[test]
    fn openshift_kinds_merge_lists_from_their_schemas() {
        let scheme = Scheme::builtin();
        let dc = scheme
            .lookup("apps.openshift.io", "v1", "deploymentconfigs")
            .unwrap();
        assert_eq!(
            dc.list_merge("spec.template.spec.containers"),
            Some(ListMerge::Key("name"))
        );
        assert_eq!(dc.list_merge("spec.triggers"), None);
        let lists = dc.merge_lists();
        let conditions = lists.iter().filter(|(p, _)| p == "status.conditions");
        assert_eq!(conditions.count(), 1, "listed once: {lists:?}");
        let is = scheme
            .lookup("image.openshift.io", "v1", "imagestreams")
            .unwrap();
        assert_eq!(is.list_merge("spec.tags"), Some(ListMerge::Key("name")));
        assert!(is.merge_lists().iter().any(|(p, _)| p == "status.tags"));
    }
}
