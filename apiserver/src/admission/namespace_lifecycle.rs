//! Upstream's NamespaceLifecycle: nothing is created in a namespace that does not exist
//! (404) or is being deleted (403), and the namespaces every cluster needs may not be deleted.
//! The creation check runs first, before a kind assigns anything to the new object, as
//! upstream's plugin comes first in the chain.

use api::scheme::ResourceDef;

use super::{Attributes, Operation};
use crate::ApiServer;
use crate::error::ApiError;
use crate::registry::generic::deletion::being_deleted;
use crate::registry::object::target;

pub const NAME: &str = "NamespaceLifecycle";

/// The namespaces upstream never lets go.
const IMMORTAL: &[&str] = &["default", "kube-system", "kube-public"];

/// Refuses a new object of `def` named `name` in `namespace` unless the namespace exists and
/// is not being deleted. The namespace is read as the other plugins read it (from the watch
/// cache, parsed once for them all; from the store when the cache has not seen it), once
/// the cache holds this server's own writes of namespaces: a deletion just asked for is seen.
pub async fn check_create(
    server: &ApiServer,
    namespace: &str,
    def: &ResourceDef,
    name: &str,
) -> Result<(), ApiError> {
    let (ns_def, fresh) = server.fresh_named_cache("", "v1", "namespaces").await?;
    let found = match fresh {
        Some(_) => server.namespace_object(namespace).await?,
        None => server
            .get_object(ns_def, None, namespace)
            .await?
            .map(std::sync::Arc::new),
    };
    let Some(ns) = found else {
        return Err(ApiError::NotFound(target(ns_def, namespace)));
    };
    if being_deleted(&ns) {
        return Err(ApiError::NamespaceTerminating {
            target: target(def, name),
            namespace: namespace.to_string(),
        });
    }
    Ok(())
}

/// Deletions of namespaces.
pub fn applies_to_deletion(a: &Attributes<'_>) -> bool {
    a.is_object_of("", "namespaces") && a.operation == Operation::Delete
}

pub fn check_deletion(a: &Attributes<'_>, namespace: &serde_json::Value) -> Result<(), ApiError> {
    match IMMORTAL.contains(&a.name) {
        true => Err(a.forbidden(namespace, "this namespace may not be deleted")),
        false => Ok(()),
    }
}
