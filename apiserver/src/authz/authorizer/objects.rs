//! The RBAC objects the authorizer follows, parsed once each and kept by storage key: a batch
//! of changes parses only the objects it changes, and the policy index is rebuilt from what
//! is already parsed.

use std::collections::HashMap;

use auth::rbac::Policy;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::de::DeserializeOwned;

/// The four RBAC kinds, in the order `Policy::new` takes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    ClusterRoles,
    Roles,
    ClusterRoleBindings,
    RoleBindings,
}

impl Kind {
    pub(super) const ALL: [Kind; 4] = [
        Kind::ClusterRoles,
        Kind::Roles,
        Kind::ClusterRoleBindings,
        Kind::RoleBindings,
    ];

    /// Where the kind's objects are stored.
    pub(super) fn prefix(self) -> &'static str {
        match self {
            Kind::ClusterRoles => "/registry/rbac.authorization.k8s.io/clusterroles/",
            Kind::Roles => "/registry/rbac.authorization.k8s.io/roles/",
            Kind::ClusterRoleBindings => "/registry/rbac.authorization.k8s.io/clusterrolebindings/",
            Kind::RoleBindings => "/registry/rbac.authorization.k8s.io/rolebindings/",
        }
    }
}

#[derive(Default)]
pub(super) struct RbacObjects {
    cluster_roles: HashMap<String, ClusterRole>,
    roles: HashMap<String, Role>,
    cluster_role_bindings: HashMap<String, ClusterRoleBinding>,
    role_bindings: HashMap<String, RoleBinding>,
    /// Objects parsed so far.
    pub(super) parsed: u64,
}

impl RbacObjects {
    /// Sets the object stored under `key` to `json`. One that does not parse grants nothing,
    /// so it is left out.
    pub(super) fn put(&mut self, kind: Kind, key: &str, json: &[u8]) {
        self.parsed += 1;
        match kind {
            Kind::ClusterRoles => {
                let obj = parse(json, |o: &mut ClusterRole| &mut o.metadata);
                set(&mut self.cluster_roles, key, obj)
            }
            Kind::Roles => {
                let obj = parse(json, |o: &mut Role| &mut o.metadata);
                set(&mut self.roles, key, obj)
            }
            Kind::ClusterRoleBindings => {
                let obj = parse(json, |o: &mut ClusterRoleBinding| &mut o.metadata);
                set(&mut self.cluster_role_bindings, key, obj)
            }
            Kind::RoleBindings => {
                let obj = parse(json, |o: &mut RoleBinding| &mut o.metadata);
                set(&mut self.role_bindings, key, obj)
            }
        }
    }

    pub(super) fn remove(&mut self, kind: Kind, key: &str) {
        match kind {
            Kind::ClusterRoles => drop(self.cluster_roles.remove(key)),
            Kind::Roles => drop(self.roles.remove(key)),
            Kind::ClusterRoleBindings => drop(self.cluster_role_bindings.remove(key)),
            Kind::RoleBindings => drop(self.role_bindings.remove(key)),
        }
    }

    /// The policy index of the objects as they are now.
    pub(super) fn policy(&self) -> Policy {
        Policy::new(
            self.cluster_roles.values().cloned(),
            self.roles.values().cloned(),
            self.cluster_role_bindings.values().cloned(),
            self.role_bindings.values().cloned(),
        )
    }
}

fn set<T>(objects: &mut HashMap<String, T>, key: &str, obj: Option<T>) {
    match obj {
        Some(obj) => drop(objects.insert(key.to_string(), obj)),
        None => drop(objects.remove(key)),
    }
}

/// `json` as a `T` with only the metadata the index reads (name and namespace): the rest
/// (managed fields, annotations) would make every rebuild's copies dearer for nothing.
fn parse<T: DeserializeOwned>(json: &[u8], meta: impl Fn(&mut T) -> &mut ObjectMeta) -> Option<T> {
    let mut obj: T = serde_json::from_slice(json).ok()?;
    let metadata = meta(&mut obj);
    *metadata = ObjectMeta {
        name: metadata.name.take(),
        namespace: metadata.namespace.take(),
        ..Default::default()
    };
    Some(obj)
}
