//! `OwnerReferencesPermissionEnforcement`: changing an object's ownerReferences needs the
//! right to delete it (a creator may always set them), and a new owner reference that blocks
//! its owner's deletion (`blockOwnerDeletion: true`) needs `update` on the owner's
//! `finalizers` subresource — the power to delete does not carry the power to hold up the
//! deletion of something else. Upstream's messages, reason and error included.

use std::collections::HashMap;

use api::field::Field;
use auth::rbac::Attributes as RbacAttributes;
use serde_json::Value;

use super::{Attributes, Operation};
use crate::ApiServer;
use crate::authz::authorizer::user_info;
use crate::error::ApiError;

pub const NAME: &str = "OwnerReferencesPermissionEnforcement";

pub fn applies(a: &Attributes<'_>) -> bool {
    // Upstream's one exception: kubelets write pods' status.
    let pod_status = a.def.group.is_empty() && a.def.plural == "pods" && a.subresource == "status";
    a.user.is_some() && matches!(a.operation, Operation::Create | Operation::Update) && !pod_status
}

/// The object's owner references, read in place (every create and update asks).
fn refs(obj: &Value) -> &[Value] {
    obj.field("metadata")
        .field("ownerReferences")
        .as_array()
        .map_or(&[], Vec::as_slice)
}

fn blocks(r: &Value) -> bool {
    r["blockOwnerDeletion"].as_bool() == Some(true)
}

/// The references that block their owner's deletion and did not before (by uid).
fn newly_blocking(new: &[Value], old: Option<&[Value]>) -> Vec<Value> {
    let old: HashMap<&str, &Value> = old
        .into_iter()
        .flatten()
        .map(|r| (r["uid"].as_str().unwrap_or_default(), r))
        .collect();
    new.iter()
        .filter(|r| blocks(r))
        .filter(|r| {
            old.get(r["uid"].as_str().unwrap_or_default())
                .is_none_or(|before| !blocks(before))
        })
        .cloned()
        .collect()
}

pub async fn check(server: &ApiServer, a: &Attributes<'_>, obj: &Value) -> Result<(), ApiError> {
    let Some(user) = a.user else {
        return Ok(());
    };
    let new = refs(obj);
    let old = a.old.map(refs);
    let changing = match old {
        None => !new.is_empty(),
        Some(old) => old != new,
    };
    if !changing {
        return Ok(());
    }
    let policy = server.authorizer.policy().await;
    let who = user_info(user);
    let namespace = a.namespace.unwrap_or_default();
    let refused = |message: &str| a.forbidden(obj, message);
    if a.operation != Operation::Create {
        let may_delete = policy
            .authorize(
                &who,
                &RbacAttributes {
                    verb: "delete".into(),
                    namespace: namespace.into(),
                    api_group: a.def.group.into(),
                    resource: a.def.plural.into(),
                    subresource: a.subresource.into(),
                    name: a.name.into(),
                    resource_request: true,
                    ..Default::default()
                },
            )
            .allowed();
        if !may_delete {
            return Err(refused(
                "cannot set an ownerRef on a resource you can't delete: , <nil>",
            ));
        }
    }
    let blocking = newly_blocking(new, old);
    if blocking.is_empty() {
        return Ok(());
    }
    let served = server.served();
    for r in blocking {
        let api_version = r["apiVersion"].as_str().unwrap_or_default();
        let kind = r["kind"].as_str().unwrap_or_default();
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let Some(owner) = served
            .scheme
            .resources()
            .iter()
            .find(|d| d.group == group && d.version == version && d.kind == kind)
        else {
            return Err(refused(&format!(
                "cannot set blockOwnerDeletion in this case because cannot find RESTMapping for APIVersion {api_version} Kind {kind}: no matches for kind {kind:?} in version {api_version:?}"
            )));
        };
        let may_hold = policy
            .authorize(
                &who,
                &RbacAttributes {
                    verb: "update".into(),
                    namespace: namespace.into(),
                    api_group: owner.group.into(),
                    resource: owner.plural.into(),
                    subresource: "finalizers".into(),
                    name: r["name"].as_str().unwrap_or_default().into(),
                    resource_request: true,
                    ..Default::default()
                },
            )
            .allowed();
        if !may_hold {
            return Err(refused(
                "cannot set blockOwnerDeletion if an ownerReference refers to a resource you can't set finalizers on: , <nil>",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_references_that_start_blocking_are_checked() {
        let r = |uid: &str, block: bool| json!({"uid": uid, "blockOwnerDeletion": block});
        let new = [r("a", true), r("b", true), r("c", false)];
        let old = [r("a", true), r("b", false)];
        let found = newly_blocking(&new, Some(&old));
        assert_eq!(found, [r("b", true)]);
        assert_eq!(newly_blocking(&new, None).len(), 2);
    }
}
