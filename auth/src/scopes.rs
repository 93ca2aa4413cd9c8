//! OAuth token scopes: what a token may do at most, whatever its user may do. A token with
//! `user:full` (the default) is limited by RBAC alone; any other token may only do what one of
//! its scopes covers, and RBAC must still allow it.

use k8s_openapi::api::rbac::v1::PolicyRule;

use crate::rbac::{Attributes, Policy, rule_allows};

/// The user-info extra key under which the API server passes a token's scopes.
pub const EXTRA_KEY: &str = "scopes.authorization.openshift.io";

pub const FULL: &str = "user:full";

/// Whether `scope` is one the server understands.
pub fn valid(scope: &str) -> bool {
    match scope {
        FULL
        | "user:info"
        | "user:check-access"
        | "user:list-projects"
        | "user:list-scoped-projects" => true,
        _ => role_scope(scope).is_some(),
    }
}

/// `role:<cluster role>:<namespace>[:!]`: the role, the namespace (`*`: all) and whether
/// escalating resources are included.
fn role_scope(scope: &str) -> Option<(&str, &str, bool)> {
    let rest = scope.strip_prefix("role:")?;
    let (rest, escalating) = match rest.strip_suffix(":!") {
        Some(r) => (r, true),
        None => (rest, false),
    };
    let (role, namespace) = rest.split_once(':')?;
    (!role.is_empty() && !namespace.is_empty() && !namespace.contains(':'))
        .then_some((role, namespace, escalating))
}

fn rule(verbs: &[&str], group: &str, resources: &[&str], names: &[&str]) -> PolicyRule {
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    PolicyRule {
        verbs: strings(verbs),
        api_groups: Some(vec![group.to_string()]),
        resources: Some(strings(resources)),
        resource_names: (!names.is_empty()).then(|| strings(names)),
        non_resource_urls: None,
    }
}

