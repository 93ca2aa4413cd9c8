//! Owners known to be gone. An owner reference is looked up where it resolves (the
//! dependent's namespace for a namespaced kind), so what is absent is an owner at those
//! coordinates: the same uid may well exist in the namespace it lives in. Bounded, as
//! upstream's absent-owner cache: a forgotten owner is only looked up again.

use std::sync::Mutex;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

use crate::bounded::Lru;

/// Absent owners remembered at once.
pub const CAPACITY: usize = 1024;

/// An owner as one reference resolves it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OwnerKey {
    group: String,
    kind: String,
    /// Where it was looked for (None: cluster-scoped).
    namespace: Option<String>,
    name: String,
    uid: String,
}

impl OwnerKey {
    pub fn new(owner: &OwnerReference, namespace: Option<&str>) -> OwnerKey {
        OwnerKey {
            group: owner
                .api_version
                .rsplit_once('/')
                .map_or("", |(g, _)| g)
                .to_string(),
            kind: owner.kind.clone(),
            namespace: namespace.map(str::to_string),
            name: owner.name.clone(),
            uid: owner.uid.clone(),
        }
    }
}

#[derive(Debug)]
pub struct AbsentOwners(Mutex<Lru<OwnerKey, ()>>);

impl AbsentOwners {
    pub fn new(capacity: usize) -> Self {
        AbsentOwners(Mutex::new(Lru::new(capacity)))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Lru<OwnerKey, ()>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn contains(&self, key: &OwnerKey) -> bool {
        self.lock().contains(key)
    }

    pub fn insert(&self, key: OwnerKey) {
        self.lock().insert(key, ());
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().len()
    }
}

impl Default for AbsentOwners {
    fn default() -> Self {
        AbsentOwners::new(CAPACITY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(uid: &str) -> OwnerReference {
        OwnerReference {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            name: "web".into(),
            uid: uid.into(),
            ..Default::default()
        }
    }

    /// A reference from another namespace found nothing there; the owner still exists in
    /// its own namespace for its own dependents.
    #[test]
    fn absence_is_per_namespace_resolved() {
        let absent = AbsentOwners::default();
        absent.insert(OwnerKey::new(&owner("u"), Some("elsewhere")));
        assert!(absent.contains(&OwnerKey::new(&owner("u"), Some("elsewhere"))));
        assert!(!absent.contains(&OwnerKey::new(&owner("u"), Some("home"))));
        assert!(!absent.contains(&OwnerKey::new(&owner("u"), None)));
        assert!(!absent.contains(&OwnerKey::new(&owner("v"), Some("elsewhere"))));
    }

    #[test]
    fn is_bounded() {
        let absent = AbsentOwners::new(10);
        for i in 0..1000 {
            absent.insert(OwnerKey::new(&owner(&i.to_string()), Some("ns")));
        }
        assert_eq!(absent.len(), 10);
        assert!(absent.contains(&OwnerKey::new(&owner("999"), Some("ns"))));
        assert!(!absent.contains(&OwnerKey::new(&owner("0"), Some("ns"))));
    }
}
