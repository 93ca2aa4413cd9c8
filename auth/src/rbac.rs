//! RBAC evaluation: whether the roles bound to a user allow a request, as upstream evaluates
//! Role, ClusterRole, RoleBinding and ClusterRoleBinding objects. Pure: the caller keeps the
//! `Policy` current (from the API's objects) and asks it.

use std::collections::HashMap;

use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};

/// The group every authenticated user is in.
pub const AUTHENTICATED: &str = "system:authenticated";
/// The group whose members may do anything (never subject to RBAC).
pub const MASTERS: &str = "system:masters";

/// Who is asking.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
    pub extra: std::collections::BTreeMap<String, Vec<String>>,
}

impl UserInfo {
    fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }
}

/// What is asked: a resource request, or a non-resource path.
#[derive(Clone, Debug, Default)]
pub struct Attributes {
    pub verb: String,
    /// Empty for cluster-scoped requests.
    pub namespace: String,
    pub api_group: String,
    pub resource: String,
    pub subresource: String,
    pub name: String,
    /// The request path, for non-resource requests.
    pub path: String,
    pub resource_request: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow(String),
    /// No rule allows it (RBAC has no opinion: nothing is ever denied explicitly).
    NoOpinion,
}

impl Decision {
    pub fn allowed(&self) -> bool {
        matches!(self, Decision::Allow(_))
    }
}

/// The RBAC objects of the cluster, indexed for evaluation.
#[derive(Debug, Default)]
pub struct Policy {
    cluster_roles: HashMap<String, Vec<PolicyRule>>,
    /// By namespace, then name.
    roles: HashMap<String, HashMap<String, Vec<PolicyRule>>>,
    cluster_role_bindings: Vec<ClusterRoleBinding>,
    /// By namespace.
    role_bindings: HashMap<String, Vec<RoleBinding>>,
}

impl Policy {
    pub fn new(
        cluster_roles: impl IntoIterator<Item = ClusterRole>,
        roles: impl IntoIterator<Item = Role>,
        cluster_role_bindings: impl IntoIterator<Item = ClusterRoleBinding>,
        role_bindings: impl IntoIterator<Item = RoleBinding>,
    ) -> Policy {
        let mut policy = Policy::default();
        for role in cluster_roles {
            let name = role.metadata.name.clone().unwrap_or_default();
            policy
                .cluster_roles
                .insert(name, role.rules.unwrap_or_default());
        }
        for role in roles {
            let namespace = role.metadata.namespace.clone().unwrap_or_default();
            let name = role.metadata.name.clone().unwrap_or_default();
            policy
                .roles
                .entry(namespace)
                .or_default()
                .insert(name, role.rules.unwrap_or_default());
        }
        policy.cluster_role_bindings = cluster_role_bindings.into_iter().collect();
        for binding in role_bindings {
            let namespace = binding.metadata.namespace.clone().unwrap_or_default();
            policy
                .role_bindings
                .entry(namespace)
                .or_default()
                .push(binding);
        }
        policy
    }

    /// Who may do `attrs` (`oc policy who-can`): the users and groups of every binding whose
    /// role allows it; service accounts are listed as their user names.
    pub fn subjects_allowed(&self, attrs: &Attributes) -> (Vec<String>, Vec<String>) {
        let (mut users, mut groups) = (Vec::new(), Vec::new());
        let mut add = |subjects: &Option<Vec<Subject>>, namespace: &str| {
            for s in subjects.iter().flatten() {
                match s.kind.as_str() {
                    "User" => users.push(s.name.clone()),
                    "Group" => groups.push(s.name.clone()),
                    "ServiceAccount" => {
                        let ns = s
                            .namespace
                            .as_deref()
                            .filter(|n| !n.is_empty())
                            .unwrap_or(namespace);
                        users.push(format!("system:serviceaccount:{ns}:{}", s.name));
                    }
                    _ => {}
                }
            }
        };
        let allows = |rules: Option<&Vec<PolicyRule>>| {
            rules.is_some_and(|rules| rules.iter().any(|r| rule_allows(r, attrs)))
        };
        for binding in &self.cluster_role_bindings {
            if allows(self.cluster_roles.get(&binding.role_ref.name)) {
                add(&binding.subjects, "");
            }
        }
        if !attrs.namespace.is_empty() {
            for binding in self
                .role_bindings
                .get(&attrs.namespace)
                .into_iter()
                .flatten()
            {
                let rules = self.role_rules(
                    &binding.role_ref.kind,
                    &attrs.namespace,
                    &binding.role_ref.name,
                );
                if allows(rules.as_ref()) {
                    add(&binding.subjects, &attrs.namespace);
                }
            }
        }
        for list in [&mut users, &mut groups] {
            list.sort();
            list.dedup();
        }
        (users, groups)
    }

    /// The rules of a role (`Role` in `namespace`, or `ClusterRole`), if it exists.
    pub fn role_rules(&self, kind: &str, namespace: &str, name: &str) -> Option<Vec<PolicyRule>> {
        match kind {
            "ClusterRole" => self.cluster_roles.get(name).cloned(),
            _ => self.roles.get(namespace)?.get(name).cloned(),
        }
    }