/// What every scoped token may do: read who it is, check its access, and discover the API.
/// OpenShift's resources are also named in the core group, where they were before API groups
/// (the default roles name both, and so do upstream's scopes).
fn always() -> Vec<PolicyRule> {
    vec![
        rule(&["get"], "user.openshift.io", &["users"], &["~"]),
        rule(&["get"], "", &["users"], &["~"]),
        rule(
            &["create"],
            "authorization.k8s.io",
            &["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
            &[],
        ),
        rule(
            &["create"],
            "authorization.openshift.io",
            &["selfsubjectrulesreviews", "subjectrulesreviews"],
            &[],
        ),
        rule(
            &["create"],
            "",
            &["selfsubjectrulesreviews", "subjectrulesreviews"],
            &[],
        ),
        PolicyRule {
            verbs: vec!["get".into()],
            non_resource_urls: Some(
                [
                    "/api",
                    "/api/*",
                    "/apis",
                    "/apis/*",
                    "/version",
                    "/healthz",
                    "/livez",
                    "/readyz",
                    "/openapi/*",
                    "/.well-known/*",
                ]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            ),
            ..Default::default()
        },
    ]
}

/// Whether a rule's resources are ones a token can use to gain more power (secrets, tokens,
/// impersonation): left out of `role:` scopes unless they end in `:!`.
fn escalating(attrs: &Attributes) -> bool {
    attrs.verb == "impersonate"
        || matches!(
            (
                attrs.api_group.as_str(),
                attrs.resource.as_str(),
                attrs.subresource.as_str()
            ),
            ("", "secrets", _)
                | ("image.openshift.io", "imagestreams", "secrets")
                | (
                    "oauth.openshift.io",
                    "oauthaccesstokens" | "oauthauthorizetokens",
                    _
                )
                | ("", "serviceaccounts", "token")
        )
}

/// Whether a token with `scopes` may make the request (RBAC decides the rest). Tokens
/// without scopes, or with `user:full`, are not limited.
pub fn allows(policy: &Policy, scopes: &[String], attrs: &Attributes) -> bool {
    if scopes.is_empty() || scopes.iter().any(|s| s == FULL) {
        return true;
    }
    if always().iter().any(|r| rule_allows(r, attrs)) {
        return true;
    }
    scopes.iter().any(|scope| match scope.as_str() {
        "user:list-projects" | "user:list-scoped-projects" => ["project.openshift.io", ""]
            .iter()
            .any(|group| rule_allows(&rule(&["list", "watch"], group, &["projects"], &[]), attrs)),
        other => role_scope(other).is_some_and(|(role, namespace, with_escalating)| {
            (namespace == "*" || namespace == attrs.namespace)
                && (with_escalating || !escalating(attrs))
                && policy
                    .role_rules("ClusterRole", "", role)
                    .is_some_and(|rules| rules.iter().any(|r| rule_allows(r, attrs)))
        }),
    })
}

/// Whether every request `rule` grants in `namespace` is one the `scopes` allow (what a
/// scoped token's rules review keeps). Wildcards are covered only by wildcards.
pub fn covers(policy: &Policy, scopes: &[String], namespace: &str, rule: &PolicyRule) -> bool {
    let all = |v: &Option<Vec<String>>| v.clone().unwrap_or_default();
    let names = match all(&rule.resource_names) {
        n if n.is_empty() => vec![String::new()],
        n => n,
    };
    let mut requests = Vec::new();
    for verb in &rule.verbs {
        for group in all(&rule.api_groups) {
            for resource in all(&rule.resources) {
                let (resource, subresource) = match resource.split_once('/') {
                    Some((r, s)) => (r.to_string(), s.to_string()),
                    None => (resource.clone(), String::new()),
                };
                for name in &names {
                    requests.push(Attributes {
                        verb: verb.clone(),
                        namespace: namespace.to_string(),
                        api_group: group.clone(),
                        resource: resource.clone(),
                        subresource: subresource.clone(),
                        name: name.clone(),
                        resource_request: true,
                        ..Default::default()
                    });
                }
            }
        }
        for path in all(&rule.non_resource_urls) {
            requests.push(Attributes {
                verb: verb.clone(),
                path,
                ..Default::default()
            });
        }
    }
    requests.iter().all(|a| allows(policy, scopes, a))
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::rbac::v1::ClusterRole;

    use super::*;

    fn attrs(verb: &str, namespace: &str, group: &str, resource: &str, name: &str) -> Attributes {
        Attributes {
            verb: verb.into(),
            namespace: namespace.into(),
            api_group: group.into(),
            resource: resource.into(),
            name: name.into(),
            resource_request: true,
            ..Default::default()
        }
    }

    fn policy() -> Policy {
        let view = ClusterRole {
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                name: Some("view".into()),
                ..Default::default()
            },
            rules: Some(vec![rule(&["get", "list"], "", &["pods", "secrets"], &[])]),
            ..Default::default()
        };
        Policy::new([view], [], [], [])
    }

    #[test]
    fn scoped_rules_are_those_the_scopes_cover() {
        let p = policy();
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let pods = rule(&["get", "list"], "", &["pods"], &[]);
        let everything = rule(&["*"], "*", &["*"], &[]);
        assert!(covers(&p, &s(&["role:view:dev"]), "dev", &pods));
        assert!(!covers(&p, &s(&["role:view:dev"]), "prod", &pods));
        assert!(!covers(&p, &s(&["role:view:dev"]), "dev", &everything));
        assert!(covers(&p, &s(&["user:full"]), "dev", &everything));
        let me = rule(&["get"], "user.openshift.io", &["users"], &["~"]);
        assert!(covers(&p, &s(&["user:info"]), "dev", &me));
        assert!(!covers(&p, &s(&["user:info"]), "dev", &pods));
    }

    #[test]
    fn scope_names() {
        for good in ["user:full", "user:info", "role:view:dev", "role:admin:*:!"] {
            assert!(valid(good), "{good}");
        }
        for bad in ["user:root", "role:view", "role::dev", "role:view:a:b", "x"] {
            assert!(!valid(bad), "{bad}");
        }
    }

    #[test]
    fn scopes_limit_requests() {
        let p = policy();
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let pods = attrs("list", "dev", "", "pods", "");
        assert!(allows(&p, &[], &pods));
        assert!(allows(&p, &s(&["user:full"]), &pods));
        assert!(!allows(&p, &s(&["user:info"]), &pods));
        assert!(allows(
            &p,
            &s(&["user:info"]),
            &attrs("get", "", "user.openshift.io", "users", "~")
        ));
        assert!(!allows(
            &p,
            &s(&["user:info"]),
            &attrs("get", "", "user.openshift.io", "users", "bob")
        ));
        assert!(allows(&p, &s(&["role:view:dev"]), &pods));
        assert!(!allows(&p, &s(&["role:view:prod"]), &pods));
        assert!(allows(&p, &s(&["role:view:*"]), &pods));
        let secrets = attrs("get", "dev", "", "secrets", "s");
        assert!(!allows(&p, &s(&["role:view:dev"]), &secrets));
        assert!(allows(&p, &s(&["role:view:dev:!"]), &secrets));
        assert!(allows(
            &p,
            &s(&["user:list-projects"]),
            &attrs("list", "", "project.openshift.io", "projects", "")
        ));
        let discovery = Attributes {
            verb: "get".into(),
            path: "/apis/apps/v1".into(),
            ..Default::default()
        };
        assert!(allows(&p, &s(&["user:info"]), &discovery));
    }
}
