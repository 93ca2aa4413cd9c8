use super::*;

fn policy(rules: &str) -> Policy {
    Policy::parse(&format!(
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n{rules}"
    ))
    .unwrap()
}

fn resource<'a>(verb: &'a str, group: &'a str, resource: &'a str, sub: &'a str) -> Attributes<'a> {
    Attributes {
        user: "alice",
        verb,
        resource_request: true,
        api_group: group,
        resource,
        subresource: sub,
        namespace: "dev",
        name: "web",
        ..Default::default()
    }
}

fn path(path: &str) -> Attributes<'_> {
    Attributes {
        user: "alice",
        verb: "get",
        path,
        ..Default::default()
    }
}

#[test]
fn the_first_matching_rule_wins() {
    let p = policy(
        "- level: None\n  users: [system:kube-proxy]\n\
         - level: RequestResponse\n  resources: [{group: '', resources: [pods]}]\n\
         - level: Metadata\n",
    );
    let pods = resource("get", "", "pods", "");
    assert_eq!(p.evaluate(&pods).level, Level::RequestResponse);
    let proxy = Attributes {
        user: "system:kube-proxy",
        ..pods
    };
    assert_eq!(p.evaluate(&proxy).level, Level::None);
    assert_eq!(
        p.evaluate(&resource("get", "", "secrets", "")).level,
        Level::Metadata
    );
    assert_eq!(p.evaluate(&path("/healthz")).level, Level::Metadata);
}

#[test]
fn no_matching_rule_means_no_audit() {
    let p = policy("- level: Metadata\n  verbs: [create]\n");
    assert_eq!(
        p.evaluate(&resource("get", "", "pods", "")).level,
        Level::None
    );
    assert_eq!(
        p.evaluate(&resource("create", "", "pods", "")).level,
        Level::Metadata
    );
}

#[test]
fn users_groups_verbs_and_namespaces() {
    let p = policy(
        "- level: Request\n  userGroups: [admins]\n  verbs: [update, patch]\n  namespaces: [dev, '']\n",
    );
    let groups = vec!["system:authenticated".to_string(), "admins".to_string()];
    let a = Attributes {
        groups: &groups,
        ..resource("patch", "apps", "deployments", "")
    };
    assert_eq!(p.evaluate(&a).level, Level::Request);
    assert_eq!(
        p.evaluate(&Attributes { groups: &[], ..a }).level,
        Level::None
    );
    assert_eq!(
        p.evaluate(&Attributes { verb: "get", ..a }).level,
        Level::None
    );
    assert_eq!(
        p.evaluate(&Attributes {
            namespace: "prod",
            ..a
        })
        .level,
        Level::None
    );
    // "" is cluster-scoped.
    assert_eq!(
        p.evaluate(&Attributes { namespace: "", ..a }).level,
        Level::Request
    );
    // Namespaces make a rule a resource rule.
    let urls = Attributes {
        groups: &groups,
        verb: "update",
        ..path("/version")
    };
    assert_eq!(p.evaluate(&urls).level, Level::None);
}

