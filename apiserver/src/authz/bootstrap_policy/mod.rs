//! The default RBAC policy every cluster starts with, as upstream's: `cluster-admin`; the
//! namespace roles `admin`, `edit` and `view`, aggregated (as Kubernetes 1.32 and OpenShift 4.19
//! have them) from `system:aggregate-to-*`, `system:openshift:aggregate-to-*`, the
//! `registry-*` roles and `system:image-builder`; OpenShift's `basic-user`, `self-provisioner`
//! and `cluster-reader`; and the `system:` roles for discovery and self-reviews, bound to the
//! virtual groups.
//!
//! The rules are upstream's, written out here as data in upstream's order. They name some
//! resources this server does not serve (`pods/exec`, `certificatesigningrequests`,
//! OpenShift's legacy core-group names...): upstream's roles name them, so ours do too, and a
//! client reading the roles sees what it would see on OpenShift.

use serde_json::{Value, json};

mod components;
mod kubernetes;
mod node;
mod openshift;
mod vocabulary;

use kubernetes::*;
pub use node::NODES_GROUP;
use node::*;
use openshift::*;
use vocabulary::*;

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

pub use components::{ROUTER, SCHEDULER};

/// The controller manager's user (its client certificate's common name).
pub const CONTROLLER_MANAGER: &str = "system:openshift-controller-manager";

