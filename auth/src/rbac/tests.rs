use serde_json::json;

use super::*;

fn parse<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).unwrap()
}

fn policy() -> Policy {
    let view: ClusterRole = parse(json!({"metadata": {"name": "view"}, "rules": [
        {"apiGroups": [""], "resources": ["configmaps", "pods", "pods/log"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["apps"], "resources": ["*/scale"], "verbs": ["get"]},
    ]}));
    let discovery: ClusterRole = parse(json!({"metadata": {"name": "system:discovery"}, "rules": [
        {"nonResourceURLs": ["/api", "/api/*", "/version"], "verbs": ["get"]},
    ]}));
    let secret_reader: Role = parse(
        json!({"metadata": {"name": "one-secret", "namespace": "dev"}, "rules": [
            {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["token"], "verbs": ["get"]},
        ]}),
    );
    let crb: ClusterRoleBinding = parse(json!({"metadata": {"name": "discovery"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:discovery"},
        "subjects": [{"kind": "Group", "name": AUTHENTICATED}]}));
    let view_in_dev: RoleBinding =
        parse(json!({"metadata": {"name": "viewers", "namespace": "dev"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "User", "name": "bob"}, {"kind": "ServiceAccount", "name": "ci"}]}));
    let secret_in_dev: RoleBinding =
        parse(json!({"metadata": {"name": "secret", "namespace": "dev"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "one-secret"},
        "subjects": [{"kind": "User", "name": "bob"}]}));
    Policy::new(
        [view, discovery],
        [secret_reader],
        [crb],
        [view_in_dev, secret_in_dev],
    )
}

fn user(name: &str) -> UserInfo {
    UserInfo {
        name: name.into(),
        groups: vec![AUTHENTICATED.into()],
        ..Default::default()
    }
}

fn resource(
    verb: &str,
    namespace: &str,
    group: &str,
    resource: &str,
    sub: &str,
    name: &str,
) -> Attributes {
    Attributes {
        verb: verb.into(),
        namespace: namespace.into(),
        api_group: group.into(),
        resource: resource.into(),
        subresource: sub.into(),
        name: name.into(),
        resource_request: true,
        ..Default::default()
    }
}

#[test]
fn role_bindings_apply_in_their_namespace_only() {
    let p = policy();
    let bob = user("bob");
    let allowed = p.authorize(&bob, &resource("list", "dev", "", "configmaps", "", ""));
    assert_eq!(
        allowed,
        Decision::Allow(
            r#"RBAC: allowed by RoleBinding "viewers/dev" of ClusterRole "view" to User "bob""#
                .into()
        )
    );
    assert!(
        !p.authorize(&bob, &resource("list", "prod", "", "configmaps", "", ""))
            .allowed()
    );
    assert!(
        !p.authorize(&bob, &resource("create", "dev", "", "configmaps", "", ""))
            .allowed()
    );
    assert!(
        !p.authorize(&bob, &resource("list", "", "", "configmaps", "", ""))
            .allowed()
    );
    assert!(
        !p.authorize(
            &user("alice"),
            &resource("list", "dev", "", "configmaps", "", "")
        )
        .allowed()
    );
}

#[test]
fn subresources_resource_names_and_wildcards() {
    let p = policy();
    let bob = user("bob");
    assert!(
        p.authorize(&bob, &resource("get", "dev", "", "pods", "log", "web"))
            .allowed()
    );
    assert!(
        !p.authorize(&bob, &resource("get", "dev", "", "pods", "exec", "web"))
            .allowed()
    );
    assert!(
        p.authorize(
            &bob,
            &resource("get", "dev", "apps", "deployments", "scale", "web")
        )
        .allowed()
    );
    assert!(
        !p.authorize(
            &bob,
            &resource("get", "dev", "apps", "deployments", "", "web")
        )
        .allowed()
    );
    assert!(
        p.authorize(&bob, &resource("get", "dev", "", "secrets", "", "token"))
            .allowed()
    );
    assert!(
        !p.authorize(&bob, &resource("get", "dev", "", "secrets", "", "other"))
            .allowed()
    );
    assert!(
        !p.authorize(&bob, &resource("list", "dev", "", "secrets", "", ""))
            .allowed()
    );
}

#[test]
fn service_accounts_groups_paths_and_masters() {
    let p = policy();
    let ci = user("system:serviceaccount:dev:ci");
    assert!(
        p.authorize(&ci, &resource("watch", "dev", "", "pods", "", ""))
            .allowed()
    );
    let other_ns = user("system:serviceaccount:prod:ci");
    assert!(
        !p.authorize(&other_ns, &resource("watch", "dev", "", "pods", "", ""))
            .allowed()
    );
    let path = |p: &str| Attributes {
        verb: "get".into(),
        path: p.into(),
        ..Default::default()
    };
    let anyone = user("zed");
    assert!(p.authorize(&anyone, &path("/api/v1")).allowed());
    assert!(p.authorize(&anyone, &path("/version")).allowed());
    assert!(!p.authorize(&anyone, &path("/metrics")).allowed());
    let admin = UserInfo {
        name: "system:admin".into(),
        groups: vec![MASTERS.into()],
        ..Default::default()
    };
    assert!(
        p.authorize(&admin, &resource("delete", "", "", "nodes", "", "n1"))
            .allowed()
    );
}

#[test]
fn rules_for_a_namespace() {
    let p = policy();
    let rules = p.rules_for(&user("bob"), "dev");
    // discovery (cluster-wide) + view (2 rules) + one-secret
    assert_eq!(rules.len(), 4);
    assert_eq!(p.rules_for(&user("bob"), "prod").len(), 1);
}

#[test]
fn who_can() {
    let p = policy();
    let (users, groups) = p.subjects_allowed(&resource("list", "dev", "", "configmaps", "", ""));
    assert_eq!(users, ["bob", "system:serviceaccount:dev:ci"]);
    assert!(groups.is_empty());
    let (users, _) = p.subjects_allowed(&resource("list", "prod", "", "configmaps", "", ""));
    assert!(users.is_empty());
}

#[test]
fn service_account_names_read_in_place() {
    let sa = |user, ns, name| is_service_account(user, ns, name);
    assert!(sa("system:serviceaccount:dev:ci", "dev", "ci"));
    assert!(!sa("system:serviceaccount:dev:ci", "dev", "c"));
    assert!(!sa("system:serviceaccount:dev:ci", "de", "v:ci"));
    assert!(!sa("system:serviceaccount:dev:ci:x", "dev", "ci"));
    assert!(!sa("system:serviceaccounts:dev:ci", "dev", "ci"));
    assert!(!sa("ci", "dev", "ci"));
}
