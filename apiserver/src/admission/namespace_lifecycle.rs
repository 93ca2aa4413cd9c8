//! Upstream's NamespaceLifecycle: nothing is created in a namespace that does not exist
//! (404) or is being deleted (403), and the namespaces every cluster needs may not be deleted.
//! The creation check runs first, before a kind assigns anything to the new object, as
//! upstream's plugin comes first in the chain.

use api::scheme::ResourceDef;

use super::{Attributes, Operation};
use crate::ApiServer;
use crate::error::{ApiError, from_storage};
use crate::registry::object::{self, target};

pub const NAME: &str = "NamespaceLifecycle";

/// The namespaces upstream never lets go.
const IMMORTAL: &[&str] = &["default", "kube-system", "kube-public"];

/// Refuses a new object of `def` named `name` in `namespace` unless the namespace exists and
/// is not being deleted.
pub async fn check_create(
    server: &ApiServer,
    namespace: &str,
    def: &ResourceDef,
    name: &str,
) -> Result<(), ApiError> {
    let ns_def = server
        .scheme
        .lookup("", "v1", "namespaces")
        .ok_or(ApiError::PathNotFound)?;
    let (found, _) = server
        .store
        .get(&ns_def.key(None, namespace), None)
        .await
        .map_err(|e| from_storage(e, target(ns_def, namespace)))?;
    let Some(kv) = found else {
        return Err(ApiError::NotFound(target(ns_def, namespace)));
    };
    // Parsed only when it may be terminating: most creates just need it to exist.
    if memchr::memmem::find(&kv.value, b"deletionTimestamp").is_some()
        && crate::registry::generic::deletion::being_deleted(&object::from_store(&kv)?)
    {
        return Err(ApiError::NamespaceTerminating {
            target: target(def, name),
            namespace: namespace.to_string(),
        });
    }
    Ok(())
}

/// Deletions of namespaces.
pub fn applies_to_deletion(a: &Attributes<'_>) -> bool {
    a.def.group.is_empty()
        && a.def.plural == "namespaces"
        && a.subresource.is_empty()
        && a.operation == Operation::Delete
}

pub fn check_deletion(a: &Attributes<'_>, namespace: &serde_json::Value) -> Result<(), ApiError> {
    match IMMORTAL.contains(&a.name) {
        true => Err(a.forbidden(namespace, "this namespace may not be deleted")),
        false => Ok(()),
    }
}