/// The API server's user towards the nodes (its client certificate's common name).
pub const KUBELET_CLIENT: &str = "kube-apiserver-kubelet-client";

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
        // A project's members see the attestations vouching for its images; only holders of
        // `system:oxshift:image-attestor` write them.
        labelled(
            cluster_role(
                "system:oxshift:aggregate-to-view",
                vec![rule(BINARY_AUTHORIZATION, &["attestations"], READ)],
            ),
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
        cluster_role(
            "system:image-pusher",
            vec![rule(
                &["image.openshift.io"],
                &["imagestreams/layers"],
                GET_UPDATE,
            )],
        ),
        labelled(
            cluster_role("system:image-builder", rules(IMAGE_BUILDER)),
            &[aggregate_label("admin"), aggregate_label("edit")],
        ),
        // Who may sign images (through the registry's signature extension too).
        cluster_role("system:image-signer", rules(IMAGE_SIGNER)),
        // Anyone may call a build config's webhook: its secret is the check.
        cluster_role(
            "system:webhook",
            vec![rule(
                OS_BUILD,
                &["buildconfigs/webhooks"],
                &["get", "create"],
            )],
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
        cluster_role("system:node", rules(SYSTEM_NODE)),
        cluster_role(
            "system:oxshift:node-image-config-reader",
            rules(NODE_IMAGE_CONFIG_READER),
        ),
        cluster_role("system:oxshift:node-builder", rules(NODE_BUILDER)),
        // Who may vouch for images (CI, bound per namespace): attestations, and the attestors
        // whose keys sign them. Attestors and the policy are cluster-admin's alone.
        cluster_role(
            "system:oxshift:image-attestor",
            vec![
                rule(BINARY_AUTHORIZATION, &["attestations"], READ_WRITE),
                rule(BINARY_AUTHORIZATION, &["attestors"], READ),
            ],
        ),
        // Upstream's full access to the nodes' API, which the API server's own client
        // certificate holds to proxy logs and streams.
        cluster_role(
            "system:kubelet-api-admin",
            vec![
                rule(CORE, &["nodes"], READ),
                rule(CORE, &["nodes"], &["proxy"]),
                rule(
                    CORE,
                    &["nodes/proxy", "nodes/metrics", "nodes/stats", "nodes/log"],
                    &["*"],
                ),
            ],
        ),
        binding("cluster-admin", "cluster-admin", &[auth::rbac::MASTERS]),
        binding("system:node", "system:node", &[NODES_GROUP]),
        binding(
            "system:oxshift:node-image-config-reader",
            "system:oxshift:node-image-config-reader",
            &[NODES_GROUP],
        ),
        cluster_role("system:oxshift:local-provisioner", rules(LOCAL_PROVISIONER)),
        binding(
            "system:oxshift:local-provisioner",
            "system:oxshift:local-provisioner",
            &[NODES_GROUP],
        ),
        binding(
            "system:oxshift:node-builder",
            "system:oxshift:node-builder",
            &[NODES_GROUP],
        ),
        user_binding(CONTROLLER_MANAGER, "cluster-admin", CONTROLLER_MANAGER),
        cluster_role(components::SCHEDULER, components::scheduler_rules()),
        cluster_role(
            components::DEPLOYMENT_CONFIG_CONTROLLER,
            components::deployment_config_controller_rules(),
        ),
        cluster_role(
            components::DEPLOYER_CONTROLLER,
            components::deployer_controller_rules(),
        ),
        cluster_role(
            components::IMAGE_TRIGGER_CONTROLLER,
            components::image_trigger_controller_rules(),
        ),
        user_binding(
            components::SCHEDULER,
            components::SCHEDULER,
            components::SCHEDULER,
        ),
        cluster_role(
            "system:volume-scheduler",
            components::volume_scheduler_rules(),
        ),
        user_binding(
            "system:volume-scheduler",
            "system:volume-scheduler",
            components::SCHEDULER,
        ),
        user_binding(KUBELET_CLIENT, "system:kubelet-api-admin", KUBELET_CLIENT),
        cluster_role("system:router", components::router_rules()),
        user_binding("system:router", "system:router", components::ROUTER),
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
            "system:webhooks",
            "system:webhook",
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
    objects.extend(certificate_roles());
    objects.extend(build_strategy_roles());
    objects.extend(scc_roles());
    fill_aggregated(&mut objects);
    objects
}

/// Kubernetes' certificate roles: approving for each built-in signer (`approve` on the
/// `signers` resource named by it), creating node client requests, and the bootstrapper's.
fn certificate_roles() -> Vec<Value> {
    let approver = |role: &str, signer: &str| {
        cluster_role(
            &format!("system:certificates.k8s.io:{role}"),
            vec![json!({"apiGroups": CERTIFICATES, "resources": ["signers"],
                "resourceNames": [signer], "verbs": ["approve"]})],
        )
    };
    let csr_subresource = |sub: &str| {
        cluster_role(
            &format!("system:certificates.k8s.io:certificatesigningrequests:{sub}"),
            vec![rule(
                CERTIFICATES,
                &[&format!("certificatesigningrequests/{sub}")],
                CREATE,
            )],
        )
    };
    vec![
        approver(
            "kube-apiserver-client-approver",
            "kubernetes.io/kube-apiserver-client",
        ),
        approver(
            "kube-apiserver-client-kubelet-approver",
            "kubernetes.io/kube-apiserver-client-kubelet",
        ),
        approver("kubelet-serving-approver", "kubernetes.io/kubelet-serving"),
        approver("legacy-unknown-approver", "kubernetes.io/legacy-unknown"),
        csr_subresource("nodeclient"),
        csr_subresource("selfnodeclient"),
        cluster_role(
            "system:node-bootstrapper",
            vec![rule(
                CERTIFICATES,
                &["certificatesigningrequests"],
                &["create", "get", "list", "watch"],
            )],
        ),
    ]
}

/// OpenShift's `system:build-strategy-<strategy>` ClusterRoles: creating a build of a strategy
/// needs `create` on its `builds/<strategy>` (the `BuildByStrategy` admission). Every
/// authenticated user may use the Docker, Source and JenkinsPipeline strategies; Custom is
/// bound to nobody.
fn build_strategy_roles() -> Vec<Value> {
    let role = |strategy: &str, resources: &[&str]| {
        cluster_role(
            &format!("system:build-strategy-{strategy}"),
            vec![rule(OS_BUILD, resources, CREATE)],
        )
    };
    let mut objects = vec![
        role("docker", &["builds/docker", "builds/optimizeddocker"]),
        role("source", &["builds/source"]),
        role("jenkinspipeline", &["builds/jenkinspipeline"]),
        role("custom", &["builds/custom"]),
    ];
    for strategy in ["docker", "source", "jenkinspipeline"] {
        let name = format!("system:build-strategy-{strategy}");
        objects.push(binding(
            &format!("{name}-binding"),
            &name,
            &[auth::rbac::AUTHENTICATED],
        ));
    }
    objects
}

/// The default Roles and RoleBindings of system namespaces (upstream's namespaced bootstrap
/// policy), made once their namespaces exist.
pub fn namespaced_objects() -> Vec<Value> {
    let ns = components::SERVICE_CA_NAMESPACE;
    let name = "system:router:service-ca";
    let mut role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": metadata(name), "rules": components::router_service_ca_rules()});
    role["metadata"]["namespace"] = json!(ns);
    let mut binding = user_binding(name, name, components::ROUTER);
    binding["kind"] = json!("RoleBinding");
    binding["metadata"]["namespace"] = json!(ns);
    binding["roleRef"]["kind"] = json!("Role");
    // Upstream's reader of the front proxy's and client CAs that aggregated servers use
    // (bound by their installers to their service accounts).
    let reader = "extension-apiserver-authentication-reader";
    let mut authentication_reader = json!({"apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role", "metadata": metadata(reader),
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"],
            "resourceNames": ["extension-apiserver-authentication"]}]});
    authentication_reader["metadata"]["namespace"] = json!("kube-system");
    vec![role, binding, authentication_reader]
}

/// OpenShift 4.19's `system:openshift:scc:<name>` ClusterRole for each default SCC (the `use`
/// of that one SCC), and the binding that lets every authenticated user use `restricted-v2`.
fn scc_roles() -> Vec<Value> {
    let mut objects: Vec<Value> = crate::registry::security::default_sccs::NAMES
        .iter()
        .map(|name| scc_role(name))
        .collect();
    objects.push(binding(
        "system:openshift:scc:restricted-v2",
        "system:openshift:scc:restricted-v2",
        &[auth::rbac::AUTHENTICATED],
    ));
    objects
}

/// The role that grants the `use` of one SCC (what `oc adm policy add-scc-to-*` binds).
pub fn scc_role(scc: &str) -> Value {
    cluster_role(
        &format!("system:openshift:scc:{scc}"),
        vec![
            json!({"apiGroups": ["security.openshift.io"], "resources": ["securitycontextconstraints"],
            "resourceNames": [scc], "verbs": ["use"]}),
        ],
    )
}

#[cfg(test)]
mod tests;
