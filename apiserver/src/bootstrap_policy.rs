//! The default RBAC policy every cluster starts with, as upstream's: `cluster-admin`, the
//! namespace roles `admin`, `edit` and `view`, OpenShift's `basic-user`, `self-provisioner` and
//! `cluster-reader`, and the `system:` roles for discovery and self-reviews, bound to the
//! virtual groups. The namespace roles are derived from the scheme, so they cover every kind,
//! the OpenShift ones included.

use api::scheme::{ResourceDef, Scheme};
use serde_json::{Value, json};

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
const READ: &[&str] = &["get", "list", "watch"];
const WRITE: &[&str] = &["create", "delete", "deletecollection", "patch", "update"];

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

/// A role that holds the rules of every role labelled `aggregate-to-<name>` (the aggregation
/// controller keeps them; `rules` is where it starts).
fn aggregated(name: &str, rules: Vec<Value>) -> Value {
    let mut role = cluster_role(name, rules);
    role["aggregationRule"] = json!({"clusterRoleSelectors": [
        {"matchLabels": {format!("{AGGREGATE_LABEL}{name}"): "true"}}
    ]});
    role
}

/// The default rules of the aggregated role `name`, as one of its sources.
fn aggregate_to(name: &str, rules: Vec<Value>) -> Value {
    let mut role = cluster_role(&format!("system:aggregate-to-{name}"), rules);
    role["metadata"]["labels"][format!("{AGGREGATE_LABEL}{name}")] = json!("true");
    role
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

fn rule(groups: &[&str], resources: &[String], verbs: &[&str]) -> Value {
    json!({"apiGroups": groups, "resources": resources, "verbs": verbs})
}

fn paths(urls: &[&str], verbs: &[&str]) -> Value {
    json!({"nonResourceURLs": urls, "verbs": verbs})
}

/// One rule per API group over the namespaced kinds `include` selects (their scale
/// subresources too), with `verbs`.
fn namespaced_rules(
    scheme: &Scheme,
    include: impl Fn(&ResourceDef) -> bool,
    verbs: &[&str],
) -> Vec<Value> {
    let mut by_group: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for def in scheme.resources() {
        if !def.namespaced() || !def.allows("get") || !include(def) {
            continue;
        }
        let resources = by_group.entry(def.group).or_default();
        if !resources.contains(&def.plural.to_string()) {
            resources.push(def.plural.to_string());
        }
        if def.subresource("scale").is_some() {
            resources.push(format!("{}/scale", def.plural));
        }
    }
    by_group
        .into_iter()
        .map(|(group, resources)| rule(&[group], &resources, verbs))
        .collect()
}

fn is_rbac(def: &ResourceDef) -> bool {
    def.group == RBAC_GROUP
}

fn is_secret(def: &ResourceDef) -> bool {
    def.group.is_empty() && def.plural == "secrets"
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Every default ClusterRole and ClusterRoleBinding.
pub fn objects(scheme: &Scheme) -> Vec<Value> {
    let all_verbs: Vec<&str> = READ.iter().chain(WRITE).copied().collect();
    let namespaces = strings(&["namespaces"]);
    // A project is its namespace: its admins may change and delete it, everyone bound in it
    // may read it.
    let projects = strings(&["projects"]);
    let mut view = namespaced_rules(scheme, |d| !is_rbac(d) && !is_secret(d), READ);
    view.push(rule(&[""], &namespaces, READ));
    view.push(rule(&["project.openshift.io"], &projects, &["get"]));
    let mut edit = namespaced_rules(scheme, |d| !is_rbac(d), &all_verbs);
    edit.push(rule(&[""], &namespaces, READ));
    edit.push(rule(&["project.openshift.io"], &projects, &["get"]));
    let mut admin = namespaced_rules(scheme, |_| true, &all_verbs);
    admin.push(rule(&[""], &namespaces, READ));
    admin.push(rule(
        &["project.openshift.io"],
        &projects,
        &["delete", "get", "patch", "update"],
    ));
    admin.push(rule(
        &["authorization.k8s.io"],
        &strings(&["localsubjectaccessreviews"]),
        &["create"],
    ));
    admin.push(rule(
        &["authorization.openshift.io"],
        &strings(&["localresourceaccessreviews"]),
        &["create"],
    ));
    let self_reviews = vec![
        rule(
            &["authorization.k8s.io"],
            &strings(&["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
            &["create"],
        ),
        rule(
            &["authentication.k8s.io"],
            &strings(&["selfsubjectreviews"]),
            &["create"],
        ),
    ];
    let auth_delegator = vec![
        rule(
            &["authentication.k8s.io"],
            &strings(&["tokenreviews"]),
            &["create"],
        ),
        rule(
            &["authorization.k8s.io"],
            &strings(&["subjectaccessreviews"]),
            &["create"],
        ),
    ];
    let mut basic_user = self_reviews.clone();
    basic_user.push(json!({"apiGroups": ["user.openshift.io"], "resources": ["users"], "resourceNames": ["~"], "verbs": ["get"]}));
    basic_user.push(rule(
        &["project.openshift.io"],
        &strings(&["projectrequests"]),
        &["list"],
    ));
    basic_user.push(rule(
        &["project.openshift.io"],
        &strings(&["projects"]),
        &["list", "watch"],
    ));
    basic_user.push(rule(
        &[RBAC_GROUP],
        &strings(&["clusterroles"]),
        &["get", "list"],
    ));
    // Everyone may see and revoke their own OAuth tokens.
    basic_user.push(rule(
        &["oauth.openshift.io"],
        &strings(&["useroauthaccesstokens"]),
        &["get", "list", "watch", "delete"],
    ));
    let mut reader: Vec<Value> = Vec::new();
    for def in scheme.resources() {
        if def.allows("get") && !is_secret(def) {
            reader.push(rule(&[def.group], &[def.plural.to_string()], READ));
        }
    }
    reader.push(paths(&["*"], &["get"]));
    let public_info = ["/healthz", "/livez", "/readyz", "/version", "/version/"];
    let discovery = [
        "/api",
        "/api/*",
        "/apis",
        "/apis/*",
        "/openapi",
        "/openapi/*",
        "/healthz",
        "/livez",
        "/readyz",
        "/version",
        "/version/",
        "/.well-known/oauth-authorization-server",
    ];
    vec![
        cluster_role(
            "cluster-admin",
            vec![
                rule(&["*"], &strings(&["*"]), &["*"]),
                paths(&["*"], &["*"]),
            ],
        ),
        aggregated("admin", admin.clone()),
        aggregate_to("admin", admin),
        aggregated("edit", edit.clone()),
        aggregate_to("edit", edit),
        aggregated("view", view.clone()),
        aggregate_to("view", view),
        cluster_role("basic-user", basic_user),
        cluster_role(
            "self-provisioner",
            vec![rule(
                &["project.openshift.io"],
                &strings(&["projectrequests"]),
                &["create"],
            )],
        ),
        cluster_role("cluster-reader", reader),
        cluster_role("system:discovery", vec![paths(&discovery, &["get"])]),
        cluster_role(
            "system:public-info-viewer",
            vec![paths(&public_info, &["get"])],
        ),
        cluster_role("system:auth-delegator", auth_delegator),
        // What the per-namespace bindings of the service-account controller grant.
        cluster_role(
            "system:image-puller",
            vec![rule(
                &["image.openshift.io"],
                &strings(&["imagestreams/layers"]),
                &["get"],
            )],
        ),
        cluster_role(
            "system:image-builder",
            vec![
                rule(
                    &["image.openshift.io"],
                    &strings(&["imagestreams/layers"]),
                    &["get", "update"],
                ),
                rule(
                    &["build.openshift.io"],
                    &strings(&["builds/details"]),
                    &["update"],
                ),
                rule(&["build.openshift.io"], &strings(&["builds"]), &["get"]),
            ],
        ),
        cluster_role(
            "system:deployer",
            vec![
                rule(&[""], &strings(&["replicationcontrollers"]), &all_verbs),
                rule(&[""], &strings(&["pods", "pods/log"]), READ),
                rule(&[""], &strings(&["events"]), &["create", "list"]),
            ],
        ),
        cluster_role("system:basic-user", self_reviews),
        // OAuth tokens are named by their hash: knowing the name means holding the token, so
        // anyone may delete one (`oc logout`).
        cluster_role(
            "system:oauth-token-deleter",
            vec![rule(
                &["oauth.openshift.io"],
                &strings(&["oauthaccesstokens", "useroauthaccesstokens"]),
                &["delete"],
            )],
        ),
        binding("cluster-admin", "cluster-admin", &[auth::rbac::MASTERS]),
        user_binding(CONTROLLER_MANAGER, "cluster-admin", CONTROLLER_MANAGER),
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
            "self-provisioners",
            "self-provisioner",
            &["system:authenticated:oauth"],
        ),
        binding(
            "cluster-readers",
            "cluster-reader",
            &["system:cluster-readers"],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_roles_cover_every_namespaced_kind() {
        let objects = objects(&Scheme::builtin());
        let role = |name: &str| {
            objects
                .iter()
                .find(|o| o["kind"] == "ClusterRole" && o["metadata"]["name"] == name)
                .unwrap()
                .clone()
        };
        let covers = |role: &Value, group: &str, resource: &str, verb: &str| {
            role["rules"].as_array().unwrap().iter().any(|r| {
                r["apiGroups"]
                    .as_array()
                    .is_some_and(|g| g.contains(&json!(group)))
                    && r["resources"]
                        .as_array()
                        .is_some_and(|g| g.contains(&json!(resource)))
                    && r["verbs"]
                        .as_array()
                        .is_some_and(|g| g.contains(&json!(verb)))
            })
        };
        let (view, edit, admin) = (role("view"), role("edit"), role("admin"));
        assert!(covers(
            &view,
            "apps.openshift.io",
            "deploymentconfigs",
            "watch"
        ));
        assert!(!covers(&view, "", "secrets", "get"));
        assert!(!covers(
            &view,
            "apps.openshift.io",
            "deploymentconfigs",
            "create"
        ));
        assert!(covers(&edit, "", "secrets", "create"));
        assert!(covers(&edit, "apps", "deployments/scale", "update"));
        assert!(!covers(&edit, RBAC_GROUP, "rolebindings", "create"));
        assert!(covers(&admin, RBAC_GROUP, "rolebindings", "create"));
        assert!(objects.iter().any(|o| o["kind"] == "ClusterRoleBinding"
            && o["roleRef"]["name"] == "cluster-admin"
            && o["subjects"][0]["name"] == "system:masters"));
    }
}
