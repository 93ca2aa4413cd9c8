//! The revision of this server's latest write of each resource, so that a read from a watch
//! cache can first wait until the cache holds it: the few reads made on every request that
//! must still see a write at once (a security policy just created) are then served from
//! memory, as upstream's consistent reads from cache are. Writes by other API servers sharing
//! the store are not seen here; those reach the cache as an informer's would.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use storage::Revision;

/// The part of a storage key that names its resource, `/registry/<group|core>/<plural>`: a
/// slice of the key, so that looking up its histogram allocates nothing.
pub(crate) fn resource_prefix(key: &str) -> &str {
    let Some(rest) = key.strip_prefix("/registry/") else {
        return "";
    };
    let mut slashes = rest.match_indices('/').map(|(i, _)| i);
    let end = match (slashes.next(), slashes.next()) {
        (Some(_), Some(second)) => second,
        (Some(_), None) => rest.len(),
        _ => return "",
    };
    &key[.."/registry/".len() + end]
}

#[derive(Default)]
pub struct WriteFence {
    /// By resource prefix (`/registry/<group|core>/<plural>`); a watch cache holds its own
    /// resource's, to read it without a look-up.
    latest: RwLock<HashMap<String, Arc<AtomicU64>, foldhash::fast::RandomState>>,
}

impl WriteFence {
    /// Notes a committed write of `key` at `revision`.
    pub fn note(&self, key: &str, revision: Revision) {
        let resource = resource_prefix(key);
        if resource.is_empty() {
            return;
        }
        if let Some(latest) = self
            .latest
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(resource)
        {
            latest.fetch_max(revision, Ordering::AcqRel);
            return;
        }
        self.of(resource).fetch_max(revision, Ordering::AcqRel);
    }

    /// The revision of the latest write of the resource under `prefix` (a resource's key
    /// prefix, or a key), 0 while there is none: it grows as writes are noted.
    pub fn of(&self, prefix: &str) -> Arc<AtomicU64> {
        self.latest
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(resource_prefix(prefix).to_string())
            .or_default()
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_write_of_each_resource_is_kept() {
        let fence = WriteFence::default();
        let latest = |prefix| fence.of(prefix).load(Ordering::Acquire);
        let pods = fence.of("/registry/core/pods/");
        assert_eq!(pods.load(Ordering::Acquire), 0);
        fence.note("/registry/core/pods/ns/a", 7);
        fence.note("/registry/core/pods/ns/b", 5);
        fence.note("/registry/apps/deployments/ns/a", 9);
        fence.note("/elsewhere", 11);
        // A counter taken before the writes sees them.
        assert_eq!(pods.load(Ordering::Acquire), 7);
        assert_eq!(latest("/registry/apps/deployments/"), 9);
        assert_eq!(latest("/registry/core/services/"), 0);
    }
}