#[test]
fn resources_subresources_and_wildcards() {
    let level = |spec: &str, group: &str, res: &str, sub: &str| {
        policy(&format!(
            "- level: Metadata\n  resources: [{{group: '{group}', resources: ['{spec}']}}]\n"
        ))
        .evaluate(&resource("get", group, res, sub))
        .level
    };
    let m = Level::Metadata;
    let n = Level::None;
    assert_eq!(level("pods", "", "pods", ""), m);
    assert_eq!(
        level("pods", "", "pods", "log"),
        n,
        "a resource does not cover its subresources"
    );
    assert_eq!(level("pods/log", "", "pods", "log"), m);
    assert_eq!(level("pods/log", "", "pods", ""), n);
    assert_eq!(level("pods/*", "", "pods", "status"), m);
    assert_eq!(
        level("pods/*", "", "pods", ""),
        m,
        "as upstream, pods/* also matches pods"
    );
    assert_eq!(level("*/scale", "apps", "deployments", "scale"), m);
    assert_eq!(level("*/scale", "apps", "deployments", ""), n);
    assert_eq!(level("*", "apps", "deployments", "status"), m);
    let apps = policy("- level: Metadata\n  resources: [{group: apps, resources: ['*']}]\n");
    assert_eq!(
        apps.evaluate(&resource("get", "", "pods", "")).level,
        n,
        "the group must match"
    );
    // No resources: every resource of the group.
    let p = policy("- level: Request\n  resources: [{group: apps}]\n");
    assert_eq!(
        p.evaluate(&resource("get", "apps", "deployments", "scale"))
            .level,
        Level::Request
    );
    assert_eq!(
        p.evaluate(&resource("get", "", "pods", "")).level,
        Level::None
    );
    // Resource names.
    let p = policy(
        "- level: Request\n  resources: [{resources: [configmaps], resourceNames: [web]}]\n",
    );
    assert_eq!(
        p.evaluate(&resource("get", "", "configmaps", "")).level,
        Level::Request
    );
    let other = Attributes {
        name: "db",
        ..resource("get", "", "configmaps", "")
    };
    assert_eq!(p.evaluate(&other).level, Level::None);
    // Resource rules never match non-resource requests.
    assert_eq!(
        policy("- level: Metadata\n  resources: [{resources: ['*']}]\n")
            .evaluate(&path("/api"))
            .level,
        n
    );
}

#[test]
fn non_resource_urls() {
    let p = policy("- level: None\n  nonResourceURLs: ['/api*', /version]\n- level: Metadata\n");
    assert_eq!(p.evaluate(&path("/api")).level, Level::None);
    assert_eq!(p.evaluate(&path("/apis/apps/v1")).level, Level::None);
    assert_eq!(p.evaluate(&path("/version")).level, Level::None);
    assert_eq!(p.evaluate(&path("/version/x")).level, Level::Metadata);
    assert_eq!(p.evaluate(&path("/healthz")).level, Level::Metadata);
    // A resource request under /api is not a non-resource URL.
    assert_eq!(
        p.evaluate(&resource("get", "", "pods", "")).level,
        Level::Metadata
    );
    let all = policy("- level: Request\n  nonResourceURLs: ['*']\n");
    assert_eq!(all.evaluate(&path("/metrics")).level, Level::Request);
}

#[test]
fn omitted_stages_are_the_union_of_the_rule_and_the_policy() {
    let p = Policy::parse(
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n\
         - level: Metadata\n  verbs: [watch]\n  omitStages: [ResponseStarted]\n\
         - level: Metadata\n",
    )
    .unwrap();
    let watch = p.evaluate(&resource("watch", "", "pods", ""));
    assert!(!watch.records(Stage::RequestReceived));
    assert!(!watch.records(Stage::ResponseStarted));
    assert!(watch.records(Stage::ResponseComplete));
    let get = p.evaluate(&resource("get", "", "pods", ""));
    assert!(!get.records(Stage::RequestReceived));
    assert!(get.records(Stage::ResponseStarted) && get.records(Stage::Panic));
    // Level None records nothing.
    assert!(!RequestConfig::default().records(Stage::ResponseComplete));
}

#[test]
fn omit_managed_fields_per_rule_overrides_the_policy() {
    let p = Policy::parse(
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitManagedFields: true\nrules:\n\
         - level: Request\n  verbs: [create]\n  omitManagedFields: false\n\
         - level: Request\n",
    )
    .unwrap();
    assert!(
        !p.evaluate(&resource("create", "", "pods", ""))
            .omit_managed_fields
    );
    assert!(
        p.evaluate(&resource("update", "", "pods", ""))
            .omit_managed_fields
    );
}

#[test]
fn json_policies_read_too() {
    let p = Policy::parse(
        r#"{"apiVersion":"audit.k8s.io/v1","kind":"Policy","rules":[{"level":"Metadata","nonResourceURLs":["/healthz"]}]}"#,
    )
    .unwrap();
    assert_eq!(p.evaluate(&path("/healthz")).level, Level::Metadata);
}