    /// Whether any role bound to `user` allows `attrs`.
    pub fn authorize(&self, user: &UserInfo, attrs: &Attributes) -> Decision {
        if user.in_group(MASTERS) {
            return Decision::Allow(format!("user is in the group {MASTERS:?}"));
        }
        let mut found = None;
        self.visit_rules(user, &attrs.namespace, |source, rules| {
            if rules.iter().any(|r| rule_allows(r, attrs)) {
                found = Some(source());
                false
            } else {
                true
            }
        });
        match found {
            Some(reason) => Decision::Allow(format!("RBAC: allowed by {reason}")),
            None => Decision::NoOpinion,
        }
    }

    /// Every rule bound to `user` in `namespace` (cluster-wide rules included), as
    /// SelfSubjectRulesReview reports them (the masters group's power comes from its binding
    /// to `cluster-admin`, as upstream's).
    pub fn rules_for(&self, user: &UserInfo, namespace: &str) -> Vec<PolicyRule> {
        let mut all = Vec::new();
        self.visit_rules(user, namespace, |_, rules| {
            all.extend(rules.iter().cloned());
            true
        });
        all
    }

    /// Calls `visit` with the rules of every binding of `user` that applies in `namespace`
    /// (cluster role bindings, then the namespace's role bindings), until it returns false.
    fn visit_rules(
        &self,
        user: &UserInfo,
        namespace: &str,
        mut visit: impl FnMut(&dyn Fn() -> String, &[PolicyRule]) -> bool,
    ) {
        for binding in &self.cluster_role_bindings {
            let Some(subject) = binding
                .subjects
                .iter()
                .flatten()
                .find(|s| applies_to(s, user, ""))
            else {
                continue;
            };
            if let Some(rules) = self.cluster_roles.get(&binding.role_ref.name) {
                let source = || {
                    describe(
                        "ClusterRoleBinding",
                        binding.metadata.name.as_deref(),
                        "",
                        &binding.role_ref,
                        subject,
                    )
                };
                if !visit(&source, rules) {
                    return;
                }
            }
        }
        if namespace.is_empty() {
            return;
        }
        for binding in self.role_bindings.get(namespace).into_iter().flatten() {
            let Some(subject) = binding
                .subjects
                .iter()
                .flatten()
                .find(|s| applies_to(s, user, namespace))
            else {
                continue;
            };
            let rules = match binding.role_ref.kind.as_str() {
                "ClusterRole" => self.cluster_roles.get(&binding.role_ref.name),
                _ => self
                    .roles
                    .get(namespace)
                    .and_then(|r| r.get(&binding.role_ref.name)),
            };
            if let Some(rules) = rules {
                let source = || {
                    describe(
                        "RoleBinding",
                        binding.metadata.name.as_deref(),
                        namespace,
                        &binding.role_ref,
                        subject,
                    )
                };
                if !visit(&source, rules) {
                    return;
                }
            }
        }
    }
}

fn describe(
    kind: &str,
    name: Option<&str>,
    namespace: &str,
    role: &RoleRef,
    subject: &Subject,
) -> String {
    let name = match namespace {
        "" => name.unwrap_or_default().to_string(),
        ns => format!("{}/{ns}", name.unwrap_or_default()),
    };
    format!(
        "{kind} {name:?} of {} {:?} to {} {:?}",
        role.kind, role.name, subject.kind, subject.name
    )
}

/// Whether a binding's subject is `user`. A service account subject without a namespace is
/// in the binding's namespace.
fn applies_to(subject: &Subject, user: &UserInfo, namespace: &str) -> bool {
    match subject.kind.as_str() {
        "User" => subject.name == user.name,
        "Group" => user.in_group(&subject.name),
        "ServiceAccount" => {
            let ns = subject
                .namespace
                .as_deref()
                .filter(|n| !n.is_empty())
                .unwrap_or(namespace);
            !ns.is_empty() && is_service_account(&user.name, ns, &subject.name)
        }
        _ => false,
    }
}

/// Whether `user` is `system:serviceaccount:<namespace>:<name>`, read in place: a decision
/// meets every service account bound cluster-wide, and formatting each name cost more than
/// the rest of the search.
fn is_service_account(user: &str, namespace: &str, name: &str) -> bool {
    user.strip_prefix("system:serviceaccount:")
        .and_then(|rest| rest.strip_prefix(namespace))
        .and_then(|rest| rest.strip_prefix(':'))
        == Some(name)
}

fn has(list: &Option<Vec<String>>, value: &str) -> bool {
    list.iter().flatten().any(|v| v == "*" || v == value)
}

/// Whether one rule allows the request.
pub fn rule_allows(rule: &PolicyRule, attrs: &Attributes) -> bool {
    if !rule.verbs.iter().any(|v| v == "*" || *v == attrs.verb) {
        return false;
    }
    if !attrs.resource_request {
        return rule.non_resource_urls.iter().flatten().any(|url| {
            url == "*"
                || *url == attrs.path
                || url
                    .strip_suffix('*')
                    .is_some_and(|prefix| attrs.path.starts_with(prefix))
        });
    }
    if !has(&rule.api_groups, &attrs.api_group) {
        return false;
    }
    let combined = match attrs.subresource.as_str() {
        "" => attrs.resource.clone(),
        sub => format!("{}/{sub}", attrs.resource),
    };
    let resource_matches = rule.resources.iter().flatten().any(|r| {
        r == "*"
            || *r == combined
            || (!attrs.subresource.is_empty()
                && r.strip_prefix("*/") == Some(attrs.subresource.as_str()))
    });
    if !resource_matches {
        return false;
    }
    match &rule.resource_names {
        Some(names) if !names.is_empty() => names.contains(&attrs.name),
        _ => true,
    }
}

#[cfg(test)]
mod tests;
