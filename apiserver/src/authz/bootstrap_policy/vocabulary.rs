//! The words the default roles are written in: verb sets, API groups (OpenShift's with their
//! legacy core-group names, as upstream's roles carry them) and a rule as data.

pub(super) const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

// Verbs, as upstream spells its verb lists.
pub(super) const READ: &[&str] = &["get", "list", "watch"];
/// Every verb that changes objects.
pub(super) const WRITE: &[&str] = &["create", "update", "patch", "delete", "deletecollection"];
pub(super) const READ_WRITE: &[&str] = &[
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
];
pub(super) const CREATE: &[&str] = &["create"];
pub(super) const GET: &[&str] = &["get"];
pub(super) const UPDATE: &[&str] = &["update"];
pub(super) const GET_UPDATE: &[&str] = &["get", "update"];
pub(super) const LIST_WATCH: &[&str] = &["list", "watch"];

// API groups. OpenShift's roles name each OpenShift group together with the core group, where
// its resources lived before API groups (the "legacy" group).
pub(super) const CORE: &[&str] = &[""];
pub(super) const APPS: &[&str] = &["apps"];
pub(super) const AUTOSCALING: &[&str] = &["autoscaling"];
pub(super) const BATCH: &[&str] = &["batch"];
pub(super) const EXTENSIONS: &[&str] = &["extensions"];
pub(super) const POLICY: &[&str] = &["policy"];
pub(super) const NETWORKING: &[&str] = &["networking.k8s.io"];
pub(super) const COORDINATION: &[&str] = &["coordination.k8s.io"];
pub(super) const DISCOVERY: &[&str] = &["discovery.k8s.io"];
pub(super) const K8S_AUTHZ: &[&str] = &["authorization.k8s.io"];
pub(super) const K8S_AUTHN: &[&str] = &["authentication.k8s.io"];
pub(super) const RBAC: &[&str] = &[RBAC_GROUP];
pub(super) const ADMISSION: &[&str] = &["admissionregistration.k8s.io"];
pub(super) const API_EXTENSIONS: &[&str] = &["apiextensions.k8s.io"];
pub(super) const API_REGISTRATION: &[&str] = &["apiregistration.k8s.io"];
pub(super) const EVENTS: &[&str] = &["events.k8s.io"];
pub(super) const NODE: &[&str] = &["node.k8s.io"];
pub(super) const STORAGE: &[&str] = &["storage.k8s.io"];
pub(super) const SCHEDULING: &[&str] = &["scheduling.k8s.io"];
pub(super) const CERTIFICATES: &[&str] = &["certificates.k8s.io"];
pub(super) const CONFIG: &[&str] = &["config.openshift.io"];
pub(super) const OS_AUTHZ: &[&str] = &["authorization.openshift.io", ""];
pub(super) const OS_BUILD: &[&str] = &["build.openshift.io", ""];
pub(super) const BUILD_ONLY: &[&str] = &["build.openshift.io"];
pub(super) const OS_APPS: &[&str] = &["apps.openshift.io", ""];
pub(super) const OS_IMAGE: &[&str] = &["image.openshift.io", ""];
pub(super) const OS_PROJECT: &[&str] = &["project.openshift.io", ""];
pub(super) const OS_QUOTA: &[&str] = &["quota.openshift.io", ""];
pub(super) const OS_ROUTE: &[&str] = &["route.openshift.io", ""];
pub(super) const OS_TEMPLATE: &[&str] = &["template.openshift.io", ""];
pub(super) const OS_USER: &[&str] = &["user.openshift.io", ""];
pub(super) const OS_OAUTH: &[&str] = &["oauth.openshift.io", ""];
pub(super) const OAUTH_ONLY: &[&str] = &["oauth.openshift.io"];
pub(super) const OS_NETWORK: &[&str] = &["network.openshift.io", ""];
pub(super) const OS_SECURITY: &[&str] = &["security.openshift.io", ""];
pub(super) const SECURITY_ONLY: &[&str] = &["security.openshift.io"];
pub(super) const BINARY_AUTHORIZATION: &[&str] = &["binaryauthorization.oxshift.io"];

/// One rule as data: API groups, resources (a subresource as `resource/subresource`), verbs.
pub(super) type Rule = (
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
);
