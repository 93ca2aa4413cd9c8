//! DELETE and DELETECOLLECTION of the generic store: preconditions, finalizers and
//! propagation (marking the object, or removing it), guarded by the revision read.

use api::scheme::ResourceDef;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use storage::ListOptions;

use super::{Target, current};
use crate::ApiServer;
use crate::error::{ApiError, from_storage};
use crate::registry::conversion;
use crate::registry::object::{self, target};
use crate::registry::query::Params;
use crate::registry::response::{Output, deleted, json_response, list_body};
use crate::registry::selection::Selection;
use crate::registry::strategy::Strategy;

pub(super) async fn delete(
    server: &ApiServer,
    t: &Target<'_>,
    body: &[u8],
    params: &Params,
    out: Output,
) -> Result<Response, ApiError> {
    let (def, name) = (t.def, t.name);
    let options = crate::registry::generic::deletion::DeleteOptions::parse(body, params)?;
    let dry_run = t.dry_run || crate::registry::generic::deletion::dry_run(&options.dry_run)?;
    // Retried as patches are.
    loop {
        let current = current(server, t).await?;
        let obj = conversion::decode(server, def, &current).await?;
        if let Some(pre) = &options.preconditions {
            // Upstream's BeforeDelete names the object by its kind.
            let failed = |reason: String| ApiError::ConflictBecause {
                target: crate::error::Target {
                    resource: def.kind.to_string(),
                    ..target(def, name)
                },
                reason,
            };
            let uid = object::meta_str(&obj, "uid");
            if let Some(want) = pre.uid.as_ref().filter(|u| *u != uid) {
                return Err(failed(format!(
                    "the UID in the precondition ({want}) does not match the UID in record ({uid}). The object might have been deleted and then recreated"
                )));
            }
            let rv = current.mod_revision.to_string();
            if let Some(want) = pre.resource_version.as_ref().filter(|v| **v != rv) {
                return Err(failed(format!(
                    "the ResourceVersion in the precondition ({want}) does not match the ResourceVersion in record ({rv}). The object might have been modified"
                )));
            }
        }
        let attributes = crate::admission::Attributes {
            dry_run,
            ..t.admission(crate::admission::Operation::Delete, Some(&obj))
        };
        crate::admission::validate(server, &attributes, &obj).await?;
        match carry_out(server, def, t.strategy, &current, &obj, &options, dry_run).await {
            // Something must happen first: the object stays, marked, and is returned.
            Ok(Some(marked)) => return Ok(out.respond(StatusCode::OK, def, marked)),
            Ok(None) => {
                return Ok(json_response(
                    StatusCode::OK,
                    &deleted(def, name, object::meta_str(&obj, "uid")),
                ));
            }
            Err(ApiError::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Carries out a deletion of the stored `current` (decoded as `obj`), guarded by its
/// revision: the object marked for deletion (and returned, at its new resourceVersion) when
/// finalizers or a foreground cascade must go first, else removed (`None`). A dry run
/// decides without writing.
pub(crate) async fn carry_out(
    server: &ApiServer,
    def: &ResourceDef,
    strategy: &dyn Strategy,
    current: &storage::KeyValue,
    obj: &Value,
    options: &crate::registry::generic::deletion::DeleteOptions,
    dry_run: bool,
) -> Result<Option<Value>, ApiError> {
    let stored = |e| from_storage(e, target(def, object::meta_str(obj, "name")));
    let grace = strategy.grace_period(obj, options.grace_period_seconds);
    match crate::registry::generic::deletion::mark(
        def,
        obj,
        options,
        jiff::Timestamp::now(),
        grace,
    )? {
        Some(mut marked) => {
            let revision = match dry_run || marked == *obj {
                true => current.mod_revision,
                false => {
                    server
                        .store
                        .update(
                            &current.key,
                            conversion::encode(server, def, &marked).await?,
                            current.mod_revision,
                        )
                        .await
                        .map_err(stored)?
                        .mod_revision
                }
            };
            object::set_resource_version(&mut marked, revision);
            Ok(Some(marked))
        }
        None => {
            if !dry_run {
                server
                    .store
                    .delete(&current.key, Some(current.mod_revision))
                    .await
                    .map_err(stored)?;
                strategy.released(server, obj).await;
            }
            Ok(None)
        }
    }
}

/// Deletes every selected object of the collection; answers with the deleted objects.
pub(super) async fn delete_collection(
    server: &ApiServer,
    (def, strategy): (&ResourceDef, &dyn Strategy),
    user: Option<&crate::http::serve::User>,
    namespace: Option<&str>,
    params: &Params,
    body: &[u8],
) -> Result<Response, ApiError> {
    let selection = Selection::parse(def, params)?;
    let options = crate::registry::generic::deletion::DeleteOptions::parse(body, params)?;
    let dry_run = crate::registry::generic::deletion::dry_run(params.dry_run.as_slice())?
        || crate::registry::generic::deletion::dry_run(&options.dry_run)?;
    let listed = server
        .store
        .list(&def.namespace_prefix(namespace), ListOptions::default())
        .await
        .map_err(|e| from_storage(e, target(def, "")))?;
    let mut deleted = Vec::new();
    for kv in &listed.kvs {
        let obj = conversion::decode(server, def, kv).await?;
        if !selection.matches(&obj) {
            continue;
        }
        // Each object's deletion is admitted as its own DELETE, as upstream's.
        let name = object::meta_str(&obj, "name");
        let attributes = crate::admission::Attributes {
            operation: crate::admission::Operation::Delete,
            def,
            subresource: "",
            namespace: obj["metadata"]["namespace"].as_str(),
            name,
            user,
            old: Some(&obj),
            dry_run,
            namespace_object: Default::default(),
        };
        crate::admission::validate(server, &attributes, &obj).await?;
        if dry_run {
            deleted.push(obj);
            continue;
        }
        // Guarded by the listed revision; an object changed or deleted since is left alone.
        match carry_out(server, def, strategy, kv, &obj, &options, false).await {
            Ok(_) => deleted.push(obj),
            Err(ApiError::NotFound(_) | ApiError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    let metadata = json!({"resourceVersion": listed.revision.to_string()});
    Ok(json_response(
        StatusCode::OK,
        &list_body(def, metadata, deleted),
    ))
}
