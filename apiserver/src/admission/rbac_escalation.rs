//! RBAC escalation prevention, as upstream: a role may only grant permissions its writer
//! holds (or the writer has `escalate` on roles), and a binding may only reference a role whose
//! permissions its writer holds (or the writer has `bind` on that role); without `bind`, the
//! role must exist.

use auth::rbac::{Attributes, Policy, UserInfo};
use k8s_openapi::api::rbac::v1::PolicyRule;
use serde_json::Value;

use crate::ApiServer;
use crate::authz::authorizer::user_info;
use crate::error::{ApiError, Target};
use crate::registry::object;

/// Whether a request is one this check judges: writes of roles and bindings by a user.
pub fn applies(a: &super::Attributes<'_>) -> bool {
    a.def.group == "rbac.authorization.k8s.io"
        && a.user.is_some()
        && matches!(
            a.operation,
            super::Operation::Create | super::Operation::Update
        )
}

pub async fn check(
    server: &ApiServer,
    a: &super::Attributes<'_>,
    obj: &Value,
) -> Result<(), ApiError> {
    let (def, Some(user)) = (a.def, a.user) else {
        return Ok(());
    };
    let policy = server.authorizer.policy().await;
    let who = user_info(user);
    let namespace = object::meta_str(obj, "namespace");
    let name = object::meta_str(obj, "name");
    let may = |verb: &str, resource: &str, name: &str| {
        policy
            .authorize(
                &who,
                &Attributes {
                    verb: verb.into(),
                    namespace: namespace.into(),
                    api_group: def.group.into(),
                    resource: resource.into(),
                    name: name.into(),
                    resource_request: true,
                    ..Default::default()
                },
            )
            .allowed()
    };
    let rules = match def.kind {
        "Role" | "ClusterRole" => {
            if may("escalate", def.plural, name) {
                return Ok(());
            }
            rules_of(obj)
        }
        "RoleBinding" | "ClusterRoleBinding" => {
            let role_kind = obj["roleRef"]["kind"].as_str().unwrap_or_default();
            let role_name = obj["roleRef"]["name"].as_str().unwrap_or_default();
            let role_plural = match role_kind {
                "ClusterRole" => "clusterroles",
                _ => "roles",
            };
            if may("bind", role_plural, role_name) {
                return Ok(());
            }
            referenced_rules(server, &policy, role_kind, namespace, role_name).await?
        }
        _ => return Ok(()),
    };
    let missing: Vec<String> = rules
        .iter()
        .filter(|rule| !covered(&policy, &who, namespace, rule))
        .map(describe)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(ApiError::Forbidden {
        target: Target {
            group: def.group.to_string(),
            resource: def.plural.to_string(),
            name: name.to_string(),
        },
        message: format!(
            "user {:?} (groups=[{}]) is attempting to grant RBAC permissions not currently held:\n{}",
            who.name,
            who.groups
                .iter()
                .map(|g| format!("{g:?}"))
                .collect::<Vec<_>>()
                .join(" "),
            missing.join("\n")
        ),
    })
}

fn rules_of(obj: &Value) -> Vec<PolicyRule> {
    serde_json::from_value(obj["rules"].clone()).unwrap_or_default()
}

/// The rules of the role a binding references. Without `bind` on it, the role must exist
/// (NotFound otherwise, as upstream): nobody may pre-bind to a role created later. The
/// policy may not have seen a role created a moment ago, so the store decides.
async fn referenced_rules(
    server: &ApiServer,
    policy: &Policy,
    kind: &str,
    namespace: &str,
    name: &str,
) -> Result<Vec<PolicyRule>, ApiError> {
    if let Some(rules) = policy.role_rules(kind, namespace, name) {
        return Ok(rules);
    }
    let (plural, role_namespace) = match kind {
        "ClusterRole" => ("clusterroles", None),
        _ => ("roles", Some(namespace)),
    };
    let def = server
        .scheme
        .lookup("rbac.authorization.k8s.io", "v1", plural)
        .ok_or(ApiError::PathNotFound)?;
    match server.get_object(def, role_namespace, name).await? {
        Some(role) => Ok(rules_of(&role)),
        None => Err(ApiError::NotFound(object::target(def, name))),
    }
}

/// Whether the user holds every permission of `rule` (wildcards only by wildcards).
fn covered(policy: &Policy, user: &UserInfo, namespace: &str, rule: &PolicyRule) -> bool {
    let list = |v: &Option<Vec<String>>| v.clone().unwrap_or_default();
    let verbs = &rule.verbs;
    if let Some(urls) = rule.non_resource_urls.as_ref().filter(|u| !u.is_empty()) {
        return urls.iter().all(|url| {
            verbs.iter().all(|verb| {
                policy
                    .authorize(
                        user,
                        &Attributes {
                            verb: verb.clone(),
                            path: url.clone(),
                            ..Default::default()
                        },
                    )
                    .allowed()
            })
        });
    }
    let names = match list(&rule.resource_names) {
        n if n.is_empty() => vec![String::new()],
        n => n,
    };
    list(&rule.api_groups).iter().all(|group| {
        list(&rule.resources).iter().all(|resource| {
            let (resource, subresource) = resource.split_once('/').unwrap_or((resource, ""));
            verbs.iter().all(|verb| {
                names.iter().all(|name| {
                    policy
                        .authorize(
                            user,
                            &Attributes {
                                verb: verb.clone(),
                                namespace: namespace.into(),
                                api_group: group.clone(),
                                resource: resource.into(),
                                subresource: subresource.into(),
                                name: name.clone(),
                                resource_request: true,
                                ..Default::default()
                            },
                        )
                        .allowed()
                })
            })
        })
    })
}

fn describe(rule: &PolicyRule) -> String {
    let mut parts = Vec::new();
    let show = |label: &str, v: &Option<Vec<String>>| {
        v.as_ref()
            .filter(|v| !v.is_empty())
            .map(|v| format!("{label}:{v:?}"))
    };
    parts.extend(show("APIGroups", &rule.api_groups));
    parts.extend(show("Resources", &rule.resources));
    parts.extend(show("ResourceNames", &rule.resource_names));
    parts.extend(show("NonResourceURLs", &rule.non_resource_urls));
    parts.push(format!("Verbs:{:?}", rule.verbs));
    format!("{{{}}}", parts.join(", "))
}
