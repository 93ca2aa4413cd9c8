//! Whether RBAC grants a user the `use` of an SCC in a namespace, remembered per policy: a pod
//! create asks for each SCC tried, for the requester and for the pod's service account, and
//! each answer searches the cluster's bindings. The answers are kept with the policy they
//! were read from: the authorizer publishes a new policy on every change of a role or a
//! binding, and a new policy starts with no answers, so a grant or a revoke counts from the
//! next request on.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use auth::rbac::{Attributes as RbacAttributes, Policy, UserInfo};

/// Answers kept, at most: past it they start again (users come and go).
const MAX: usize = 16_384;

#[derive(Default)]
pub struct Grants {
    memo: Mutex<Option<Memo>>,
}

/// The answers read from one policy.
struct Memo {
    policy: Arc<Policy>,
    /// By user, groups, namespace and SCC (`key`), hashed with foldhash: the keys are long,
    /// and SipHash cost more than the rest of the look-up.
    answers: HashMap<String, bool, foldhash::fast::RandomState>,
}

impl Grants {
    /// Whether `policy` grants `who` the `use` of the SCC `scc` in `namespace`.
    pub fn granted(
        &self,
        policy: &Arc<Policy>,
        who: &UserInfo,
        namespace: &str,
        scc: &str,
    ) -> bool {
        let key = key(who, namespace, scc);
        if let Some(answer) = self.kept(policy, &key) {
            return answer;
        }
        let answer = decide(policy, who, namespace, scc);
        let mut memo = self.memo.lock().unwrap_or_else(|e| e.into_inner());
        match memo.as_mut() {
            Some(m) if Arc::ptr_eq(&m.policy, policy) => {
                if m.answers.len() >= MAX {
                    m.answers.clear();
                }
                m.answers.insert(key, answer);
            }
            // A newer policy than the kept one's, or the first: its answers start here. (An
            // older one, read before a change, replaces the newer for a moment: only answers
            // are lost, never mixed.)
            _ => {
                *memo = Some(Memo {
                    policy: policy.clone(),
                    answers: HashMap::from_iter([(key, answer)]),
                })
            }
        }
        answer
    }

    fn kept(&self, policy: &Arc<Policy>, key: &str) -> Option<bool> {
        let memo = self.memo.lock().unwrap_or_else(|e| e.into_inner());
        let m = memo.as_ref().filter(|m| Arc::ptr_eq(&m.policy, policy))?;
        m.answers.get(key).copied()
    }
}

/// Everything an RBAC decision reads of the request: the user's name and groups (in order,
/// as given), the namespace and the SCC, each ended by a NUL, which no name holds.
fn key(who: &UserInfo, namespace: &str, scc: &str) -> String {
    let parts = [who.name.as_str(), namespace, scc]
        .into_iter()
        .chain(who.groups.iter().map(String::as_str));
    let len: usize = parts.clone().map(|p| p.len() + 1).sum();
    let mut key = String::with_capacity(len + 4);
    // The count of groups first, so that no two requests' parts run together alike.
    let groups = who.groups.len().to_string();
    key.push_str(&groups);
    key.push('\0');
    for part in parts {
        key.push_str(part);
        key.push('\0');
    }
    key
}

/// Granted `use` of the SCC by RBAC in the pod's namespace.
fn decide(policy: &Policy, who: &UserInfo, namespace: &str, scc: &str) -> bool {
    policy
        .authorize(
            who,
            &RbacAttributes {
                verb: "use".into(),
                namespace: namespace.into(),
                api_group: "security.openshift.io".into(),
                resource: "securitycontextconstraints".into(),
                name: scc.into(),
                resource_request: true,
                ..Default::default()
            },
        )
        .allowed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::rbac::v1::{ClusterRole, RoleBinding};
    use serde_json::json;

    fn user(name: &str, groups: &[&str]) -> UserInfo {
        UserInfo {
            name: name.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            ..Default::default()
        }
    }

    fn parse<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
        serde_json::from_value(v).expect("an RBAC object")
    }

    /// A policy granting `who` the use of `anyuid` in `dev`, or nothing.
    fn policy(who: Option<&str>) -> Arc<Policy> {
        let role: ClusterRole = parse(json!({"metadata": {"name": "use-anyuid"}, "rules": [{
            "apiGroups": ["security.openshift.io"], "resources": ["securitycontextconstraints"],
            "resourceNames": ["anyuid"], "verbs": ["use"]}]}));
        let bindings = who.map(|who| -> RoleBinding {
            parse(json!({"metadata": {"name": "anyuid", "namespace": "dev"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "use-anyuid"},
                "subjects": [{"kind": "User", "name": who}]}))
        });
        Arc::new(Policy::new([role], [], [], bindings))
    }

    #[test]
    fn answers_follow_the_policy() {
        let grants = Grants::default();
        let (alice, bob) = (user("alice", &[]), user("bob", &[]));
        let granted = policy(Some("alice"));
        assert!(grants.granted(&granted, &alice, "dev", "anyuid"));
        assert!(grants.granted(&granted, &alice, "dev", "anyuid"));
        assert!(!grants.granted(&granted, &bob, "dev", "anyuid"));
        assert!(!grants.granted(&granted, &alice, "prod", "anyuid"));
        assert!(!grants.granted(&granted, &alice, "dev", "privileged"));
        // Revoked: the next question of the new policy says so.
        let revoked = policy(None);
        assert!(!grants.granted(&revoked, &alice, "dev", "anyuid"));
        // Granted again, in a policy of its own.
        assert!(grants.granted(&policy(Some("alice")), &alice, "dev", "anyuid"));
    }

    #[test]
    fn keys_tell_names_groups_and_namespaces_apart() {
        let k = |name, groups: &[&str], ns, scc| key(&user(name, groups), ns, scc);
        assert_ne!(k("a", &["b"], "c", "d"), k("a", &[], "b", "c"));
        assert_ne!(k("a", &["b", "c"], "d", "e"), k("a", &["b"], "c", "e"));
        assert_ne!(k("ab", &[], "c", "d"), k("a", &[], "bc", "d"));
        assert_eq!(k("a", &["g"], "n", "s"), k("a", &["g"], "n", "s"));
    }
}
