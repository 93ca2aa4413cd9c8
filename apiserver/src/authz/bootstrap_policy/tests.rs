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
                "system:oxshift:aggregate-to-view",
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
    // As upstream: pod templates and storage capacities are no project role's; revisions and applied
    // cluster quotas are read, never written, by users.
    let unseen = [
        "secrets",
        "leases",
        "roles",
        "rolebindings",
        "podtemplates",
        "csistoragecapacities",
    ];
    // Attestations are written by image attestors (`system:oxshift:image-attestor`) only.
    let unwritten = [
        "appliedclusterresourcequotas",
        "attestations",
        "endpoints",
        "endpointslices",
        "limitranges",
        "resourcequotas",
        "roles",
        "rolebindings",
        "podtemplates",
        "controllerrevisions",
        "csistoragecapacities",
    ];
    let unupdated = [
        "appliedclusterresourcequotas",
        "attestations",
        "endpoints",
        "endpointslices",
        "limitranges",
        "resourcequotas",
        "podtemplates",
        "controllerrevisions",
        "csistoragecapacities",
    ];
    for def in scheme.resources() {
        if !def.namespaced() || !def.allows("get") {
            continue;
        }
        let plural = def.plural;
        // As upstream: project roles grant the core Events, not events.k8s.io's view of them.
        if def.group == "events.k8s.io" {
            assert!(!can(&p, "alice", "list", def.group, plural));
            continue;
        }
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
            !unupdated.contains(&plural),
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

#[test]
fn nodes_run_their_pods_and_report_through_the_node_role() {
    let p = policy();
    let node = user("system:node:n1", &[NODES_GROUP, auth::rbac::AUTHENTICATED]);
    let may = |verb: &str, group: &str, resource: &str, namespace: &str| {
        let (resource, subresource) = resource.split_once('/').unwrap_or((resource, ""));
        let attrs = Attributes {
            verb: verb.into(),
            namespace: namespace.into(),
            api_group: group.into(),
            resource: resource.into(),
            subresource: subresource.into(),
            resource_request: true,
            ..Default::default()
        };
        p.authorize(&node, &attrs).allowed()
    };
    assert!(may("create", "", "nodes", ""));
    assert!(may("patch", "", "nodes/status", ""));
    assert!(may("watch", "", "pods", ""));
    assert!(may("patch", "", "pods/status", NS));
    assert!(may("delete", "", "pods", NS));
    assert!(may("get", "", "secrets", NS));
    assert!(may("create", "", "events", NS));
    assert!(may(
        "update",
        "coordination.k8s.io",
        "leases",
        "kube-node-lease"
    ));
    assert!(may("get", "config.openshift.io", "images", ""));
    assert!(!may("update", "", "pods", NS));
    assert!(!may("create", "", "secrets", NS));
    assert!(!may("delete", "", "nodes", ""));
}

#[test]
fn the_router_reads_the_service_ca_bundle_and_no_other_config_map() {
    let namespaced = namespaced_objects();
    let of_kind = |kind: &'static str| {
        namespaced
            .iter()
            .filter(move |o| o["kind"] == kind)
            .cloned()
    };
    let p = Policy::new(
        Vec::<ClusterRole>::new(),
        of_kind("Role").map(|o| serde_json::from_value::<Role>(o).unwrap()),
        Vec::<ClusterRoleBinding>::new(),
        of_kind("RoleBinding").map(|o| serde_json::from_value::<RoleBinding>(o).unwrap()),
    );
    let router = user(
        ROUTER,
        &["system:serviceaccounts", auth::rbac::AUTHENTICATED],
    );
    let may = |who: &UserInfo, verb: &str, namespace: &str, name: &str| {
        let attrs = Attributes {
            verb: verb.into(),
            namespace: namespace.into(),
            resource: "configmaps".into(),
            name: name.into(),
            resource_request: true,
            ..Default::default()
        };
        p.authorize(who, &attrs).allowed()
    };
    let ns = "openshift-config-managed";
    for verb in ["get", "list", "watch"] {
        assert!(may(&router, verb, ns, "service-ca"), "{verb}");
    }
    assert!(!may(&router, "list", ns, ""));
    assert!(!may(&router, "get", ns, "other"));
    assert!(!may(&router, "update", ns, "service-ca"));
    assert!(!may(&router, "get", "elsewhere", "service-ca"));
    assert!(!may(&user("eve", &[]), "get", ns, "service-ca"));
}

#[test]
fn image_signers_sign_images_and_nobody_else_does() {
    let objects = objects();
    let signer = role(&objects, "system:image-signer");
    assert_eq!(
        signer["rules"],
        json!([
            {"apiGroups": ["image.openshift.io", ""], "resources": ["images", "imagestreams/layers"], "verbs": ["get"]},
            {"apiGroups": ["image.openshift.io", ""], "resources": ["imagesignatures"], "verbs": ["create", "delete"]},
        ])
    );
    let p = policy();
    for who in ["alice", "eve", "vic"] {
        assert!(
            !can(&p, who, "create", "image.openshift.io", "imagesignatures"),
            "{who}"
        );
    }
}