#[test]
fn invalid_policies_say_what_is_wrong() {
    let err = |text: &str| Policy::parse(text).unwrap_err().0;
    let head = "apiVersion: audit.k8s.io/v1\nkind: Policy\n";
    assert!(
        err("apiVersion: audit.k8s.io/v1beta1\nkind: Policy\nrules: [{level: None}]")
            .contains("must be apiVersion: audit.k8s.io/v1, kind: Policy")
    );
    assert_eq!(err(head), "loaded illegal policy with 0 rules");
    assert_eq!(
        err(&format!("{head}rules: [{{level: Everything}}]")),
        "rules[0].level: Unsupported value: \"Everything\": supported values: \"None\", \"Metadata\", \"Request\", \"RequestResponse\""
    );
    assert_eq!(
        err(&format!("{head}rules: [{{users: [a]}}]")),
        "rules[0].level: Required value"
    );
    assert_eq!(
        err(&format!(
            "{head}rules: [{{level: None, nonResourceURLs: [healthz, '/a*b']}}]"
        )),
        "rules[0].nonResourceURLs[0]: Invalid value: \"healthz\": non-resource URL rules must begin with a '/' character, \
         rules[0].nonResourceURLs[1]: Invalid value: \"/a*b\": non-resource URL wildcards '*' must be the final character of the rule"
    );
    assert!(
        err(&format!(
            "{head}rules: [{{level: None, nonResourceURLs: [/a], namespaces: [x]}}]"
        ))
        .contains("rules cannot apply to both regular resources and non-resource URLs")
    );
    assert!(
        err(&format!(
            "{head}rules: [{{level: None, resources: [{{group: rbac.authorization.k8s.io/v1}}]}}]"
        ))
        .starts_with(
            "rules[0].resources[0].group: Invalid value: \"rbac.authorization.k8s.io/v1\""
        )
    );
    assert!(
        err(&format!(
            "{head}rules: [{{level: None, resources: [{{resourceNames: [a]}}]}}]"
        ))
        .contains("using resourceNames requires at least one resource")
    );
    assert_eq!(
        err(&format!(
            "{head}omitStages: [Done]\nrules: [{{level: None}}]"
        )),
        "omitStages[0]: Invalid value: \"Done\": allowed stages are RequestReceived,ResponseStarted,ResponseComplete,Panic"
    );
    // A misspelt field is refused rather than silently matching everything.
    assert!(
        err(&format!("{head}rules: [{{level: None, user: [a]}}]")).starts_with("failed decoding")
    );
}

#[test]
fn the_default_profile_is_openshifts() {
    let p = Policy::default_profile();
    assert_eq!(p, Policy::parse(DEFAULT_POLICY).unwrap());
    let groups = vec!["system:authenticated".to_string()];
    let user = |a: Attributes<'static>| Attributes {
        groups: &groups,
        ..a
    };
    let config = p.evaluate(&user(resource("get", "", "secrets", "")));
    assert_eq!(config.level, Level::Metadata);
    assert!(config.omit_managed_fields);
    assert!(!config.records(Stage::RequestReceived));
    assert_eq!(
        p.evaluate(&user(resource("create", "", "configmaps", "")))
            .level,
        Level::Metadata
    );
    assert_eq!(
        p.evaluate(&user(resource("create", "", "serviceaccounts", "token")))
            .level,
        Level::Metadata
    );
    assert_eq!(
        p.evaluate(&user(resource(
            "create",
            "authentication.k8s.io",
            "tokenreviews",
            ""
        )))
        .level,
        Level::Metadata
    );
    assert_eq!(
        p.evaluate(&user(resource(
            "create",
            "user.openshift.io",
            "identities",
            ""
        )))
        .level,
        Level::RequestResponse
    );
    assert_eq!(
        p.evaluate(&user(resource(
            "get",
            "user.openshift.io",
            "identities",
            ""
        )))
        .level,
        Level::Metadata
    );
    assert_eq!(p.evaluate(&user(path("/apis/apps"))).level, Level::None);
    assert_eq!(p.evaluate(&user(path("/readyz"))).level, Level::None);
    assert_eq!(p.evaluate(&user(path("/metrics"))).level, Level::Metadata);
}
